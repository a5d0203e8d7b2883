package io.watershed.stream;

import io.watershed.spi.StreamProcessor.SinkStatus;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * What each sink's writers did, counted where they write (the MiniCluster runs in this JVM), per runner so that a
 * platform started again in the same JVM starts from zero.
 */
final class SinkStatistics {
    private static final Map<String, SinkStatistics> ALL = new ConcurrentHashMap<>();

    private final LongAdder written = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private final AtomicReference<String> lastError = new AtomicReference<>();
    private final AtomicLong lastFlushNanos = new AtomicLong();
    private final LongAdder pending = new LongAdder();
    private final LongAdder deadLetters = new LongAdder();
    private final AtomicReference<String> lastDeadLetter = new AtomicReference<>();

    /** The key a runner's sink is counted under. */
    static String key(String runner, String sink) {
        return runner + "/" + sink;
    }

    static SinkStatistics of(String key) {
        return ALL.computeIfAbsent(key, k -> new SinkStatistics());
    }

    void written(long rows, long nanos) {
        written.add(rows);
        pending.add(-rows);
        lastFlushNanos.set(nanos);
    }

    void failed(String reason) {
        errors.increment();
        lastError.set(reason);
    }

    /** Rows the store refused for their data, kept in its dead-letter table, and the last one's reason. */
    void deadLettered(long rows, String reason) {
        deadLetters.add(rows);
        pending.add(-rows);
        lastDeadLetter.set(reason);
    }

    /** Rows buffered (positive) or dropped from the buffer without a write (negative, as a writer closes). */
    void buffered(long rows) {
        pending.add(rows);
    }

    SinkStatus status(String name) {
        return new SinkStatus(name, written.sum(), errors.sum(), Optional.ofNullable(lastError.get()), lastFlushNanos.get() / 1e9,
                Math.max(0, pending.sum()), deadLetters.sum(), Optional.ofNullable(lastDeadLetter.get()));
    }
}
