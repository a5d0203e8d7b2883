package io.watershed.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.ModelSpec;
import io.watershed.spi.PipelineSpec;
import io.watershed.spi.StreamSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@code watershed validate} plans models too: in batch mode, offline, in dependency order, with file positions. */
class ModelValidationTest {
    private static final StreamSpec ORDERS = new StreamSpec("orders", 1, Optional.empty(), Optional.empty(), Duration.ofSeconds(5),
            Optional.empty(), Map.of("product", "string", "amount", "double", "ts", "timestamp"));

    private static ModelSpec model(String name, String sql, Optional<String> partitionBy, String... upstream) {
        List<ModelSpec.TableRef> refs = new ArrayList<>();
        for (String u : upstream) {
            refs.add(new ModelSpec.TableRef("models", u, true, 1, 1));
        }
        return new ModelSpec(name, Path.of("models", name + ".sql"), sql, new ModelSpec.Config("models",
                partitionBy.isPresent() ? ModelSpec.Materialization.INCREMENTAL : ModelSpec.Materialization.TABLE, partitionBy,
                ModelSpec.Grain.DAY, Optional.empty(), Optional.empty(), false, 0, Duration.ofSeconds(1), Duration.ofMinutes(1),
                Optional.empty()), refs);
    }

    @Test
    void modelsArePlannedOnTheirUpstreamModelsAndPipelineTablesAndMistakesHavePositions() {
        List<PipelineSpec> pipelines = List.of(new PipelineSpec("totals", Path.of("pipelines", "totals.sql"),
                "INSERT INTO marts.totals SELECT product, SUM(amount) AS total FROM streams.orders GROUP BY product;"));
        List<ModelSpec> models = List.of(
                model("daily", "-- per day\nSELECT CAST(ts AS DATE) AS `day`, product, SUM(amount) AS revenue\nFROM raw.orders\n"
                        + "WHERE ts >= {{ start }} AND ts < {{ end }}\nGROUP BY CAST(ts AS DATE), product;\n", Optional.of("day")),
                model("top", "SELECT `day`, product FROM daily WHERE revenue > 10", Optional.empty(), "daily"),
                model("from_pipeline", "SELECT product, total FROM marts.totals", Optional.empty()),
                model("typo", "SELECT\n  prodcut FROM raw.orders", Optional.empty()),
                model("bad_partition", "SELECT product FROM raw.orders", Optional.of("product")),
                model("after_typo", "SELECT * FROM typo", Optional.empty(), "typo"),
                model("elsewhere", "SELECT * FROM marts.made_by_spark", Optional.empty()),
                model("after_variable", "SELECT * FROM raw.orders WHERE ts >= {{ start }} AND prodcut = 'x'", Optional.empty()));
        ProjectValidation.Result v = ProjectValidation.validate(pipelines, models, List.of(ORDERS), List.of());
        assertThat(v.problems()).containsExactlyInAnyOrder(
                "models/typo.sql:2:3: Column 'prodcut' not found in any table",
                // the column of the file, not of the SQL with the variable replaced by a longer literal
                "models/after_variable.sql:1:54: Column 'prodcut' not found in any table",
                "models/bad_partition.sql: partition_by 'product' has type string; it must be a DATE or TIMESTAMP column");
        assertThat(v.unchecked()).containsExactlyInAnyOrder(
                "models/after_typo.sql:1:1: not planned: it reads model 'typo', which could not be",
                "models/elsewhere.sql:1:15: Object 'made_by_spark' not found within 'watershed.marts'; a model reads lake tables as <namespace>.<table> "
                        + "(raw.<stream>, tables pipelines write) and other models by name, and a table exists once something has "
                        + "written it (not checked further: this table is known once the platform has run)");
    }

    @Test
    void aModelReadsTheRawColumnsOfDottedDeclaredFieldsByTheirLakeNames() {
        Map<String, String> fields = new java.util.LinkedHashMap<>();
        fields.put("http.status", "int");
        fields.put("user", "string");
        fields.put("User", "string");
        StreamSpec logs = new StreamSpec("logs", 1, Optional.empty(), Optional.empty(), Duration.ofSeconds(5), Optional.empty(), fields);
        List<ModelSpec> models = List.of(
                model("by_lake_names", "SELECT http_status, `user`, User_2 FROM raw.logs", Optional.empty()),
                model("by_field_name", "SELECT `http.status` FROM raw.logs", Optional.empty()));
        ProjectValidation.Result v = ProjectValidation.validate(List.of(), models, List.of(logs), List.of());
        assertThat(v.problems()).containsExactly("models/by_field_name.sql:1:8: Column 'http.status' not found in any table");
    }
}
