package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.server.Platform;
import io.watershed.spi.CrashPoints;
import io.watershed.testing.Await;
import io.watershed.testing.DeliveryChecker;
import io.watershed.testing.DeliveryLog;
import io.watershed.testing.LoadGenerator;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chaos, the stalled-writer part: the lake writer stops before its Iceberg commit (an in-process stall at
 * {@link CrashPoints#LAKE_BEFORE_COMMIT}) while producers post. Ingest pushes back once the stream's records in the bus
 * but not in the lake pass {@code ingest.max_lake_lag}: 503 with Retry-After, so what is acknowledged stays bounded
 * instead of piling up in the bus; the overview's lake lag and alert show it. When the writer goes on, it catches up,
 * ingest takes events again by itself, and the delivery checker finds nothing lost, doubled or invented.
 */
class StalledLakeWriterIT {
    private static final int MAX_LAG = 3_000;

    @TempDir
    Path root;

    @Test
    void aStalledWriterTurnsIntoBackpressureAndCatchesUpWhenItGoesOn() throws Exception {
        TestProject project = TestProject.in(root.resolve("project")).commitInterval("500ms")
                .ingest("max_lake_lag", String.valueOf(MAX_LAG))
                .yaml("query:\n  max_rows: 100000000")
                .stream("slow", "partitions: 2\nkey: key\nsources:\n  - type: forward\n    tags: [slow]\n");
        DeliveryLog deliveries = new DeliveryLog();
        // a Fluentd chunk of three events, with its chunk id: acknowledged only once durable
        org.msgpack.core.MessageBufferPacker m = org.msgpack.core.MessagePack.newDefaultBufferPacker();
        m.packArrayHeader(3).packString("slow").packArrayHeader(3);
        for (int i = 0; i < 3; i++) {
            m.packArrayHeader(2).packLong(1_700_000_000L).packMapHeader(3).packString("producer").packString("fluentd")
                    .packString("seq").packInt(i).packString("key").packString("k");
        }
        m.packMapHeader(2).packString("chunk").packString("chunk-while-behind").packString("size").packInt(3);
        byte[] chunk = m.toByteArray();
        AtomicReference<LoadGenerator.Target> target = new AtomicReference<>();
        try (LoadGenerator load = new LoadGenerator(deliveries, target::get, "slow", 2, 1_000, 50, 16);
                Platform platform = Platform.start(project.load(), root.resolve("data"))) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            target.set(new LoadGenerator.Target(platform.url(), platform.adminToken()));
            deliveries.awaitMore(DeliveryLog.Fate.ACKNOWLEDGED, 1_000, Duration.ofSeconds(120));
            try {
                CrashPoints.stall(CrashPoints.LAKE_BEFORE_COMMIT);
                long atStall = deliveries.count(DeliveryLog.Fate.ACKNOWLEDGED);
                java.util.concurrent.atomic.AtomicLong probe = new java.util.concurrent.atomic.AtomicLong();
                WatershedHttp.Response refused = Await.until("ingest to push back", Duration.ofSeconds(60),
                        () -> http.events("slow", "{\"producer\":\"probe\",\"seq\":" + probe.incrementAndGet() + ",\"key\":\"k\"}"),
                        r -> r.status() == 503);
                assertThat(refused.body()).contains("ingest.max_lake_lag").contains("not yet in the lake");
                assertThat(refused.header("Retry-After")).isNotNull();
                long refusedFrom = deliveries.count(DeliveryLog.Fate.ACKNOWLEDGED);
                deliveries.awaitMore(DeliveryLog.Fate.INDETERMINATE, 100, Duration.ofSeconds(60)); // producers pushed back
                // bounded: the limit, plus what the 2 s sampling of the bus's end and the requests in flight let through
                assertThat(deliveries.count(DeliveryLog.Fate.ACKNOWLEDGED) - atStall).isLessThan(MAX_LAG + 3_000);
                assertThat(deliveries.count(DeliveryLog.Fate.ACKNOWLEDGED) - refusedFrom).as("nothing acknowledged once refused")
                        .isLessThanOrEqualTo(2 * 50);
                // Fluentd forward: the connection closes without the chunk's ack, so Fluentd keeps the chunk and sends it again
                try (RawForwardClient client = new RawForwardClient(forwardPort(http), null)) {
                    client.send(chunk);
                    assertThat(client.closedByServer()).as("no ack while the lake is behind").isTrue();
                }
                JsonNode stream = http.get("/v1/streams").json().path("streams").get(0);
                assertThat(stream.path("name").asText()).isEqualTo("slow");
                assertThat(stream.path("lake_lag").asLong()).isGreaterThan(MAX_LAG);
            } finally {
                CrashPoints.release();
            }
            // the writer goes on: it commits the backlog and ingest takes events again without a restart
            deliveries.awaitMore(DeliveryLog.Fate.ACKNOWLEDGED, 2_000, Duration.ofSeconds(120));
            try (RawForwardClient client = new RawForwardClient(forwardPort(http), null)) {
                client.send(chunk);
                assertThat(client.ack()).isEqualTo("chunk-while-behind");
                deliveries.record("fluentd", 0, 3, DeliveryLog.Fate.ACKNOWLEDGED);
            }
            load.close();
            // committed by the lake writer, not only visible through the fresh tail
            DeliveryChecker.Report report = DeliveryChecker.awaitCommittedAndCheck(deliveries, http, "raw.slow");
            System.out.println("STALLED WRITER: " + report);
            assertThat(report.clean()).as("%s", report).isTrue();
            assertThat(http.count("SELECT count(*) FROM raw.slow WHERE producer = 'fluentd'")).as("the chunk, once").isEqualTo(3);
        }
    }

    /**
     * The file tail asks the same gate: while the lake is behind it publishes nothing more and says why in its status,
     * the lines wait in the file, and once the writer goes on every line arrives exactly once.
     */
    @Test
    void aFileTailHoldsBackWhileTheLakeIsBehind() throws Exception {
        Path logs = java.nio.file.Files.createDirectories(root.resolve("logs"));
        Path file = logs.resolve("app.log");
        TestProject project = TestProject.in(root.resolve("tail-project")).commitInterval("500ms")
                .ingest("max_lake_lag", String.valueOf(MAX_LAG))
                .yaml("query:\n  max_rows: 100000000")
                .stream("tailed", "partitions: 2\nsources:\n  - type: file\n    paths: [" + logs + "/*.log]\n    format: json\n");
        java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicBoolean writing = new java.util.concurrent.atomic.AtomicBoolean(true);
        // 1,000 lines/s, 50 at a time, as an application logging
        Thread writer = new Thread(() -> {
            try {
                while (writing.get()) {
                    StringBuilder lines = new StringBuilder();
                    for (int i = 0; i < 50; i++) {
                        lines.append("{\"n\":").append(written.getAndIncrement()).append("}\n");
                    }
                    java.nio.file.Files.writeString(file, lines, java.nio.file.StandardOpenOption.CREATE,
                            java.nio.file.StandardOpenOption.APPEND);
                    Thread.sleep(50);
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "log-writer");
        try (Platform platform = Platform.start(project.load(), root.resolve("tail-data"))) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            writer.start();
            Await.until("the tail's first lines in the lake", Duration.ofSeconds(60), () -> http.count("SELECT count(*) FROM raw.tailed") > 0);
            try {
                CrashPoints.stall(CrashPoints.LAKE_BEFORE_COMMIT);
                long atStall = written.get();
                JsonNode source = Await.until("the tail to hold back", Duration.ofSeconds(60), () -> fileSource(http),
                        s -> s.path("last_error").asText().contains("max_lake_lag"));
                assertThat(source.path("last_error").asText()).contains("not yet in the lake");
                // the application writes on; the tail publishes no more than the limit plus one sampling interval
                Await.until("the log to grow well past the limit", Duration.ofSeconds(60), () -> written.get() > atStall + MAX_LAG + 6_000);
                long lag = http.get("/v1/streams").json().path("streams").get(0).path("lake_lag").asLong();
                assertThat(lag).as("records in the bus not in the lake").isGreaterThan(MAX_LAG).isLessThan(MAX_LAG + 3_000);
                assertThat(fileSource(http).path("lag_bytes").asLong()).as("lines waiting in the file").isPositive();
                assertThat(http.get("/metrics").body()).containsPattern("watershed_source_errors_total\\{reason=\"lake_behind\",.*\\} [1-9]");
            } finally {
                CrashPoints.release();
            }
            writing.set(false);
            writer.join();
            long lines = written.get();
            Await.until("every line committed to raw.tailed", Duration.ofSeconds(120),
                    () -> http.get("/v1/tables/raw.tailed").json().path("rows").asLong() >= lines);
            assertThat(http.count("SELECT count(*) FROM raw.tailed")).isEqualTo(lines);
            assertThat(http.count("SELECT count(DISTINCT n) FROM raw.tailed")).isEqualTo(lines);
        } finally {
            writing.set(false);
        }
    }

    private static int forwardPort(WatershedHttp http) {
        for (JsonNode source : http.get("/v1/sources").json().path("sources")) {
            if (source.path("type").asText().equals("forward")) {
                String listen = source.path("listen").asText();
                return Integer.parseInt(listen.substring(listen.lastIndexOf(':') + 1));
            }
        }
        throw new AssertionError("no forward source in /v1/sources");
    }

    private static JsonNode fileSource(WatershedHttp http) {
        for (JsonNode source : http.get("/v1/sources").json().path("sources")) {
            if (source.path("type").asText().equals("file")) {
                return source;
            }
        }
        throw new AssertionError("no file source in /v1/sources");
    }
}
