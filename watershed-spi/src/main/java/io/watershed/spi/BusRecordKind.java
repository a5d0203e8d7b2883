package io.watershed.spi;

import java.nio.charset.StandardCharsets;
import java.util.function.Function;

/**
 * What a record on a stream's topic is, by the bus's record format ({@link EventBus#NOOP_HEADER},
 * {@link EventBus#DEAD_LETTER_HEADER} and its {@link EventBus#DEAD_LETTER_MARK}): the one place that format is read,
 * for every reader of the bus (the lake writers, the fresh tail, the state tables).
 */
public enum BusRecordKind {
    /** An event: a value for the table. */
    EVENT,
    /** Not an event: a record that completed a transaction Kafka left open; readers skip it. */
    NO_OP,
    /** Input a source could not decode: {@link #deadLetterInput} and {@link #deadLetterReason} say what and why. */
    DEAD_LETTER,
    /**
     * A record without a value that is neither a no-op nor a dead letter (a tombstone an outside producer wrote, say). It
     * is no event, and nothing drops it quietly: the lake writer puts it in {@code raw.<stream>__dlq} ("the record is not
     * a JSON object (null value)"); the fresh tail, which holds what the next commit of {@code raw.<stream>} will, leaves
     * it out as it does every record the writer dead-letters; {@code state.<stream>} does not apply it and counts it in
     * the {@code watershed.state.skipped} metric, with a warning in the log.
     */
    EMPTY;

    /**
     * @param value the record's value (may be null)
     * @param header the value of the record's last header of a name (empty when it has no value), or null when it has none
     */
    public static BusRecordKind of(byte[] value, Function<String, byte[]> header) {
        if (header.apply(EventBus.NOOP_HEADER) != null) {
            return NO_OP;
        }
        if (header.apply(EventBus.DEAD_LETTER_HEADER) != null) {
            return DEAD_LETTER;
        }
        return value == null ? EMPTY : EVENT;
    }

    /** The input a dead letter carries, as received: its value after the leading mark. */
    public static String deadLetterInput(byte[] value) {
        byte[] v = value == null ? new byte[0] : value;
        int from = v.length > 0 && v[0] == EventBus.DEAD_LETTER_MARK ? 1 : 0;
        return new String(v, from, v.length - from, StandardCharsets.UTF_8);
    }

    /** Why the source could not decode it: the dead-letter header's value. */
    public static String deadLetterReason(Function<String, byte[]> header) {
        byte[] reason = header.apply(EventBus.DEAD_LETTER_HEADER);
        return reason == null ? "" : new String(reason, StandardCharsets.UTF_8);
    }
}
