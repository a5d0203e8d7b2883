package io.watershed.project;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.SinkSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** sinks/*.yaml through the project loader: a jdbc sink read with its defaults, mistakes refused at their position. */
class SinkLoaderTest {
    @TempDir
    Path dir;

    @Test
    void readsJdbcSinksWithSecretPasswordAndDefaults() throws IOException {
        ProjectFiles.write(dir, "watershed.yaml", "name: shop\n");
        ProjectFiles.write(dir, "sinks/page_counts.yaml", """
                type: jdbc
                url: jdbc:postgresql://db:5432/marts
                user: loader
                password: ${MARTS_PASSWORD}
                key: [page]
                batch_size: 500
                flush_interval: 200ms
                """);
        ProjectFiles.write(dir, "sinks/clicks_log.yml", """
                type: jdbc
                url: jdbc:mariadb://db:3306/serving
                user: loader
                table: serving.clicks
                """);
        Map<String, SinkSpec> sinks = new ProjectLoader(Map.of("MARTS_PASSWORD", "s3cret")).load(dir, null).sinks();
        assertThat(sinks).containsOnlyKeys("page_counts", "clicks_log");
        SinkSpec.Jdbc counts = (SinkSpec.Jdbc) sinks.get("page_counts");
        assertThat(counts.table()).isEqualTo("page_counts");
        assertThat(counts.key()).containsExactly("page");
        assertThat(counts.dialect()).isEqualTo("postgresql");
        assertThat(counts.batchSize()).isEqualTo(500);
        assertThat(counts.flushInterval()).isEqualTo(Duration.ofMillis(200));
        assertThat(counts.password().reveal()).isEqualTo("s3cret");
        assertThat(counts.toString()).doesNotContain("s3cret").contains("password=****");
        assertThat(counts.location()).isEqualTo("sinks/page_counts.yaml:1:1");
        SinkSpec.Jdbc log = (SinkSpec.Jdbc) sinks.get("clicks_log");
        assertThat(log.key()).isEmpty();
        assertThat(log.table()).isEqualTo("serving.clicks");
        assertThat(log.dialect()).isEqualTo("mariadb");
        assertThat(log.batchSize()).isEqualTo(SinkSpec.DEFAULT_BATCH_SIZE);
        assertThat(log.flushInterval()).isEqualTo(SinkSpec.DEFAULT_FLUSH_INTERVAL);
    }

    @Test
    void reportsEveryMistakeAtItsPosition() throws IOException {
        ProjectFiles.write(dir, "watershed.yaml", "name: shop\n");
        ProjectFiles.write(dir, "sinks/counts.yaml", """
                type: jdbc
                url: postgres://db/marts?password=x
                user: loader
                password: ${NOT_SET}
                table: marts.counts.extra
                key: [page, page, "a-b"]
                batch_size: lots
                flush_intervall: 1s
                """);
        ProjectFiles.write(dir, "sinks/search.yaml", "type: elastic\n");
        ProjectFiles.write(dir, "sinks/Bad.yaml", "type: jdbc\n");
        ProjectFiles.write(dir, "sinks/nourl.yaml", "type: jdbc\nuser: x\n");
        List<String> problems = ProjectFiles.problems(dir, Map.of());
        assertThat(problems).anySatisfy(p -> assertThat(p).startsWith("sinks/Bad.yaml:1:1: sink file name 'Bad' is not a valid"));
        assertThat(problems).contains(
                "sinks/counts.yaml:8:1: unknown key 'flush_intervall' in a jdbc sink (did you mean 'flush_interval'?); allowed: "
                        + "[batch_size, description, flush_interval, key, name, password, table, type, url, user]",
                "sinks/counts.yaml:2:6: url 'postgres://db/marts?...' is not a JDBC URL of a database; use "
                        + "jdbc:postgresql://host:5432/db, jdbc:mysql://host:3306/db or jdbc:mariadb://host:3306/db",
                "sinks/counts.yaml:5:8: table 'marts.counts.extra' is not a table name; write schema.table or table",
                "sinks/counts.yaml:6:13: key column 'page' is listed twice",
                "sinks/counts.yaml:6:19: key column 'a-b' is not a column name",
                "sinks/search.yaml:1:7: unknown sink type 'elastic'; use one of [jdbc]",
                "sinks/nourl.yaml:1:1: a jdbc sink needs url");
        assertThat(problems).anySatisfy(p -> assertThat(p).startsWith("sinks/counts.yaml:4:11:").contains("NOT_SET"));
        assertThat(problems).anySatisfy(p -> assertThat(p).startsWith("sinks/counts.yaml:7:13:"));
        assertThat(String.join("\n", problems)).doesNotContain("password=x");
    }
}
