package io.watershed.stream;

import java.io.Serializable;
import java.util.List;
import org.apache.flink.table.types.logical.LogicalType;

/**
 * What every sink to an outside store knows of its rows, whatever the store ({@link BufferedSinkWriter}).
 *
 * @param sink the sink's name, for messages
 * @param countedAs the key its writes are counted under ({@link SinkStatistics})
 * @param columns the query's columns, in order
 * @param types their types
 * @param key the columns rows are upserted and deleted by; empty: rows are appended
 * @param batchSize rows a writer buffers at most
 * @param flushIntervalMillis how long a buffered row waits at most
 * @param deadLetterReason when not empty, the rows can not be written at all (their key is NULL): every change goes to the
 *     store's dead letters with this reason
 */
record SinkShape(String sink, String countedAs, List<String> columns, List<LogicalType> types, List<String> key, int batchSize,
        long flushIntervalMillis, String deadLetterReason) implements Serializable {
    SinkShape {
        columns = List.copyOf(columns);
        types = List.copyOf(types);
        key = List.copyOf(key);
    }

    /** Whether every change is a dead letter ({@link #deadLetterReason}). */
    boolean deadLetters() {
        return !deadLetterReason.isEmpty();
    }
}
