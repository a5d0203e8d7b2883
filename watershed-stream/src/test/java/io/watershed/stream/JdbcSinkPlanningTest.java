package io.watershed.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.PipelineSpec;
import io.watershed.spi.Secret;
import io.watershed.spi.SinkSpec;
import io.watershed.spi.StreamSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@code INSERT INTO sinks.<name>} planned offline: updating queries need a key, the key must be among the columns. */
class JdbcSinkPlanningTest {
    private static final StreamSpec CLICKS = new StreamSpec("clicks", 1, Optional.empty(), Optional.of("ts"), Duration.ofSeconds(5),
            Optional.empty(), Map.of("user", "string", "page", "string", "ts", "timestamp"));

    private static SinkSpec sink(String name, List<String> key) {
        return new SinkSpec.Jdbc(name, "jdbc:postgresql://db:5432/marts", "loader", Secret.of("s3cret"), name, key, 100,
                Duration.ofSeconds(1), "sinks/" + name + ".yaml:1:1");
    }

    private static ProjectValidation.Result validate(String name, String sql) {
        Map<String, SinkSpec> sinks = Map.of("page_counts", sink("page_counts", List.of("page")), "clicks_log",
                sink("clicks_log", List.of()));
        return ProjectValidation.validate(List.of(new PipelineSpec(name, Path.of("pipelines", name + ".sql"), sql)), List.of(),
                List.of(CLICKS), sinks, List.of());
    }

    @Test
    void keyedSinkTakesAnUpdatingQueryAndAnUnkeyedOneAppends() {
        assertThat(validate("counts", "INSERT INTO sinks.page_counts SELECT page, COUNT(*) AS hits FROM streams.clicks GROUP BY page;")
                .problems()).isEmpty();
        assertThat(validate("log", "INSERT INTO sinks.clicks_log SELECT `user`, page, ts FROM streams.clicks;").problems()).isEmpty();
    }

    @Test
    void mistakesAreReportedAtTheStatement() {
        assertThat(validate("unkeyed", "\nINSERT INTO sinks.clicks_log SELECT page, COUNT(*) AS hits FROM streams.clicks GROUP BY page;")
                .problems()).singleElement().asString()
                .startsWith("pipelines/unkeyed.sql:2:1: Table sink 'watershed.sinks.clicks_log' doesn't support consuming update")
                .contains("Sink 'clicks_log' has no key").contains("sinks/clicks_log.yaml a key");
        assertThat(validate("nokey", "INSERT INTO sinks.page_counts SELECT `user`, COUNT(*) AS hits FROM streams.clicks GROUP BY `user`;")
                .problems()).containsExactly("pipelines/nokey.sql:1:1: INSERT INTO sinks.page_counts: the sink is keyed by [page] "
                        + "(sinks/page_counts.yaml:1:1), but the query has no column [page]; its columns are [user, hits]");
        assertThat(validate("undeclared", "INSERT INTO sinks.marts SELECT page FROM streams.clicks;").problems())
                .containsExactly("pipelines/undeclared.sql:1:1: INSERT INTO sinks.marts: no sink 'marts' is declared; declare it "
                        + "in sinks/marts.yaml (declared: [clicks_log, page_counts])");
        assertThat(validate("nested", "INSERT INTO sinks.clicks_log SELECT page, ARRAY[page] AS pages FROM streams.clicks;")
                .problems()).singleElement().asString().startsWith("pipelines/nested.sql:1:1: INSERT INTO sinks.clicks_log: column "
                        + "'pages' has type ARRAY<STRING>");
    }
}
