package io.watershed.lake;

import io.watershed.spi.BusPartition;
import io.watershed.spi.BusReader;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The life of a lake writer that reads a stream's topic into a table (the raw table, {@code state.<stream>}): it runs
 * until stopped, starting again from its table's last commit 5 s after a failure; a stop lets it drain and commit,
 * and wakes its reader if that takes too long.
 */
abstract class BusWriter implements Runnable {
    static final Duration RESTART_DELAY = Duration.ofSeconds(5);

    private final CountDownLatch stopped = new CountDownLatch(1);
    /** False once a stop was asked for: the writer drains, commits and ends. */
    protected volatile boolean running = true;
    /** The bus reader of the current run, for {@link #stop} to wake. */
    protected volatile BusReader reader;

    /** One run: from the table's last commit until stopped (committing what it read) or failed. */
    protected abstract void runOnce();

    /** After a failed run: forget what was read but not committed, and say so. */
    protected abstract void failed(RuntimeException e);

    /** Assigns {@code bus} every partition of {@code topic}; answers the earliest offset each still holds, in partition order. */
    protected static Map<BusPartition, Long> assignAll(BusReader bus, String topic) {
        Map<BusPartition, Long> beginnings = new LinkedHashMap<>();
        for (int partition : bus.partitions(topic, Duration.ofSeconds(30))) {
            beginnings.put(new BusPartition(topic, partition), null);
        }
        bus.assign(beginnings.keySet());
        beginnings.putAll(bus.beginningOffsets(beginnings.keySet()));
        return beginnings;
    }

    /** True once {@link #abandon} was called: the writer ends without committing. */
    protected volatile boolean abandoned;

    /**
     * Stops without a last commit and without waiting: another instance owns the table now and starts from the table's
     * last commit, so what this one read is left to it (a commit already under way is fenced by the table's offsets).
     */
    void abandon() {
        abandoned = true;
        running = false;
        BusReader r = reader;
        if (r != null) {
            r.wakeup();
        }
    }

    /** Begins the stop without waiting: the writer drains, commits and ends on its own thread. */
    void requestStop() {
        running = false;
    }

    /** Asks the writer to stop and waits up to {@code timeout}; then wakes its reader and returns false. */
    boolean stop(Duration timeout) throws InterruptedException {
        requestStop();
        if (stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            return true;
        }
        BusReader r = reader;
        if (r != null) {
            r.wakeup();
        }
        return false;
    }

    @Override
    public final void run() {
        try {
            while (running) {
                try {
                    runOnce();
                } catch (BusReader.WokenUp e) {
                    // stop() was called; runOnce committed what it could
                } catch (RuntimeException | org.apache.hadoop.fs.FSError e) {
                    // FSError is Hadoop's Error for a failed local write (a full disk): it would end the thread for good
                    if (!running) {
                        break;
                    }
                    failed(e instanceof RuntimeException r ? r : new IllegalStateException("The file system failed: " + e.getMessage(), e));
                    if (waitForStop(RESTART_DELAY)) {
                        break;
                    }
                }
            }
        } finally {
            stopped.countDown();
        }
    }

    /** Waits up to {@code duration}; true when a stop was asked for meanwhile. */
    private boolean waitForStop(Duration duration) {
        long deadline = System.nanoTime() + duration.toNanos();
        while (running && System.nanoTime() < deadline) {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return true;
            }
        }
        return !running;
    }
}
