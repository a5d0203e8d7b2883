package io.watershed.stream;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Records each pipeline's sources skipped because they do not fit the stream's columns, counted where
 * they are read (the MiniCluster runs in this JVM). A record read again after a restart from a
 * checkpoint counts again.
 */
final class UnreadableRecords {
    private static final Map<String, LongAdder> COUNTS = new ConcurrentHashMap<>();

    private UnreadableRecords() {}

    /** The key a runner's pipeline is counted under: per runner, so a platform started again in the same JVM starts from zero. */
    static String key(String runner, String pipeline) {
        return runner + "/" + pipeline;
    }

    static void record(String pipeline) {
        COUNTS.computeIfAbsent(pipeline, p -> new LongAdder()).increment();
    }

    static long count(String pipeline) {
        LongAdder count = COUNTS.get(pipeline);
        return count == null ? 0 : count.sum();
    }
}
