package io.watershed.spi;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The bus between ingest and everything downstream. A stream is a topic of the same name.
 * {@link #publish} completes only when every record is durable (acks=all, idempotent producer).
 */
public interface EventBus extends AutoCloseable {

    /**
     * A record carrying this header is no event: the bus writes it (with a null value) only to complete
     * a transaction Kafka committed but left open on a partition. Readers skip it.
     */
    String NOOP_HEADER = "watershed-noop";

    /**
     * A record carrying this header is input a source could not decode; the header's value is the reason (UTF-8).
     * The lake writer puts it in the stream's dead-letter table. Its value is the input as received, after one
     * leading NUL byte ({@link #DEAD_LETTER_MARK}), so a reader that ignores headers (kcat, a Flink pipeline) sees
     * it as unreadable rather than as an event.
     */
    String DEAD_LETTER_HEADER = "watershed-dead-letter";
    byte DEAD_LETTER_MARK = 0;

    /** How a Kafka client of the platform reaches this bus (its bootstrap servers and security). */
    BusConnection connection();

    /**
     * The bus's topics and their partition counts (those of the platform too).
     *
     * @throws WatershedException UNAVAILABLE when the bus does not answer
     */
    java.util.Map<String, Integer> topics();

    /**
     * How many records each of these streams' topics holds in the bus: its partitions' end offsets summed, keyed by topic.
     *
     * @throws WatershedException UNAVAILABLE when the bus does not answer within a few seconds
     */
    java.util.Map<String, Long> endOffsetTotals(java.util.Collection<StreamSpec> streams);

    /**
     * How far a consumer group has read: its committed offsets summed over the partitions it committed on, and how many
     * records (read committed) lie beyond them.
     *
     * @throws WatershedException UNAVAILABLE when the bus does not answer within a few seconds
     */
    GroupProgress consumerGroupProgress(String group);

    /**
     * What {@link #consumerGroupProgress} reports.
     *
     * @param committed the group's committed offsets, summed
     * @param lag records beyond them, summed over the same partitions
     */
    record GroupProgress(long committed, long lag) {}

    /**
     * Opens a reader of committed records, assigned by hand (see {@link BusReader}); the caller closes it.
     *
     * @param name its client id, and at {@link BusReader.Pace#BULK} its consumer group
     */
    BusReader reader(String name, BusReader.Pace pace);

    /** Opens an admin of stream topics (see {@link BusAdmin}) whose calls wait up to {@code timeout}; the caller closes it. */
    BusAdmin admin(String clientId, java.time.Duration timeout);

    /** Creates the missing topics of all these streams in one request; idempotent. */
    void ensureTopics(java.util.Collection<StreamSpec> streams);

    /**
     * Publishes the records in order per key. The future completes when all are acknowledged by the
     * broker, or exceptionally with a {@link WatershedException} (UNAVAILABLE) if any failed.
     */
    CompletableFuture<Void> publish(String topic, List<Event> events);

    /**
     * Publishes the records and a record of {@code idempotencyKey} in one Kafka transaction: either
     * both become visible to read-committed consumers or neither does, even if the process dies
     * between them. Callers must not publish the same key twice concurrently.
     */
    void publishIdempotent(String topic, List<Event> events, String idempotencyKey);

    /**
     * How many records an earlier {@link #publishIdempotent} with this key published, if it
     * committed within the retention of idempotency keys (24 hours); survives restarts.
     */
    Optional<Integer> publishedUnder(String topic, String idempotencyKey);

    @Override
    void close();

    /**
     * One record: optional key bytes, the JSON value, and the time it was accepted.
     *
     * @param deadLetterReason when present, the value is undecodable input and this is why; it is published with
     *        {@link #DEAD_LETTER_HEADER} and its value marked (see there)
     */
    record Event(byte[] key, byte[] value, long acceptedAtMillis, String deadLetterReason) {
        public Event(byte[] key, byte[] value, long acceptedAtMillis) {
            this(key, value, acceptedAtMillis, null);
        }

        /** Input that could not be decoded, for the stream's dead-letter table. */
        public static Event deadLetter(byte[] input, String reason, long acceptedAtMillis) {
            byte[] value = new byte[input.length + 1];
            value[0] = DEAD_LETTER_MARK;
            System.arraycopy(input, 0, value, 1, input.length);
            return new Event(null, value, acceptedAtMillis, reason);
        }
    }
}
