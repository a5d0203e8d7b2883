package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.testing.Await;
import io.watershed.testing.PlatformProcess;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pipelines killed with SIGKILL while they work give exactly what an uninterrupted run gives: a
 * windowed aggregate into a lake table (Iceberg commits at checkpoints), a filter into a stream
 * (the write-ahead stream sink) that lands in its raw table, and a live view over that stream.
 */
class PipelineCrashIT {
    private static final int BATCHES = 4;
    private static final int BATCH = 3_000;
    private static final Instant T0 = Instant.parse("2026-11-21T10:00:00Z");

    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path root;

    @Test
    void pipelineOutputsAfterKillNineAreThoseOfAnUninterruptedRun() throws Exception {
        Path project = TestProject.in(root.resolve("project")).yaml("query:\n  max_rows: 1000000")
                .stream("orders", "partitions: 2\nkey: customer\nevent_time: ts\nlateness: 1s\nfields:\n  id: long\n"
                        + "  customer: string\n  amount: int\n  ts: timestamp\n")
                .pipeline("per_second", """
                        INSERT INTO marts.per_second
                        SELECT window_start, customer, COUNT(*) AS n, SUM(amount) AS total
                        FROM TABLE(TUMBLE(TABLE streams.orders, DESCRIPTOR(ts), INTERVAL '1' SECOND))
                        GROUP BY window_start, window_end, customer;
                        """)
                .pipeline("big_orders", """
                        INSERT INTO streams.big_orders SELECT id, customer, amount, ts FROM streams.orders WHERE amount >= 50;
                        """)
                .pipeline("totals", """
                        CREATE LIVE VIEW big_totals AS SELECT customer, COUNT(*) AS n, SUM(amount) AS total
                        FROM streams.big_orders GROUP BY customer;
                        """)
                .write();
        Path data = root.resolve("data");
        Path log = root.resolve("platform.log");

        for (int batch = 0; batch < BATCHES; batch++) {
            try (PlatformProcess platform = PlatformProcess.start(project, data, log)) {
                WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
                http.awaitPipelinesRunning(3, Duration.ofSeconds(180));
                long before = count(http, "SELECT count(*) FROM marts.per_second");
                send(http, batch * BATCH, (batch + 1) * BATCH);
                if (batch == BATCHES - 1) {
                    break;
                }
                // kill once the job has committed something of this batch, while it is still at work on the rest
                Await.until("progress on batch " + batch, Duration.ofSeconds(120),
                        () -> count(http, "SELECT count(*) FROM marts.per_second") > before);
                platform.kill();
            }
        }

        try (PlatformProcess platform = PlatformProcess.start(project, data, log)) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            http.awaitPipelinesRunning(3, Duration.ofSeconds(180));
            // an event an hour later for every customer (so on every partition: no partition has to be found idle)
            // moves event time past every window of the batches; their own window never closes
            StringBuilder markers = new StringBuilder();
            for (int c = 0; c < 7; c++) {
                markers.append(order(-1 - c, "c" + c, 0, 3_600_000)).append('\n');
            }
            assertThat(http.events("orders", markers.toString()).status()).isEqualTo(200);
            Map<String, String> expectedWindows = expectedWindows();
            Await.until("every window in marts.per_second", Duration.ofSeconds(180),
                    () -> count(http, "SELECT count(*) FROM marts.per_second") >= expectedWindows.size());
            List<String> windows = rows(http, "SELECT strftime(window_start, '%H:%M:%S'), customer, n, total FROM marts.per_second");
            assertThat(windows).as("each window once").hasSize(expectedWindows.size());
            Map<String, String> actual = new TreeMap<>();
            for (String w : windows) {
                String[] f = w.split(" ");
                actual.put(f[0] + " " + f[1], f[2] + " " + f[3]);
            }
            assertThat(actual).isEqualTo(expectedWindows);

            long big = expectedBig();
            try {
                Await.until("every big order in raw.big_orders", Duration.ofSeconds(120),
                        () -> count(http, "SELECT count(*) FROM raw.big_orders") >= big);
            } catch (AssertionError e) {
                // CI keeps neither the data nor the log: say what the stream and the platform show
                throw new AssertionError(e.getMessage() + "; raw.big_orders holds " + count(http, "SELECT count(*) FROM raw.big_orders")
                        + " of " + big + "; the streams: " + http.get("/v1/streams").body() + "\nThe platform's last warnings and errors:\n"
                        + PlatformProcess.problems(log, 60), e.getCause());
            }
            assertThat(http.count("SELECT count(*) FROM raw.big_orders")).as("each big order once").isEqualTo(big);
            assertThat(http.count("SELECT count(DISTINCT id) FROM raw.big_orders")).isEqualTo(big);
            Await.until("the live view over the chained stream", Duration.ofSeconds(60),
                    () -> rows(http, "SELECT customer, n, total FROM live.big_totals ORDER BY 1"), expectedTotals()::equals);
            assertThat(platform.stop(Duration.ofSeconds(60))).as("SIGTERM exits cleanly").isZero();
        }
    }

    private static String customer(long id) {
        return "c" + (id % 7);
    }

    private static int amount(long id) {
        return (int) ((id * 37) % 100);
    }

    private static String order(long id, String customer, int amount, long offsetMillis) {
        return "{\"id\":" + id + ",\"customer\":\"" + customer + "\",\"amount\":" + amount + ",\"ts\":\""
                + T0.plusMillis(offsetMillis) + "\"}";
    }

    private static void send(WatershedHttp http, int from, int to) {
        for (int start = from; start < to; start += 500) {
            StringBuilder body = new StringBuilder();
            for (int id = start; id < Math.min(to, start + 500); id++) {
                body.append(order(id, customer(id), amount(id), id * 10L)).append('\n');
            }
            WatershedHttp.Response response = http.events("orders", body.toString());
            assertThat(response.status()).as(response.body()).isEqualTo(200);
        }
    }

    /** "HH:MM:SS customer" -> "n total" for every window of every event (100 events a second). */
    private static Map<String, String> expectedWindows() {
        Map<String, long[]> sums = new TreeMap<>();
        for (long id = 0; id < (long) BATCHES * BATCH; id++) {
            String window = java.time.format.DateTimeFormatter.ofPattern("HH:mm:ss").withZone(java.time.ZoneOffset.UTC)
                    .format(T0.plusSeconds(id / 100));
            long[] s = sums.computeIfAbsent(window + " " + customer(id), k -> new long[2]);
            s[0]++;
            s[1] += amount(id);
        }
        Map<String, String> expected = new TreeMap<>();
        sums.forEach((k, v) -> expected.put(k, v[0] + " " + v[1]));
        return expected;
    }

    private static long expectedBig() {
        long n = 0;
        for (long id = 0; id < (long) BATCHES * BATCH; id++) {
            n += amount(id) >= 50 ? 1 : 0;
        }
        return n;
    }

    private static List<String> expectedTotals() {
        Map<String, long[]> sums = new TreeMap<>();
        for (long id = 0; id < (long) BATCHES * BATCH; id++) {
            if (amount(id) >= 50) {
                long[] s = sums.computeIfAbsent(customer(id), k -> new long[2]);
                s[0]++;
                s[1] += amount(id);
            }
        }
        List<String> rows = new ArrayList<>();
        sums.forEach((k, v) -> rows.add(k + " " + v[0] + " " + v[1]));
        return rows;
    }

    /** The count, or -1 while the table is not there yet. */
    private static long count(WatershedHttp http, String sql) {
        WatershedHttp.Response response = http.sql(sql);
        return response.status() == 200 ? response.json().path("rows").get(0).get(0).asLong() : -1;
    }

    private static List<String> rows(WatershedHttp http, String sql) {
        return http.rows(sql);
    }
}
