package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.testing.Await;
import io.watershed.testing.DeliveryChecker;
import io.watershed.testing.DeliveryLog;
import io.watershed.testing.LoadGenerator;
import io.watershed.testing.PlatformProcess;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chaos, the kill -9 part: producers post at a steady rate while the whole platform is killed with SIGKILL at a random
 * moment, {@code -Dchaos.cycles} times (3 in the build; {@code bench/run chaos} runs 100), and started again. The
 * delivery checker then reads the lake: nothing acknowledged lost, nothing stored twice, nothing refused stored, no key
 * reordered. The result line goes to {@code -Dchaos.report} when set.
 */
class ChaosIT {
    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path root;

    @Test
    void killNineAtRandomMomentsLosesDoublesAndInventsNothing() throws Exception {
        int cycles = Integer.getInteger("chaos.cycles", 3);
        int rate = Integer.getInteger("chaos.rate", 2_000);
        long seed = Long.getLong("chaos.seed", System.nanoTime());
        Random random = new Random(seed);
        Path project = TestProject.in(root.resolve("project")).yaml("query:\n  max_rows: 100000000")
                .stream("chaos", "partitions: 3\nkey: key\n").write();
        Path data = root.resolve("data");
        Path log = root.resolve("platform.log");
        DeliveryLog deliveries = new DeliveryLog();
        AtomicReference<LoadGenerator.Target> target = new AtomicReference<>();
        Instant started = Instant.now();
        try (LoadGenerator load = new LoadGenerator(deliveries, target::get, "chaos", 4, rate, 50, 16)) {
            for (int cycle = 1; cycle <= cycles; cycle++) {
                try (PlatformProcess platform = PlatformProcess.start(project, data, log)) {
                    target.set(new LoadGenerator.Target(platform.url(), platform.adminToken()));
                    long before = deliveries.count(DeliveryLog.Fate.ACKNOWLEDGED);
                    Await.until("events acknowledged in cycle " + cycle, Duration.ofSeconds(120),
                            () -> deliveries.count(DeliveryLog.Fate.ACKNOWLEDGED) > before);
                    Thread.sleep(500 + random.nextInt(4_000)); // a random moment of the commit cycle
                    platform.kill();
                    target.set(null);
                }
            }
        }
        try (PlatformProcess platform = PlatformProcess.start(project, data, log)) {
            WatershedHttp http = platform.http();
            long acknowledged = deliveries.count(DeliveryLog.Fate.ACKNOWLEDGED);
            Await.until("every acknowledged event in the lake", Duration.ofSeconds(120),
                    () -> http.count("SELECT count(DISTINCT (producer, seq)) FROM raw.chaos") >= acknowledged);
            DeliveryChecker.Report report = DeliveryChecker.check(deliveries, http, "raw.chaos");
            String line = Instant.now() + " cycles=" + cycles + " rate=" + rate + "/s seed=" + seed + " duration="
                    + Duration.between(started, Instant.now()).toSeconds() + "s: " + report;
            System.out.println("CHAOS " + line);
            String reportFile = System.getProperty("chaos.report");
            if (reportFile != null) {
                Files.writeString(Path.of(reportFile), line + "\n", java.nio.file.StandardOpenOption.CREATE,
                        java.nio.file.StandardOpenOption.APPEND);
            }
            assertThat(report.acknowledged()).as("the load ran").isPositive();
            assertThat(report.clean()).as(line).isTrue();

            // the checker can fail: acknowledged events that were never stored are lost, stored ones refused are phantoms
            deliveries.record("ghost", 0, 10, DeliveryLog.Fate.ACKNOWLEDGED);
            deliveries.record("p0", 0, 1, DeliveryLog.Fate.REJECTED);
            DeliveryChecker.Report doctored = DeliveryChecker.check(deliveries, http, "raw.chaos");
            assertThat(doctored.lost()).isEqualTo(10);
            assertThat(doctored.phantom()).isEqualTo(1);
            assertThat(doctored.clean()).isFalse();
            assertThat(platform.stop(Duration.ofSeconds(60))).as("SIGTERM exits cleanly").isZero();
        }
    }
}
