package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.CrashPoints;
import io.watershed.testing.Await;
import io.watershed.testing.DeliveryChecker;
import io.watershed.testing.DeliveryLog;
import io.watershed.testing.LoadGenerator;
import io.watershed.testing.PlatformProcess;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Chaos, the crash-point part: instead of a kill -9 at a random moment, the platform halts itself (no shutdown hook,
 * nothing flushed) exactly where the delivery promise is hardest to keep — a Parquet file half written, data files
 * closed but not committed, the Iceberg commit made but nothing after it, Kafka's acknowledgement received but the HTTP
 * answer not sent — through the test-only switch {@code -Dwatershed.crash.at} ({@link CrashPoints}). Producers post
 * throughout; after the halt the platform starts again under the same load, and the delivery checker reads the lake:
 * nothing acknowledged lost, nothing stored twice, nothing refused stored, no key reordered.
 */
class CrashPointsIT {
    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path root;

    @ParameterizedTest(name = "{0} (arrival {1})")
    @CsvSource({
        CrashPoints.LAKE_MID_FILE + ", 1500",
        CrashPoints.LAKE_BEFORE_COMMIT + ", 4",
        CrashPoints.LAKE_AFTER_COMMIT + ", 4",
        CrashPoints.INGEST_AFTER_ACK + ", 60"})
    void haltingAtThePointLosesDoublesAndInventsNothing(String point, int arrival) throws Exception {
        Path project = TestProject.in(root.resolve("project")).yaml("query:\n  max_rows: 100000000")
                .stream("crash", "partitions: 3\nkey: key\n").write();
        Path data = root.resolve("data");
        Path log = root.resolve("platform.log");
        DeliveryLog deliveries = new DeliveryLog();
        AtomicReference<LoadGenerator.Target> target = new AtomicReference<>();
        try (LoadGenerator load = new LoadGenerator(deliveries, target::get, "crash", 4, 2_000, 50, 16)) {
            try (PlatformProcess platform = PlatformProcess.start(project, data, log,
                    List.of("-Xmx768m", "-D" + CrashPoints.PROPERTY + "=" + point + ":" + arrival), System.getProperty("java.class.path"))) {
                target.set(new LoadGenerator.Target(platform.url(), platform.adminToken()));
                int exit = platform.awaitExit(Duration.ofSeconds(180));
                target.set(null);
                assertThat(exit).as("the platform halted at %s (see %s)", point, log).isEqualTo(CrashPoints.EXIT_CODE);
            }
            try (PlatformProcess platform = PlatformProcess.start(project, data, log)) {
                target.set(new LoadGenerator.Target(platform.url(), platform.adminToken()));
                deliveries.awaitMore(DeliveryLog.Fate.ACKNOWLEDGED, 2_000, Duration.ofSeconds(120)); // after the restart
                load.close(); // every request answered or given up before the lake is read
                WatershedHttp http = platform.http();
                long acknowledged = deliveries.count(DeliveryLog.Fate.ACKNOWLEDGED);
                Await.until("every acknowledged event in the lake", Duration.ofSeconds(120),
                        () -> http.count("SELECT count(DISTINCT (producer, seq)) FROM raw.crash") >= acknowledged);
                DeliveryChecker.Report report = DeliveryChecker.check(deliveries, http, "raw.crash");
                System.out.println("CRASH POINT " + point + ":" + arrival + ": " + report);
                assertThat(report.acknowledged()).isPositive();
                assertThat(report.clean()).as("%s: %s", point, report).isTrue();
                assertThat(platform.stop(Duration.ofSeconds(60))).as("SIGTERM exits cleanly").isZero();
            }
        }
    }
}
