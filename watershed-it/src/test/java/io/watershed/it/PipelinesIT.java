package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Continuous Flink SQL pipelines on the in-process MiniCluster, reading streams and writing lake tables. */
class PipelinesIT {
    @TempDir
    Path root;

    @Test
    void tumblingWindowCountsLandInALakeTableExactlyAndBadSqlIsReportedWithItsPosition() throws Exception {
        TestProject project = TestProject.in(root.resolve("p"))
                .stream("clicks", "partitions: 2\nevent_time: ts\nlateness: 2s\nfields:\n  user: string\n  page: string\n  ts: timestamp\n")
                .pipeline("page_counts", """
                        -- clicks and distinct users per page, per 10 seconds of event time
                        INSERT INTO marts.page_counts
                        SELECT window_start, page, COUNT(*) AS clicks, COUNT(DISTINCT `user`) AS users
                        FROM TABLE(TUMBLE(TABLE streams.clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
                        GROUP BY window_start, window_end, page;
                        """)
                .pipeline("broken", """
                        INSERT INTO marts.broken
                        SELECT page, COUNT(*) FROM streams.clicks GROUP BY pag;
                        """);
        try (Platform platform = Platform.start(project.load(), root.resolve("d"))) {
            WatershedHttp http = new WatershedHttp(platform.url());
            Instant t0 = Instant.parse("2026-11-21T10:00:00Z");
            StringBuilder body = new StringBuilder();
            // window 10:00:00: home 3 clicks by 2 users, cart 1; window 10:00:10: home 2 clicks by 2 users
            String[][] events = {{"a", "home", "1"}, {"b", "home", "2"}, {"a", "home", "3"}, {"a", "cart", "4"},
                    {"c", "home", "12"}, {"d", "home", "15"}, {"a", "late_marker", "40"}};
            for (String[] e : events) {
                body.append("{\"user\":\"").append(e[0]).append("\",\"page\":\"").append(e[1]).append("\",\"ts\":\"")
                        .append(t0.plusSeconds(Long.parseLong(e[2]))).append("\"}\n");
            }
            Await.until("both pipelines to be started or failed", Duration.ofSeconds(120), () -> {
                JsonNode list = http.get("/v1/pipelines").json().path("pipelines");
                return list.size() == 2 && !list.get(0).path("state").asText().equals("STARTING")
                        && !list.get(1).path("state").asText().equals("STARTING");
            });
            assertThat(http.events("clicks", body.toString()).status()).isEqualTo(200);

            JsonNode pipelines = http.get("/v1/pipelines").json().path("pipelines");
            assertThat(pipelines.get(0).path("name").asText()).isEqualTo("broken");
            assertThat(pipelines.get(0).path("state").asText()).isEqualTo("FAILED");
            assertThat(pipelines.get(0).path("error").asText()).startsWith("pipelines/broken.sql:2:").contains("pag");
            assertThat(pipelines.get(1).path("name").asText()).isEqualTo("page_counts");
            assertThat(pipelines.get(1).path("state").asText()).isIn("RUNNING", "CREATED", "INITIALIZING");
            assertThat(pipelines.get(1).path("outputs").toString()).isEqualTo("[\"marts.page_counts\"]");

            Await.until("the two closed windows in marts.page_counts", Duration.ofSeconds(120), () -> {
                JsonNode r = http.sql("SELECT count(*) FROM marts.page_counts").json();
                return r.has("rows") && r.path("rows").get(0).get(0).asLong() >= 3;
            });
            List<String> rows = new ArrayList<>();
            for (JsonNode row : http.query("SELECT strftime(window_start AT TIME ZONE 'UTC', '%H:%M:%S'), page, clicks, users "
                    + "FROM marts.page_counts ORDER BY 1, 2").path("rows")) {
                rows.add(row.get(0).asText() + " " + row.get(1).asText() + " " + row.get(2).asLong() + " " + row.get(3).asLong());
            }
            assertThat(rows).containsExactly("10:00:00 cart 1 1", "10:00:00 home 3 2", "10:00:10 home 2 2");
        }
    }
}
