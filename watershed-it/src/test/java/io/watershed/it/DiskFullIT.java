package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.DeliveryChecker;
import io.watershed.testing.DeliveryLog;
import io.watershed.testing.LoadGenerator;
import io.watershed.testing.PlatformProcess;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chaos, the disk-full part: the platform's data directory is a 384 MiB tmpfs, and while producers post, a filler file
 * takes the space down to half of {@code ingest.min_free_disk}. Ingest answers 503 with Retry-After the whole time
 * (nothing acknowledged that could not be kept), health still answers, and when the filler is deleted ingest takes
 * events again by itself (to the last byte is the second test). The delivery checker then finds nothing lost, doubled
 * or invented, the lake writers, which failed writing Parquet meanwhile, have committed everything by themselves, and a
 * restart on the same directory finds the same lake. Needs root to mount the tmpfs (CI runs as root).
 */
class DiskFullIT {
    private static final long DISK_BYTES = 384L << 20;
    private static final long MIN_FREE = 48L << 20;

    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path root;

    @Test
    void aFullDiskIsRefusedWith503AndIngestRecoversWhenSpaceReturns() throws Exception {
        Path disk = Files.createDirectories(root.resolve("disk"));
        assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=" + DISK_BYTES, "tmpfs", disk.toString()) == 0,
                "DiskFullIT mounts a tmpfs and needs root for it");
        try {
            Path data = disk.resolve("data");
            TestProject project = TestProject.in(root.resolve("project")).commitInterval("500ms")
                    .ingest("min_free_disk", (MIN_FREE >> 20) + "MiB")
                    .yaml("query:\n  max_rows: 100000000")
                    .stream("disk", "partitions: 2\nkey: key\n");
            DeliveryLog deliveries = new DeliveryLog();
            AtomicReference<LoadGenerator.Target> target = new AtomicReference<>();
            Path filler = disk.resolve("filler");
            long stored;
            try (LoadGenerator load = new LoadGenerator(deliveries, target::get, "disk", 2, 1_000, 50, 16);
                    Platform platform = Platform.start(project.load(), data)) {
                WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
                target.set(new LoadGenerator.Target(platform.url(), platform.adminToken()));
                deliveries.awaitMore(DeliveryLog.Fate.ACKNOWLEDGED, 2_000, Duration.ofSeconds(120));

                // below ingest.min_free_disk: refused before anything is written
                fill(filler, disk, MIN_FREE / 2);
                WatershedHttp.Response refused = Await.until("a 503 for lack of disk", Duration.ofSeconds(30),
                        () -> http.events("disk", "{\"producer\":\"probe\",\"seq\":0,\"key\":\"k\"}"), r -> r.status() == 503);
                assertThat(refused.header("Retry-After")).isNotNull();
                assertThat(refused.body()).contains("ingest.min_free_disk");

                // producers keep posting against the full disk: 503s (never a 500), nothing acknowledged, health answers
                long acknowledgedWhileFull = deliveries.count(DeliveryLog.Fate.ACKNOWLEDGED);
                deliveries.awaitMore(DeliveryLog.Fate.INDETERMINATE, 500, Duration.ofSeconds(60));
                assertThat(http.events("disk", "{\"producer\":\"probe\",\"seq\":1,\"key\":\"k\"}").status()).isEqualTo(503);
                assertThat(http.get("/v1/health").status()).isEqualTo(200);
                assertThat(deliveries.count(DeliveryLog.Fate.ACKNOWLEDGED)).as("nothing acknowledged on a full disk")
                        .isLessThanOrEqualTo(acknowledgedWhileFull + 2 * 50); // at most the requests already past the check

                // space returns: ingest takes events again without a restart
                Files.delete(filler);
                deliveries.awaitMore(DeliveryLog.Fate.ACKNOWLEDGED, 2_000, Duration.ofSeconds(120));
                load.close();
                // committed by the lake writer, not only visible through the fresh tail
                DeliveryChecker.Report report = DeliveryChecker.awaitCommittedAndCheck(deliveries, http, "raw.disk");
                System.out.println("DISK FULL: " + report);
                assertThat(report.acknowledged()).isPositive();
                assertThat(report.clean()).as("%s", report).isTrue();
                stored = http.count("SELECT count(*) FROM raw.disk");
            }
            // nothing corrupt: the same lake after a restart on the same directory
            try (Platform platform = Platform.start(project.load(), data)) {
                WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
                assertThat(http.count("SELECT count(*) FROM raw.disk")).isEqualTo(stored);
                assertThat(http.events("disk", "{\"producer\":\"after\",\"seq\":0,\"key\":\"k\"}").status()).isEqualTo(200);
            }
        } finally {
            run("umount", "-l", disk.toString());
        }
    }

    /**
     * To the last byte, with the platform in its own JVM: the embedded broker cannot append (its own metadata log
     * included), fails its only log directory and halts the JVM, as a Kafka broker does, after saying why. Nothing
     * acknowledged is lost; a start on the still-full disk is refused with what to do; once space returns the platform
     * starts and recovers as after kill -9.
     */
    @Test
    void aDiskFilledToTheLastByteStopsThePlatformAndLosesNothingAcknowledged() throws Exception {
        Path disk = Files.createDirectories(root.resolve("disk"));
        assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=" + DISK_BYTES, "tmpfs", disk.toString()) == 0,
                "DiskFullIT mounts a tmpfs and needs root for it");
        try (ChaosRun run = new ChaosRun(TestProject.in(root.resolve("project")).commitInterval("500ms")
                .ingest("min_free_disk", (MIN_FREE >> 20) + "MiB"), disk.resolve("data"), "disk", 1_000)) {
            Path filler = disk.resolve("filler");
            try (PlatformProcess platform = PlatformProcess.start(run.project, run.data, run.log)) {
                run.sendTo(platform);
                run.deliveries.awaitMore(DeliveryLog.Fate.ACKNOWLEDGED, 2_000, Duration.ofSeconds(120));
                fill(filler, disk, 0);
                Await.until("the platform to halt on the full disk", Duration.ofSeconds(120), () -> !platform.alive());
                run.pause();
                assertThat(platform.awaitExit(Duration.ofSeconds(5))).as("Kafka's halt code").isEqualTo(1);
                assertThat(Files.readString(run.log)).contains("The embedded Kafka broker stopped Watershed (exit 1)")
                        .contains("0 bytes are free on the disk of").contains("free space on that disk, then start again");
            }
            // still full: refused at once, saying what to do
            long logged = Files.size(run.log);
            assertThatThrownBy(() -> PlatformProcess.start(run.project, run.data, run.log)).hasMessageContaining("exited before");
            assertThat(Files.readString(run.log).substring((int) logged)).containsPattern("Cannot start: only \\d+ bytes are free on the disk of")
                    .contains("Free space on that disk, then start again");

            Files.delete(filler);
            try (PlatformProcess platform = PlatformProcess.start(run.project, run.data, run.log)) {
                run.sendTo(platform);
                run.deliveries.awaitMore(DeliveryLog.Fate.ACKNOWLEDGED, 2_000, Duration.ofSeconds(120));
                run.close();
                DeliveryChecker.Report report = DeliveryChecker.awaitCommittedAndCheck(run.deliveries, platform.http(), run.table);
                System.out.println("DISK FULL TO THE LAST BYTE: " + report);
                assertThat(report.acknowledged()).isPositive();
                assertThat(report.clean()).as("%s", report).isTrue();
                assertThat(platform.stop(Duration.ofSeconds(60))).as("SIGTERM exits cleanly").isZero();
            }
        } finally {
            run("umount", "-l", disk.toString());
        }
    }

    /** Grows the filler until at most {@code leave} bytes of the file system are free. */
    private static void fill(Path filler, Path disk, long leave) throws IOException {
        byte[] block = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(filler, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.APPEND)) {
            while (Files.getFileStore(disk).getUsableSpace() > leave) {
                long free = Files.getFileStore(disk).getUsableSpace();
                out.write(block, 0, (int) Math.max(1, Math.min(block.length, free - leave)));
            }
        } catch (IOException e) {
            if (leave > 0 || Files.getFileStore(disk).getUsableSpace() > 0) {
                throw e;
            }
            // to the last byte: the write that found none
        }
    }

    private static int run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getInputStream().transferTo(OutputStream.nullOutputStream());
        return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
    }
}
