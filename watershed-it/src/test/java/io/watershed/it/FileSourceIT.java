package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.testing.Await;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/** A file source (format json) passes the conformance suite; partial lines wait, symlinks cannot lead out. */
class FileSourceIT extends SourceConformance {
    @Override
    String sourceType() {
        return "file";
    }

    Path logs;

    @Override
    String streamBody(Path root) throws Exception {
        logs = Files.createDirectories(root.resolve("logs"));
        return "sources:\n  - type: file\n    paths: [" + logs + "/*.log]\n    exclude: ['*.gz']\n    format: json\n"
                + "    path_field: file\n";
    }

    void append(String text) throws Exception {
        Files.writeString(logs.resolve("app.log"), text, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    @Override
    void send(List<String> events) throws Exception {
        append(String.join("\n", events) + "\n");
    }

    @Override
    Undecodable sendUndecodable() throws Exception {
        append("this line is not JSON\n[1,2]\n");
        return new Undecodable(false, "not valid JSON");
    }

    @Override
    String undecodableMetric() {
        return "watershed_source_dead_letters_total{source=\"conf.file\",stream=\"conf\"}";
    }

    @Test
    @Order(10)
    void aPartialLastLineWaitsForItsLineBreak() throws Exception {
        String half = "{\"id\":\"partial\",\"n\":1,\"te";
        append(half);
        Await.until("the source saw the partial line and kept it back", Duration.ofSeconds(30), () -> {
            for (com.fasterxml.jackson.databind.JsonNode source : http.get("/v1/sources").json().path("sources")) {
                if (source.path("type").asText().equals("file")) {
                    com.fasterxml.jackson.databind.JsonNode file = source.path("files").get(0);
                    return file.path("size").asLong() - file.path("offset").asLong() == half.length();
                }
            }
            return false;
        });
        assertThat(http.count("SELECT count(*) FROM raw.conf WHERE id = 'partial'")).isZero();
        append("xt\":\"done\"}\n");
        Await.until("the completed line", Duration.ofSeconds(30),
                () -> http.rows("SELECT text, file FROM raw.conf WHERE id = 'partial'"),
                rows -> rows.equals(List.of("done " + logs.resolve("app.log"))));
    }

    @Test
    @Order(11)
    void aSymlinkLeadingOutOfTheDirectoryIsNotRead() throws Exception {
        Path outside = Files.createDirectories(root.resolve("outside")).resolve("secret.log");
        Files.writeString(outside, "{\"id\":\"secret\"}\n");
        Files.createSymbolicLink(logs.resolve("evil.log"), outside);
        Files.writeString(logs.resolve("old.log.gz"), "{\"id\":\"excluded\"}\n");
        Await.until("the escape counted", Duration.ofSeconds(30), () -> http.get("/metrics").body()
                .contains("watershed_source_errors_total{reason=\"outside_paths\",source=\"conf.file\",stream=\"conf\"} 1.0"));
        append("{\"id\":\"after-symlink\"}\n");
        Await.until("a later line", Duration.ofSeconds(30), () -> http.count("SELECT count(*) FROM raw.conf WHERE id = 'after-symlink'") == 1);
        assertThat(http.count("SELECT count(*) FROM raw.conf WHERE id IN ('secret', 'excluded')")).isZero();
    }
}
