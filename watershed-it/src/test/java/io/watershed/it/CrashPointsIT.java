package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.CrashPoints;
import io.watershed.testing.DeliveryChecker;
import io.watershed.testing.DeliveryLog;
import io.watershed.testing.PlatformProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Chaos, the crash-point part: instead of a kill -9 at a random moment, the platform halts itself (no shutdown hook,
 * nothing flushed) exactly where the delivery promise is hardest to keep — a Parquet file half written, data files
 * closed but not committed, a batch's dead letters committed but not its rows, the Iceberg commit made but nothing after
 * it, Kafka's acknowledgement received but the HTTP answer not sent — through the test-only switch
 * {@code -Dwatershed.crash.at} ({@link CrashPoints}). Producers post throughout, one event in a thousand a dead letter;
 * after the halt the platform starts again under the same load, and the delivery checker reads the lake and its
 * dead-letter table: nothing acknowledged lost, nothing stored twice, nothing refused stored, no key reordered.
 */
class CrashPointsIT {
    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path root;

    @ParameterizedTest(name = "{0} (arrival {1})")
    @CsvSource({
        CrashPoints.LAKE_MID_FILE + ", 1500",
        CrashPoints.LAKE_BEFORE_COMMIT + ", 4",
        CrashPoints.LAKE_AFTER_DEAD_LETTER_COMMIT + ", 3",
        CrashPoints.LAKE_AFTER_COMMIT + ", 4",
        CrashPoints.INGEST_AFTER_ACK + ", 60"})
    void haltingAtThePointLosesDoublesAndInventsNothing(String point, int arrival) throws Exception {
        try (ChaosRun run = new ChaosRun(root, "crash", 2_000)) {
            try (PlatformProcess platform = PlatformProcess.start(run.project, run.data, run.log,
                    List.of("-Xmx768m", "-D" + CrashPoints.PROPERTY + "=" + point + ":" + arrival), System.getProperty("java.class.path"))) {
                run.sendTo(platform);
                int exit = platform.awaitExit(Duration.ofSeconds(180));
                run.pause();
                assertThat(exit).as("the platform halted at %s (see %s)", point, run.log).isEqualTo(CrashPoints.EXIT_CODE);
            }
            try (PlatformProcess platform = PlatformProcess.start(run.project, run.data, run.log)) {
                run.sendTo(platform);
                run.deliveries.awaitMore(DeliveryLog.Fate.ACKNOWLEDGED, 2_000, Duration.ofSeconds(120)); // after the restart
                // an early halt leaves the producers short of their first dead letter (seq 999): go on until all have passed
                // it twice over, or "the load made dead letters" fails for want of load rather than for a lost dead letter
                long enough = 2L * ChaosRun.PRODUCERS * ChaosRun.DEAD_LETTER_EVERY;
                run.deliveries.awaitMore(DeliveryLog.Fate.ACKNOWLEDGED,
                        Math.max(0, enough - run.deliveries.count(DeliveryLog.Fate.ACKNOWLEDGED)), Duration.ofSeconds(120));
                run.close();
                DeliveryChecker.Report report = DeliveryChecker.awaitCommittedAndCheck(run.deliveries, platform.http(), run.table);
                System.out.println("CRASH POINT " + point + ":" + arrival + ": " + report);
                assertThat(report.acknowledged()).isPositive();
                assertThat(report.deadLettered()).as("the load made dead letters").isPositive();
                assertThat(report.clean()).as("%s: %s", point, report).isTrue();
                assertThat(platform.stop(Duration.ofSeconds(60))).as("SIGTERM exits cleanly").isZero();
            }
        }
    }
}
