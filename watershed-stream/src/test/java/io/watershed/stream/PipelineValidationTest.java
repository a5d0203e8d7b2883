package io.watershed.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.PipelineSpec;
import io.watershed.spi.StreamSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@code watershed validate}: Flink's planner over the pipelines, offline, with file positions. */
class PipelineValidationTest {
    private static final StreamSpec CLICKS = new StreamSpec("clicks", 1, Optional.empty(), Optional.of("ts"), Duration.ofSeconds(5),
            Optional.empty(), Map.of("user", "string", "page", "string", "ts", "timestamp"));

    private static ProjectValidation.Result validate(String... nameAndSql) {
        List<PipelineSpec> specs = new ArrayList<>();
        for (int i = 0; i < nameAndSql.length; i += 2) {
            specs.add(new PipelineSpec(nameAndSql[i], Path.of("pipelines", nameAndSql[i] + ".sql"), nameAndSql[i + 1]));
        }
        return ProjectValidation.validate(specs, List.of(CLICKS), List.of());
    }

    @Test
    void validPipelinesHaveNoProblems() {
        ProjectValidation.Result v = validate(
                "pages", "-- per minute\nINSERT INTO marts.pages\nSELECT window_start, page, COUNT(*) AS n\n"
                        + "FROM TABLE(TUMBLE(TABLE streams.clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))\n"
                        + "GROUP BY window_start, window_end, page;",
                "b_enrich", "INSERT INTO streams.page_views SELECT `user`, page, ts FROM streams.clicks;",
                "a_reads", "CREATE LIVE VIEW per_user AS SELECT `user`, COUNT(*) AS n FROM streams.page_views GROUP BY `user`;",
                "lake", "CREATE LIVE VIEW from_lake AS SELECT page, COUNT(*) AS n FROM raw.clicks GROUP BY page;");
        assertThat(v.problems()).isEmpty();
        assertThat(v.unchecked()).isEmpty();
    }

    @Test
    void problemsCarryTheirFilePositionAndWhatToDo() {
        ProjectValidation.Result v = validate(
                "broken", "INSERT INTO marts.pages\nSELECT page, COUNT(*) FROM streams.clicks GROUP BY pag;",
                "lake_typo", "CREATE LIVE VIEW x AS SELECT pag FROM raw.clicks;",
                "updating", "-- an aggregate without windows updates its rows\nINSERT INTO streams.pages\n"
                        + "SELECT page, COUNT(*) AS n FROM streams.clicks GROUP BY page;",
                "raw_target", "INSERT INTO raw.clicks SELECT * FROM streams.clicks;");
        assertThat(v.problems()).hasSize(4);
        assertThat(v.problems().get(0)).isEqualTo("pipelines/broken.sql:2:52: Column 'pag' not found in any table");
        // raw is reserved in Flink SQL; the runner quotes it, and the column still points into the file
        assertThat(v.problems().get(1)).isEqualTo("pipelines/lake_typo.sql:1:30: Column 'pag' not found in any table");
        assertThat(v.problems().get(2)).startsWith("pipelines/raw_target.sql:1:1: INSERT INTO raw.clicks: raw tables are written "
                + "by the lake writer only");
        assertThat(v.problems().get(3)).startsWith("pipelines/updating.sql:2:1: Table sink 'watershed.streams.pages' doesn't "
                + "support consuming update changes").contains("CREATE LIVE VIEW");
    }

    @Test
    void aReservedWordUsedAsANameIsPointedAtWithoutTheParsersTokenList() {
        ProjectValidation.Result v = validate("reserved",
                "CREATE LIVE VIEW x AS\nSELECT window_start, COUNT(*) AS n\n"
                        + "FROM TABLE(TUMBLE(TABLE streams.clicks, DESCRIPTOR(dateTime), INTERVAL '1' MINUTE)) GROUP BY window_start;");
        assertThat(v.problems()).singleElement().asString()
                .startsWith("pipelines/reserved.sql:3:")
                .contains("Encountered \"dateTime")
                .endsWith("If `dateTime` is a name, quote it with backticks: Flink SQL reserves it as a keyword.")
                .doesNotContain("Was expecting");
    }

    @Test
    void cyclesThroughUndeclaredStreamsAreRefused() {
        ProjectValidation.Result v = validate(
                "a", "INSERT INTO streams.x SELECT page FROM streams.y;",
                "b", "INSERT INTO streams.y SELECT page FROM streams.x;");
        assertThat(v.problems()).hasSize(2).allMatch(p -> p.contains("is in a cycle"));
    }

    @Test
    void lakeTablesKnownOnlyAtRunTimeAreNotCheckedButSaidSo() {
        ProjectValidation.Result v = validate("mart", "CREATE LIVE VIEW m AS SELECT * FROM marts.pages;");
        assertThat(v.problems()).isEmpty();
        assertThat(v.unchecked()).singleElement().asString().startsWith("pipelines/mart.sql:1:").contains("not checked further");
    }
}
