package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.testing.Await;
import io.watershed.testing.DeliveryChecker;
import io.watershed.testing.DeliveryLog;
import io.watershed.testing.PlatformProcess;
import io.watershed.testing.WatershedHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chaos, the kill -9 part: producers post at a steady rate while the whole platform is killed with SIGKILL at a random
 * moment, {@code -Dchaos.cycles} times (3 in the build; {@code bench/run chaos} runs 100), and started again. Beside the
 * plain HTTP producers run every transactional writer: keyed HTTP producers and a forward producer that retry until
 * they are acknowledged, and a pipeline copying the stream into another with the exactly-once stream sink. The
 * delivery checker then reads the lake and its dead-letter table: nothing acknowledged lost, nothing stored twice,
 * nothing refused stored, no key reordered; and the copy must hold each event of the stream exactly once. The result
 * line goes to {@code -Dchaos.report} when set.
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
        Instant started = Instant.now();
        try (ChaosRun run = ChaosRun.everyWriter(root, "chaos", rate)) {
            for (int cycle = 1; cycle <= cycles; cycle++) {
                try (PlatformProcess platform = PlatformProcess.start(run.project, run.data, run.log)) {
                    run.sendTo(platform);
                    long before = run.deliveries.count(DeliveryLog.Fate.ACKNOWLEDGED);
                    Await.until("events acknowledged in cycle " + cycle, Duration.ofSeconds(120),
                            () -> run.deliveries.count(DeliveryLog.Fate.ACKNOWLEDGED) > before);
                    run.awaitWriters(platform.http()); // the pipeline's sink at work too, not only starting
                    Thread.sleep(500 + random.nextInt(4_000)); // a random moment of the commit cycle
                    platform.kill();
                    run.pause();
                }
            }
            run.close();
            try (PlatformProcess platform = PlatformProcess.start(run.project, run.data, run.log)) {
                WatershedHttp http = platform.http();
                DeliveryChecker.Report report = DeliveryChecker.awaitCommittedAndCheck(run.deliveries, http, run.table);
                http.awaitPipelinesRunning(1, Duration.ofSeconds(180));
                ChaosRun.CopyReport copy = run.copyReport(http);
                String line = Instant.now() + " cycles=" + cycles + " rate=" + rate + "/s seed=" + seed + " duration="
                        + Duration.between(started, Instant.now()).toSeconds() + "s (plain, keyed and forward producers, a pipeline "
                        + "writing a stream): " + report + "; " + copy;
                System.out.println("CHAOS " + line);
                String reportFile = System.getProperty("chaos.report");
                if (reportFile != null) {
                    Files.writeString(Path.of(reportFile), line + "\n", java.nio.file.StandardOpenOption.CREATE,
                            java.nio.file.StandardOpenOption.APPEND);
                }
                assertThat(report.acknowledged()).as("the load ran").isPositive();
                assertThat(report.deadLettered()).as("the load made dead letters").isPositive();
                assertThat(report.clean()).as(line).isTrue();
                assertThat(run.deliveries.fate("k0", 0)).as("a keyed producer was acknowledged").isEqualTo(DeliveryLog.Fate.ACKNOWLEDGED);
                assertThat(run.deliveries.fate("f0", 0)).as("the forward producer was acknowledged").isEqualTo(DeliveryLog.Fate.ACKNOWLEDGED);
                assertThat(copy.copied()).as("the pipeline copied").isPositive();
                assertThat(copy.clean()).as(line).isTrue();

                // the checker can fail: acknowledged events never stored are lost, stored ones refused are phantoms,
                // in the dead-letter table too (p0's event 999 is a dead letter)
                run.deliveries.record("ghost", 0, 10, DeliveryLog.Fate.ACKNOWLEDGED);
                run.deliveries.record("p0", 0, 1, DeliveryLog.Fate.REJECTED);
                run.deliveries.record("p0", ChaosRun.DEAD_LETTER_EVERY - 1, 1, DeliveryLog.Fate.REJECTED);
                DeliveryChecker.Report doctored = DeliveryChecker.check(run.deliveries, http, run.table);
                assertThat(doctored.lost()).isEqualTo(10);
                assertThat(doctored.phantom()).isEqualTo(2);
                assertThat(doctored.clean()).isFalse();
                assertThat(platform.stop(Duration.ofSeconds(60))).as("SIGTERM exits cleanly").isZero();
            }
        }
    }
}
