package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.nio.file.Files;
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
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
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

    @Test
    void liveViewsHoldTheExactCurrentResultOfUpdatingQueriesAndWindowTopNAndSurviveARestart() throws Exception {
        TestProject project = TestProject.in(root.resolve("p"))
                .stream("searches", "partitions: 1\nevent_time: ts\nlateness: 1s\nfields:\n  term: string\n  ts: timestamp\n")
                .pipeline("search_rank", """
                        -- the top 2 terms of each 10 seconds, and every term's running total
                        CREATE LIVE VIEW search_rank AS
                        SELECT window_start, term, cnt FROM (
                          SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY cnt DESC, term) AS rk
                          FROM (SELECT window_start, window_end, term, COUNT(*) AS cnt
                                FROM TABLE(TUMBLE(TABLE streams.searches, DESCRIPTOR(ts), INTERVAL '10' SECOND))
                                GROUP BY window_start, window_end, term))
                        WHERE rk <= 2;

                        CREATE LIVE VIEW term_totals AS SELECT term, COUNT(*) AS cnt FROM streams.searches GROUP BY term;
                        """);
        Path data = root.resolve("d");
        Instant t0 = Instant.parse("2026-11-21T10:00:00Z");
        // window 10:00:00: a 3, b 2, c 1; window 10:00:10: c 2, b 1; z at 10:00:30 closes both
        String[][] events = {{"a", "1"}, {"b", "2"}, {"a", "3"}, {"c", "4"}, {"a", "5"}, {"b", "6"},
                {"c", "11"}, {"b", "12"}, {"c", "13"}, {"z", "30"}};
        StringBuilder body = new StringBuilder();
        for (String[] e : events) {
            body.append("{\"term\":\"").append(e[0]).append("\",\"ts\":\"").append(t0.plusSeconds(Long.parseLong(e[1]))).append("\"}\n");
        }
        List<String> expectedRank = List.of("10:00:00 a 3", "10:00:00 b 2", "10:00:10 c 2", "10:00:10 b 1");
        try (Platform platform = Platform.start(project.load(), data)) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            http.awaitPipelinesRunning(1, Duration.ofSeconds(120));
            assertThat(http.events("searches", body.toString()).status()).isEqualTo(200);
            assertThat(http.get("/v1/pipelines").json().path("pipelines").get(0).path("outputs").toString())
                    .isEqualTo("[\"live.search_rank\",\"live.term_totals\"]");

            // an updating aggregate: each new count replaces the old one (no stale rows left behind)
            Await.until("every term's total in live.term_totals", Duration.ofSeconds(120),
                    () -> termTotals(http).equals(List.of("a 3", "b 3", "c 3", "z 1")));
            Await.until("both closed windows in live.search_rank", Duration.ofSeconds(60), () -> rank(http).equals(expectedRank));

            // fresh: an acknowledged event shows in the view as soon as the job has seen it
            long sent = System.nanoTime();
            assertThat(http.events("searches", "{\"term\":\"a\",\"ts\":\"" + t0.plusSeconds(31) + "\"}").status()).isEqualTo(200);
            Await.until("the new search in live.term_totals", Duration.ofSeconds(30), () -> termTotals(http).contains("a 4"));
            System.out.printf("live view fresh %d ms after the acknowledgement%n", (System.nanoTime() - sent) / 1_000_000);

            // a checkpoint taken after the view is complete, so the restart below resumes from state, not from the start
            long checkpoint = newestCheckpoint(data);
            Await.until("a checkpoint after the last change", Duration.ofSeconds(60), () -> newestCheckpoint(data) > checkpoint);
        }
        try (Platform platform = Platform.start(project.load(), data)) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            http.awaitPipelinesRunning(1, Duration.ofSeconds(120));
            Await.until("the views restored from the checkpoint", Duration.ofSeconds(120),
                    () -> termTotals(http).equals(List.of("a 4", "b 3", "c 3", "z 1")) && rank(http).equals(expectedRank));
            assertThat(http.sql("SELECT * FROM live.nope").status()).isEqualTo(400);
        }
    }

    @Test
    void pipelinesStopAndRestartFromTheirSavepointRefuseStateThatDoesNotFitAndShowFailingJobs() throws Exception {
        TestProject project = TestProject.in(root.resolve("p"))
                .stream("searches", "partitions: 1\nfields:\n  term: string\n  n: int\n")
                .pipeline("totals", "CREATE LIVE VIEW term_totals AS SELECT term, COUNT(*) AS cnt FROM streams.searches GROUP BY term;\n")
                // a one-letter term divides by zero at run time: the job restarts with backoff, and says why
                .pipeline("fragile", "CREATE LIVE VIEW numbers AS SELECT 10 / (CHAR_LENGTH(term) - 1) AS n FROM streams.searches;\n");
        Path file = project.write().resolve("pipelines").resolve("totals.sql");
        try (Platform platform = Platform.start(project.load(), root.resolve("d"))) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            http.awaitPipelinesRunning(2, Duration.ofSeconds(120));
            assertThat(http.events("searches", "{\"term\":\"a\"}\n{\"term\":\"b\"}\n{\"term\":\"a\"}").status()).isEqualTo(200);
            // a record whose n is not an int: acknowledged (the raw table keeps it), skipped by the pipelines, and counted
            assertThat(http.events("searches", "{\"term\":\"zz\",\"n\":\"many\"}").status()).isEqualTo(200);
            Await.until("totals", Duration.ofSeconds(60), () -> rows(http, "SELECT term, cnt FROM live.term_totals ORDER BY 1"),
                    List.of("a 2", "b 1")::equals);
            Await.until("the unreadable record counted", Duration.ofSeconds(30),
                    () -> http.get("/metrics").body().lines().filter(l -> l.startsWith("watershed_pipeline_unreadable_records_total")).toList(),
                    m -> m.contains("watershed_pipeline_unreadable_records_total{pipeline=\"totals\"} 1.0"));
            Await.until("the record in the dead-letter table, with its reason", Duration.ofSeconds(30),
                    () -> rows(http, "SELECT count(*) FROM raw.searches__dlq WHERE reason LIKE '%expected int%'"), List.of("1")::equals);

            JsonNode fragile = Await.until("the failing job to restart", Duration.ofSeconds(60),
                    () -> http.get("/v1/pipelines").json().path("pipelines").get(0),
                    p -> p.path("restarts").asLong() >= 1 && p.path("error").asText().contains("by zero"));
            assertThat(fragile.path("name").asText()).isEqualTo("fragile");
            assertThat(fragile.path("error").asText()).startsWith("the job failed and restarts with backoff: ");
            Await.until("the restarts in /metrics", Duration.ofSeconds(30),
                    () -> http.get("/metrics").body().lines().filter(l -> l.startsWith("watershed_pipeline_restarts_total")).toList(),
                    m -> m.stream().anyMatch(l -> l.matches("watershed_pipeline_restarts_total\\{pipeline=\"fragile\",?} [1-9].*")));

            // stop keeps the state; restart with only a comment changed resumes from the savepoint
            JsonNode stopped = http.post("/v1/pipelines/totals/stop", new byte[0]).json();
            assertThat(stopped.path("state").asText()).isEqualTo("STOPPED");
            Files.writeString(file, "-- counted since the first search\n" + Files.readString(file));
            WatershedHttp.Response restarted = http.post("/v1/pipelines/totals/restart", new byte[0]);
            assertThat(restarted.status()).as(restarted.body()).isEqualTo(200);
            assertThat(restarted.json().path("state").asText()).isEqualTo("RUNNING");
            assertThat(http.events("searches", "{\"term\":\"a\"}").status()).isEqualTo(200);
            Await.until("totals continued from the savepoint", Duration.ofSeconds(60),
                    () -> rows(http, "SELECT term, cnt FROM live.term_totals ORDER BY 1"), List.of("a 3", "b 1")::equals);

            // a change its state does not fit is refused, with the way out
            Files.writeString(file, "CREATE LIVE VIEW term_totals AS SELECT term, COUNT(DISTINCT _offset) AS cnt, MAX(_offset) AS last "
                    + "FROM streams.searches GROUP BY term;\n");
            WatershedHttp.Response refused = http.post("/v1/pipelines/totals/restart", new byte[0]);
            assertThat(refused.status()).as(refused.body()).isEqualTo(409);
            assertThat(refused.json().path("error").path("message").asText()).contains("does not fit its SQL")
                    .contains("watershed pipelines restart totals --reset");
            WatershedHttp.Response reset = http.post("/v1/pipelines/totals/restart?reset=true", new byte[0]);
            assertThat(reset.status()).as(reset.body()).isEqualTo(200);
            Await.until("totals recomputed from the start of the stream", Duration.ofSeconds(60),
                    () -> rows(http, "SELECT term, cnt FROM live.term_totals ORDER BY 1"), List.of("a 3", "b 1")::equals);
            assertThat(http.post("/v1/pipelines/nope/stop", new byte[0]).status()).isEqualTo(404);
        }
    }

    private static List<String> termTotals(WatershedHttp http) {
        return rows(http, "SELECT term, cnt FROM live.term_totals ORDER BY term");
    }

    private static List<String> rank(WatershedHttp http) {
        return rows(http, "SELECT strftime(window_start, '%H:%M:%S'), term, cnt FROM live.search_rank ORDER BY 1, 3 DESC");
    }

    private static List<String> rows(WatershedHttp http, String sql) {
        return http.rows(sql);
    }

    /** The highest chk-N of any job of any pipeline, or -1. */
    private static long newestCheckpoint(Path data) {
        Path checkpoints = data.resolve("flink").resolve("checkpoints");
        if (!java.nio.file.Files.isDirectory(checkpoints)) {
            return -1;
        }
        try (var files = java.nio.file.Files.find(checkpoints, 4, (p, a) -> p.getFileName().toString().equals("_metadata"))) {
            return files.mapToLong(p -> Long.parseLong(p.getParent().getFileName().toString().substring(4))).max().orElse(-1);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
