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
                .stream("slow", "partitions: 2\nkey: key\n");
        DeliveryLog deliveries = new DeliveryLog();
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
                JsonNode stream = http.get("/v1/streams").json().path("streams").get(0);
                assertThat(stream.path("name").asText()).isEqualTo("slow");
                assertThat(stream.path("lake_lag").asLong()).isGreaterThan(MAX_LAG);
            } finally {
                CrashPoints.release();
            }
            // the writer goes on: it commits the backlog and ingest takes events again without a restart
            deliveries.awaitMore(DeliveryLog.Fate.ACKNOWLEDGED, 2_000, Duration.ofSeconds(120));
            load.close();
            // committed by the lake writer, not only visible through the fresh tail
            DeliveryChecker.Report report = DeliveryChecker.awaitCommittedAndCheck(deliveries, http, "raw.slow");
            System.out.println("STALLED WRITER: " + report);
            assertThat(report.clean()).as("%s", report).isTrue();
        }
    }

}
