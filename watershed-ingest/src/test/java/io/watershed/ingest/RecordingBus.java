package io.watershed.ingest;

import io.watershed.spi.BusConnection;
import io.watershed.spi.EventBus;
import io.watershed.spi.StreamSpec;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An in-memory bus for the sources' tests: it keeps what is published per topic, and the batch ids of idempotent
 * publishing with their sizes, as the Kafka bus does in its transactions. Everything is durable at once.
 */
final class RecordingBus implements EventBus {
    private final Map<String, List<Event>> topics = new ConcurrentHashMap<>();
    private final Map<String, Integer> batches = new ConcurrentHashMap<>();

    /** What was published to the topic so far. */
    List<Event> events(String topic) {
        return new ArrayList<>(topics.getOrDefault(topic, List.of()));
    }

    @Override
    public BusConnection connection() {
        throw new UnsupportedOperationException("an in-memory bus has no address");
    }

    @Override
    public Map<String, Integer> topics() {
        Map<String, Integer> partitions = new ConcurrentHashMap<>();
        topics.keySet().forEach(topic -> partitions.put(topic, 1));
        return partitions;
    }

    @Override
    public Map<String, Long> endOffsetTotals(Collection<StreamSpec> streams) {
        Map<String, Long> totals = new ConcurrentHashMap<>();
        for (StreamSpec stream : streams) {
            totals.put(stream.topic(), (long) topics.getOrDefault(stream.topic(), List.of()).size());
        }
        return totals;
    }

    @Override
    public GroupProgress consumerGroupProgress(String group) {
        throw new UnsupportedOperationException("sources only publish");
    }

    @Override
    public io.watershed.spi.BusReader reader(String name, io.watershed.spi.BusReader.Pace pace) {
        throw new UnsupportedOperationException("sources only publish");
    }

    @Override
    public io.watershed.spi.BusAdmin admin(String clientId, java.time.Duration timeout) {
        throw new UnsupportedOperationException("sources only publish");
    }

    @Override
    public void ensureTopics(Collection<StreamSpec> streams) {
        for (StreamSpec stream : streams) {
            topics.computeIfAbsent(stream.topic(), t -> new CopyOnWriteArrayList<>());
        }
    }

    @Override
    public CompletableFuture<Void> publish(String topic, List<Event> events) {
        topics.computeIfAbsent(topic, t -> new CopyOnWriteArrayList<>()).addAll(events);
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public synchronized void publishIdempotent(String topic, List<Event> events, String idempotencyKey) {
        topics.computeIfAbsent(topic, t -> new CopyOnWriteArrayList<>()).addAll(events);
        batches.put(topic + "\u0000" + idempotencyKey, events.size());
    }

    @Override
    public Optional<Integer> publishedUnder(String topic, String idempotencyKey) {
        return Optional.ofNullable(batches.get(topic + "\u0000" + idempotencyKey));
    }

    @Override
    public void close() {
        // nothing to release
    }
}
