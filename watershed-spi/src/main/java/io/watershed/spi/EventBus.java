package io.watershed.spi;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The bus between ingest and everything downstream. A stream is a topic of the same name.
 * {@link #publish} completes only when every record is durable (acks=all, idempotent producer).
 */
public interface EventBus extends AutoCloseable {

    /** Bootstrap servers a Kafka client (kcat, a consumer in another part) can reach. */
    String bootstrapServers();

    /** Creates the stream's topic if it is missing; idempotent. */
    void ensureTopic(StreamSpec stream);

    /**
     * Publishes the records in order per key. The future completes when all are acknowledged by the
     * broker, or exceptionally with a {@link WatershedException} (UNAVAILABLE) if any failed.
     */
    CompletableFuture<Void> publish(String topic, List<Event> events);

    @Override
    void close();

    /** One record: optional key bytes, the JSON value, and the time it was accepted. */
    record Event(byte[] key, byte[] value, long acceptedAtMillis) {}
}
