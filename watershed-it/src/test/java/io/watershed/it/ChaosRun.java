package io.watershed.it;

import io.watershed.testing.DeliveryLog;
import io.watershed.testing.LoadGenerator;
import io.watershed.testing.PlatformProcess;
import io.watershed.testing.TestProject;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What the chaos tests share: a project with one keyed stream of three partitions, a platform data directory and log,
 * and four producers posting at {@code rate} events/s, every 1,000th event a dead letter, each request logged in
 * {@link #deliveries}. The producers wait while no platform is {@linkplain #sendTo targeted}.
 */
final class ChaosRun implements AutoCloseable {
    /** One event in this many goes to the dead-letter table: every commit has a few, so both tables are always in play. */
    static final int DEAD_LETTER_EVERY = 1_000;

    final Path project;
    final Path data;
    final Path log;
    final String table;
    final DeliveryLog deliveries = new DeliveryLog();
    private final AtomicReference<LoadGenerator.Target> target = new AtomicReference<>();
    private final LoadGenerator load;

    ChaosRun(Path root, String stream, int rate) {
        this(TestProject.in(root.resolve("project")), root.resolve("data"), stream, rate);
    }

    /** With the project's own settings, and the data directory elsewhere (on a small disk). */
    ChaosRun(TestProject project, Path data, String stream, int rate) {
        this.project = project.yaml("query:\n  max_rows: 100000000").stream(stream, "partitions: 3\nkey: key\n").write();
        this.data = data;
        this.log = this.project.resolveSibling("platform.log");
        this.table = "raw." + stream;
        this.load = new LoadGenerator(deliveries, target::get, stream, 4, rate, 50, 16, DEAD_LETTER_EVERY);
    }

    /** From now on the producers post to this platform. */
    void sendTo(PlatformProcess platform) {
        target.set(new LoadGenerator.Target(platform.url(), platform.adminToken()));
    }

    /** The platform is gone: the producers wait. */
    void pause() {
        target.set(null);
    }

    /** Stops the producers and waits for their requests in flight: every request is answered or given up. */
    @Override
    public void close() {
        load.close();
    }
}
