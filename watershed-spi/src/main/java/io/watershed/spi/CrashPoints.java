package io.watershed.spi;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Test-only fault injection: started with {@code -Dwatershed.crash.at=<point>[:<n>]}, the JVM halts (exit code
 * {@link #EXIT_CODE}, no shutdown hook, nothing flushed: what kill -9 leaves) the n-th time (default 1) it reaches that
 * point. Without the property every {@link #reach} is two comparisons with null. The points name the moments the
 * delivery promise is hardest to keep: {@link #LAKE_MID_FILE}, {@link #LAKE_BEFORE_COMMIT},
 * {@link #LAKE_AFTER_DEAD_LETTER_COMMIT}, {@link #LAKE_AFTER_COMMIT}, {@link #INGEST_AFTER_ACK}, {@link #SEARCH_BEFORE_COMMIT}.
 */
public final class CrashPoints {
    public static final String PROPERTY = "watershed.crash.at";
    public static final int EXIT_CODE = 86;
    /** A row of a Parquet data file written, the file still open (not yet in any commit). */
    public static final String LAKE_MID_FILE = "lake.mid-file";
    /** The data files of a batch closed, the Iceberg commit (with its offsets) not yet made. */
    public static final String LAKE_BEFORE_COMMIT = "lake.before-commit";
    /**
     * A batch's dead letters committed to the dead-letter table, its rows not yet to the main table: the two tables
     * disagree on how far the stream is landed.
     */
    public static final String LAKE_AFTER_DEAD_LETTER_COMMIT = "lake.after-dlq-commit";
    /** The Iceberg commit made, nothing after it (consumer-group progress, views, counters) done. */
    public static final String LAKE_AFTER_COMMIT = "lake.after-commit";
    /** A search index's documents added, its commit (with its offsets) not yet made. */
    public static final String SEARCH_BEFORE_COMMIT = "search.before-commit";
    /** Kafka acknowledged a request's events, the HTTP answer not yet sent. */
    public static final String INGEST_AFTER_ACK = "ingest.after-ack";

    private static final String POINT;
    private static final long AT;
    private static final AtomicLong REACHED = new AtomicLong();
    private static final Object STALL = new Object();
    /** The point where threads wait until {@link #release()}: set only by in-process tests ({@link #stall}). */
    private static volatile String stalled;

    static {
        String spec = System.getProperty(PROPERTY);
        if (spec == null || spec.isBlank()) {
            POINT = null;
            AT = 0;
        } else {
            int colon = spec.indexOf(':');
            POINT = colon < 0 ? spec.strip() : spec.substring(0, colon).strip();
            AT = colon < 0 ? 1 : Long.parseLong(spec.substring(colon + 1).strip());
        }
    }

    private CrashPoints() {}

    /** In-process tests: from now on every thread that reaches {@code point} waits there until {@link #release()}. */
    public static void stall(String point) {
        stalled = point;
    }

    /** Lets the threads waiting at the stalled point go on. */
    public static void release() {
        synchronized (STALL) {
            stalled = null;
            STALL.notifyAll();
        }
    }

    /** Halts the JVM here if this is the configured point and its n-th arrival; waits here while the point is stalled. */
    public static void reach(String point) {
        if (stalled != null && stalled.equals(point)) {
            synchronized (STALL) {
                while (point.equals(stalled)) {
                    try {
                        STALL.wait();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
        }
        if (POINT != null && POINT.equals(point) && REACHED.incrementAndGet() == AT) {
            System.err.println("watershed: crash point '" + point + "' reached (" + PROPERTY + "), halting");
            System.err.flush();
            Runtime.getRuntime().halt(EXIT_CODE);
        }
    }
}
