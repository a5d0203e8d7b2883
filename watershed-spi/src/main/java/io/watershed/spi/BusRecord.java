package io.watershed.spi;

import java.util.Map;

/**
 * One record read from the bus by a {@link BusReader}: where it is (topic, partition, offset), its key and value as
 * written (either may be null), the time the bus took it (milliseconds since the epoch), and its headers. What it is
 * (an event, a no-op, a dead letter) is {@link #kind()}, read by {@link BusRecordKind}.
 *
 * @param headers the value of each header's last occurrence by name; a header present without a value maps to an empty
 *        array
 */
public record BusRecord(String topic, int partition, long offset, byte[] key, byte[] value, long timestamp,
        Map<String, byte[]> headers) {

    public BusRecord {
        headers = headers.isEmpty() ? Map.of() : Map.copyOf(headers);
    }

    /** Its place on the bus. */
    public BusPartition busPartition() {
        return new BusPartition(topic, partition);
    }

    /** What it is, by the bus's record format. */
    public BusRecordKind kind() {
        return BusRecordKind.of(value, headers::get);
    }

    /** For a {@link BusRecordKind#DEAD_LETTER}: the input as received (see {@link BusRecordKind#deadLetterInput}). */
    public String deadLetterInput() {
        return BusRecordKind.deadLetterInput(value);
    }

    /** For a {@link BusRecordKind#DEAD_LETTER}: why its source could not decode it. */
    public String deadLetterReason() {
        return BusRecordKind.deadLetterReason(headers::get);
    }
}
