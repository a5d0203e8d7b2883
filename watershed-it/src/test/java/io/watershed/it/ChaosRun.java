package io.watershed.it;

import io.watershed.testing.Await;
import io.watershed.testing.DeliveryLog;
import io.watershed.testing.LoadGenerator;
import io.watershed.testing.PlatformProcess;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What the chaos tests share: a project with one keyed stream of three partitions, a platform data directory and log,
 * and four producers posting at {@code rate} events/s, every 1,000th event a dead letter, each request logged in
 * {@link #deliveries}. The producers wait while no platform is {@linkplain #sendTo targeted}.
 *
 * <p>{@linkplain #everyWriter With every writer}, the stream's other transactional writers work beside them: two HTTP
 * producers that send an {@code Idempotency-Key} and retry without a definite answer, a Fluentd-style forward producer
 * whose chunks are retried until acknowledged, and a pipeline that copies the stream into {@value #COPY} with the
 * exactly-once stream sink ({@link #copyReport} compares the two).
 */
final class ChaosRun implements AutoCloseable {
    /** One event in this many goes to the dead-letter table: every commit has a few, so both tables are always in play. */
    static final int DEAD_LETTER_EVERY = 1_000;
    /** How many producers post without a key. */
    static final int PRODUCERS = 4;

    final Path project;
    final Path data;
    final Path log;
    final String table;
    final DeliveryLog deliveries = new DeliveryLog();
    /** The stream the pipeline of {@link #everyWriter} copies the chaos stream into. */
    static final String COPY = "chaos_copy";

    private final AtomicReference<LoadGenerator.Target> target = new AtomicReference<>();
    private final List<AutoCloseable> loads = new ArrayList<>();
    private final boolean everyWriter;

    ChaosRun(Path root, String stream, int rate) {
        this(TestProject.in(root.resolve("project")), root.resolve("data"), stream, rate, false);
    }

    /** With the project's own settings, and the data directory elsewhere (on a small disk). */
    ChaosRun(TestProject project, Path data, String stream, int rate) {
        this(project, data, stream, rate, false);
    }

    /** Plain producers, and keyed, forward and pipeline writers beside them. */
    static ChaosRun everyWriter(Path root, String stream, int rate) {
        return new ChaosRun(TestProject.in(root.resolve("project")), root.resolve("data"), stream, rate, true);
    }

    private ChaosRun(TestProject project, Path data, String stream, int rate, boolean everyWriter) {
        this.everyWriter = everyWriter;
        int forwardPort = everyWriter ? freePort() : 0;
        if (everyWriter) {
            project.ingest("forward_port", String.valueOf(forwardPort))
                    .stream(stream, "partitions: 3\nkey: key\nfields:\n  producer: string\n  seq: long\n  key: string\n  ts: string\n"
                            + "sources:\n  - type: forward\n    tags: [" + stream + "]\n")
                    .pipeline("copy", "INSERT INTO streams." + COPY + " SELECT producer, seq, `key` FROM streams." + stream + ";\n");
        } else {
            project.stream(stream, "partitions: 3\nkey: key\n");
        }
        this.project = project.yaml("query:\n  max_rows: 100000000").write();
        this.data = data;
        this.log = this.project.resolveSibling("platform.log");
        this.table = "raw." + stream;
        loads.add(new LoadGenerator(deliveries, target::get, stream, PRODUCERS, rate, 50, 16, DEAD_LETTER_EVERY));
        if (everyWriter) {
            loads.add(new LoadGenerator(deliveries, target::get, stream, "k", true, 2, Math.max(1, rate / 4), 50, 16, DEAD_LETTER_EVERY));
            loads.add(new ForwardLoad(deliveries, "f0", stream, forwardPort, () -> target.get() != null, Math.max(1, rate / 8), 50, 16));
        }
    }

    /**
     * With every writer: waits until the copy pipeline runs and its stream sink has committed in this life of the
     * platform (the copy grew), so that a kill that follows lands while it commits every second. Without, returns at once.
     */
    void awaitWriters(WatershedHttp http) {
        if (!everyWriter) {
            return;
        }
        http.awaitPipelinesRunning(1, Duration.ofSeconds(180));
        long before = copied(http);
        Await.until("the copy pipeline's sink committed", Duration.ofSeconds(180), () -> copied(http) > before);
    }

    private static long copied(WatershedHttp http) {
        WatershedHttp.Response response = http.sql("SELECT count(*) FROM raw." + COPY);
        return response.status() == 200 ? response.json().path("rows").get(0).get(0).asLong() : 0; // not created yet: 0
    }

    /**
     * After the last start: waits until the copy has caught up with the stream's raw table and its dead letters, then
     * compares them by (producer, seq): each event of the stream must be in the copy exactly once.
     */
    CopyReport copyReport(WatershedHttp http) {
        // parenthesised: in "copy EXCEPT a UNION ALL b" the EXCEPT would bind to a alone
        String source = "SELECT * FROM (SELECT producer, seq FROM " + table + " WHERE producer IS NOT NULL UNION ALL SELECT "
                + "raw->>'producer', CAST(raw->>'seq' AS BIGINT) FROM " + table + "__dlq WHERE json_valid(raw) AND raw->>'producer' "
                + "IS NOT NULL)";
        String copy = "SELECT producer, seq FROM raw." + COPY;
        long expected = http.count("SELECT count(*) FROM (" + source + ")");
        try {
            Await.until("the copy pipeline caught up (" + expected + " events)", Duration.ofSeconds(300),
                    () -> http.count("SELECT count(*) FROM raw." + COPY) >= expected);
        } catch (AssertionError e) {
            // say what is missing rather than only that it is
        }
        long copied = http.count("SELECT count(*) FROM raw." + COPY);
        long missing = http.count("SELECT count(*) FROM (" + source + " EXCEPT " + copy + ")");
        long phantom = http.count("SELECT count(*) FROM (" + copy + " EXCEPT " + source + ")");
        long duplicated = copied - http.count("SELECT count(*) FROM (SELECT DISTINCT producer, seq FROM raw." + COPY + ")");
        return new CopyReport(expected, copied, missing, duplicated, phantom);
    }

    record CopyReport(long expected, long copied, long missing, long duplicated, long phantom) {
        boolean clean() {
            return missing == 0 && duplicated == 0 && phantom == 0 && copied == expected;
        }

        @Override
        public String toString() {
            return "pipeline copy " + copied + " of " + expected + " -> missing " + missing + ", duplicated " + duplicated + ", phantom "
                    + phantom;
        }
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
        for (AutoCloseable load : loads) {
            try {
                load.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        loads.clear();
    }
}
