package io.watershed.project;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.ModelSpec;
import io.watershed.spi.Project;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelLoaderTest {
    @TempDir
    Path dir;

    private void write(String file, String text) throws IOException {
        ProjectFiles.write(dir, file, text);
    }

    private List<String> problems() {
        return ProjectFiles.problems(dir, Map.of());
    }

    @Test
    void readsSettingsFromTheHeaderAndTheYamlBesideAndFindsTheTablesAModelReads() throws IOException {
        write("watershed.yaml", "name: shop\nschedules:\n  nightly: '0 2 * * *'\nmodels:\n  retries: 0\n");
        write("streams/orders.yaml", "name: orders\nfields:\n  product: string\n  ts: timestamp\n");
        write("pipelines/sessions.sql", "INSERT INTO marts.sessions SELECT product FROM streams.orders;\n");
        write("models/daily.sql", """
                -- Orders per day. Note: this line is prose, not a setting
                -- materialized: incremental
                -- partition_by: day
                -- schedule: "@hourly"
                WITH recent AS (SELECT * FROM raw.orders WHERE ts >= {{ start }})
                SELECT CAST(ts AS DATE) AS `day`, count(*) AS n FROM recent, marts.sessions s
                GROUP BY CAST(ts AS DATE)
                """);
        write("models/top.sql", "SELECT * FROM daily JOIN models.daily AS d2 ON TRUE -- reads daily twice\n");
        write("models/top.yaml", "schedule: nightly\ntimeout: 10m\ndescription: the best days\n");
        // as `watershed up --project some/dir` gives it: a relative path
        Project project = new ProjectLoader(Map.of()).load(Path.of("").toAbsolutePath().relativize(dir), null);

        ModelSpec daily = project.models().get("daily");
        assertThat(daily.config().materialized()).isEqualTo(ModelSpec.Materialization.INCREMENTAL);
        assertThat(daily.config().partitionBy()).contains("day");
        assertThat(daily.config().grain()).isEqualTo(ModelSpec.Grain.HOUR); // from @hourly
        assertThat(daily.config().cron()).contains("0 * * * *");
        assertThat(daily.config().retries()).isZero(); // from watershed.yaml
        assertThat(daily.references()).extracting(ModelSpec.TableRef::table).containsExactly("raw.orders", "marts.sessions");
        assertThat(daily.references().get(0).line()).isEqualTo(5);
        assertThat(daily.references().get(0).column()).isEqualTo(31);

        ModelSpec top = project.models().get("top");
        assertThat(top.config().schedule()).contains("nightly");
        assertThat(top.config().cron()).contains("0 2 * * *");
        assertThat(top.config().timeout()).isEqualTo(Duration.ofMinutes(10));
        assertThat(top.config().grain()).isEqualTo(ModelSpec.Grain.DAY);
        assertThat(top.upstreamModels()).containsExactly("daily");
        assertThat(top.table()).isEqualTo("models.top");
    }

    @Test
    void reportsCyclesMissingTablesAndBadSettingsWithTheirPositions() throws IOException {
        write("watershed.yaml", "name: shop\n");
        write("streams/orders.yaml", "name: orders\n");
        write("models/a.sql", "-- materialized: incremental\n-- schedul: '@daily'\nSELECT * FROM c\n");
        write("models/b.sql", "SELECT * FROM a\n");
        write("models/c.sql", "SELECT *\nFROM models.b, rwa.orders\n");
        write("models/d.sql", "-- schedule: every day\n-- retries: many\nSELECT * FROM streams.orders WHERE x = {{ yesterday }}\n");
        write("models/e.sql", "INSERT INTO models.e SELECT 1\n");
        write("models/f.yaml", "timeout: 5m\n");
        write("models/g.sql", "-- retention: 30d\nSELECT 1 AS one\n");
        assertThat(problems()).containsExactly(
                "models/a.sql:1:18: an incremental model needs partition_by: the DATE or TIMESTAMP column whose day each build replaces",
                "models/a.sql:2:4: unknown model setting 'schedul' (did you mean 'schedule'?); allowed: [catchup, description, grain, "
                        + "materialized, partition_by, retention, retries, retry_delay, schedule, timeout]",
                "models/b.sql:1:15: model 'b' is in a cycle: a -> c -> b -> a (each reads the next); a model cannot depend on itself",
                "models/d.sql:1:14: 'every day' is not a cron expression (minute hour day-of-month month day-of-week, UTC; or "
                        + "[@annually, @daily, @hourly, @midnight, @monthly, @weekly, @yearly]): Cron expression contains 2 parts "
                        + "but we expect one of [5]",
                "models/d.sql:2:13: retries must be a whole number, got 'many'",
                "models/d.sql:3:15: streams.orders: a model reads lake tables, not streams; read raw.orders, where the stream lands",
                "models/d.sql:3:40: unknown variable {{ yesterday }}; a model knows [end, end_date, start, start_date] (the time "
                        + "range a build covers)",
                "models/e.sql:1:1: a model is one SELECT (or WITH ... SELECT) whose result becomes the table models.e; Watershed "
                        + "writes the table, so leave out INSERT and CREATE",
                "models/f.yaml:1:1: settings for model 'f', but there is no models/f.sql; write its SELECT there, or rename this file",
                "models/g.sql:1:15: retention drops whole partitions, and this model has none: add partition_by (a date or "
                        + "timestamp column) or remove retention");
    }

    @Test
    void refusesAModelWhoseTableAPipelineWrites() throws IOException {
        write("watershed.yaml", "name: shop\n");
        write("streams/orders.yaml", "name: orders\n");
        write("pipelines/p.sql", "INSERT INTO models.totals SELECT 1 FROM streams.orders;\n");
        write("models/totals.sql", "SELECT 1 AS one\n");
        assertThat(problems()).containsExactly("models/totals.sql:1:1: model 'totals' would build models.totals, which a pipeline "
                + "writes; rename the model or the pipeline's table");
    }

    @Test
    void warnsOfTablesNoPartOfTheProjectMakes() throws IOException {
        write("watershed.yaml", "name: shop\n");
        write("streams/orders.yaml", "name: orders\n");
        write("models/c.sql", "SELECT *\nFROM raw.orders, rwa.orders\n");
        Project project = new ProjectLoader(Map.of()).load(dir, null);
        assertThat(ProjectLoader.warnings(project)).extracting(Problem::toString).containsExactly(
                "models/c.sql:2:18: no stream, pipeline or model of the project makes rwa.orders (did you mean 'raw.orders'?); "
                        + "it must be in the lake when the model runs");
    }
}
