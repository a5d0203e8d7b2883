package io.watershed.lake;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.expressions.Expression;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.io.CloseableIterable;

/**
 * The records a crash left "half done": the dead-letter table committed them but the main table's
 * commit did not follow. On restart they are read again from Kafka; they must not land a second
 * time — not in the dead-letter table, and not in the main table either, even if a schema that
 * widened since would now accept them.
 */
final class DeadLetterOffsets {
    static final DeadLetterOffsets NONE = new DeadLetterOffsets(Map.of());

    private final Map<Integer, Set<Long>> offsets;

    private DeadLetterOffsets(Map<Integer, Set<Long>> offsets) {
        this.offsets = offsets;
    }

    /** The dead-letter rows with offsets at or after the main table's committed offset, per partition. */
    static DeadLetterOffsets between(Table deadLetters, Map<Integer, Long> mainCommitted, Map<Integer, Long> dlqCommitted) {
        Expression ahead = Expressions.alwaysFalse();
        for (Map.Entry<Integer, Long> dlq : dlqCommitted.entrySet()) {
            long main = mainCommitted.getOrDefault(dlq.getKey(), 0L);
            if (dlq.getValue() > main) {
                ahead = Expressions.or(ahead, Expressions.and(Expressions.equal(RawSchema.PARTITION, dlq.getKey()),
                        Expressions.greaterThanOrEqual(RawSchema.OFFSET, main)));
            }
        }
        if (ahead.equals(Expressions.alwaysFalse()) || deadLetters.currentSnapshot() == null) {
            return NONE;
        }
        Map<Integer, Set<Long>> found = new HashMap<>();
        try (CloseableIterable<Record> rows = IcebergGenerics.read(deadLetters).where(ahead)
                .select(RawSchema.PARTITION, RawSchema.OFFSET).build()) {
            for (Record row : rows) {
                found.computeIfAbsent((Integer) row.getField(RawSchema.PARTITION), p -> new HashSet<>())
                        .add((Long) row.getField(RawSchema.OFFSET));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + deadLetters.name(), e);
        }
        return new DeadLetterOffsets(found);
    }

    /**
     * The offsets a dead-letter commit records: where the writer is now ({@code next}), but never behind what the
     * table recorded before on any partition. A writer that restarted behind an earlier dead-letter commit (the main
     * table's commit did not follow it) replays those records and skips their dead letters; if it commits new dead
     * letters of another partition before it has passed the earlier commit everywhere, recording where it is would
     * lower the table's offsets below dead letters it already holds, and the next restart would land them again (a
     * chaos run found 4 dead letters twice so).
     */
    static Map<Integer, Long> afterCommit(Map<Integer, Long> dlqCommitted, Map<Integer, Long> next) {
        Map<Integer, Long> offsets = new java.util.TreeMap<>(next);
        dlqCommitted.forEach((partition, offset) -> offsets.merge(partition, offset, Math::max));
        return offsets;
    }

    boolean contains(int partition, long offset) {
        Set<Long> set = offsets.get(partition);
        return set != null && set.contains(offset);
    }
}
