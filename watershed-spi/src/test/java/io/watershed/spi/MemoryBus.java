package io.watershed.spi;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The one in-memory {@link EventBus} of the parts' unit tests (sources, lake readers, the audit log): what is published
 * or appended is committed at once, each partition a list whose index is the offset. A published event lands on
 * partition 0 of its topic as a {@link BusRecord} (a dead letter with its header, as the Kafka bus writes it), and is
 * also kept as the {@link Event} it was; idempotent batches are remembered with their sizes. Its admin and consumer
 * group progress are not offered: tests of those run on a real broker.
 */
public final class MemoryBus implements EventBus {
    private final Map<BusPartition, List<BusRecord>> log = new LinkedHashMap<>();
    private final Map<String, List<Event>> published = new LinkedHashMap<>();
    private final Map<String, Integer> batches = new HashMap<>();

    /** Appends a record with this value (null for none) and no headers; returns its offset. */
    public synchronized long append(String topic, int partition, byte[] value) {
        return append(new BusPartition(topic, partition), null, value, Map.of());
    }

    private long append(BusPartition partition, byte[] key, byte[] value, Map<String, byte[]> headers) {
        List<BusRecord> records = log.computeIfAbsent(partition, p -> new ArrayList<>());
        records.add(new BusRecord(partition.topic(), partition.partition(), records.size(), key, value, System.currentTimeMillis(), headers));
        notifyAll();
        return records.size() - 1;
    }

    /** The events published to {@code topic} so far, in order. */
    public synchronized List<Event> events(String topic) {
        return new ArrayList<>(published.getOrDefault(topic, List.of()));
    }

    @Override
    public BusConnection connection() {
        return BusConnection.plain("in-memory:0");
    }

    @Override
    public synchronized Map<String, Integer> topics() {
        Map<String, Integer> partitions = new HashMap<>();
        log.keySet().forEach(p -> partitions.merge(p.topic(), 1, Integer::sum));
        return partitions;
    }

    @Override
    public synchronized Map<String, Long> endOffsetTotals(Collection<StreamSpec> streams) {
        Map<String, Long> totals = new HashMap<>();
        for (StreamSpec stream : streams) {
            long total = 0;
            for (Map.Entry<BusPartition, List<BusRecord>> e : log.entrySet()) {
                total += e.getKey().topic().equals(stream.topic()) ? e.getValue().size() : 0;
            }
            totals.put(stream.topic(), total);
        }
        return totals;
    }

    @Override
    public GroupProgress consumerGroupProgress(String group) {
        throw new UnsupportedOperationException("consumer groups are tested on a real broker");
    }

    @Override
    public BusAdmin admin(String clientId, Duration timeout) {
        throw new UnsupportedOperationException("the bus's admin is tested on a real broker");
    }

    @Override
    public BusReader reader(String name, BusReader.Pace pace) {
        return new Reader();
    }

    @Override
    public synchronized void ensureTopics(Collection<StreamSpec> streams) {
        streams.forEach(s -> log.computeIfAbsent(new BusPartition(s.topic(), 0), p -> new ArrayList<>()));
    }

    @Override
    public synchronized CompletableFuture<Void> publish(String topic, List<Event> events) {
        for (Event event : events) {
            published.computeIfAbsent(topic, t -> new ArrayList<>()).add(event);
            Map<String, byte[]> headers = event.deadLetterReason() == null ? Map.of()
                    : Map.of(DEAD_LETTER_HEADER, event.deadLetterReason().getBytes(StandardCharsets.UTF_8));
            append(new BusPartition(topic, 0), event.key(), event.value(), headers);
        }
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public synchronized void publishIdempotent(String topic, List<Event> events, String idempotencyKey) {
        publish(topic, events);
        batches.put(topic + "\u0000" + idempotencyKey, events.size());
    }

    @Override
    public synchronized Optional<Integer> publishedUnder(String topic, String idempotencyKey) {
        return Optional.ofNullable(batches.get(topic + "\u0000" + idempotencyKey));
    }

    @Override
    public void close() {
        // nothing to release
    }

    private final class Reader implements BusReader {
        private final Map<BusPartition, Long> positions = new HashMap<>();
        private final Set<BusPartition> paused = new HashSet<>();
        private volatile boolean wakeup;

        @Override
        public List<Integer> partitions(String topic, Duration timeout) {
            synchronized (MemoryBus.this) {
                return log.keySet().stream().filter(p -> p.topic().equals(topic)).map(BusPartition::partition).sorted().toList();
            }
        }

        @Override
        public void assign(Collection<BusPartition> partitions) {
            positions.keySet().retainAll(partitions);
            partitions.forEach(p -> positions.putIfAbsent(p, 0L));
        }

        @Override
        public Set<BusPartition> assignment() {
            return new HashSet<>(positions.keySet());
        }

        @Override
        public Map<BusPartition, Long> beginningOffsets(Collection<BusPartition> partitions) {
            Map<BusPartition, Long> beginnings = new HashMap<>();
            partitions.forEach(p -> beginnings.put(p, 0L));
            return beginnings;
        }

        @Override
        public Map<BusPartition, Long> endOffsets(Collection<BusPartition> partitions, Duration timeout) {
            synchronized (MemoryBus.this) {
                Map<BusPartition, Long> ends = new HashMap<>();
                partitions.forEach(p -> ends.put(p, (long) log.getOrDefault(p, List.of()).size()));
                return ends;
            }
        }

        @Override
        public void seek(BusPartition partition, long offset) {
            positions.put(partition, offset);
        }

        @Override
        public long position(BusPartition partition) {
            return positions.get(partition);
        }

        @Override
        public void pause(Collection<BusPartition> partitions) {
            paused.addAll(partitions);
        }

        @Override
        public void resume(Collection<BusPartition> partitions) {
            paused.removeAll(partitions);
        }

        @Override
        public List<BusRecord> poll(Duration timeout) {
            synchronized (MemoryBus.this) {
                wokenUp();
                List<BusRecord> out = read();
                if (out.isEmpty()) {
                    try {
                        MemoryBus.this.wait(timeout.toMillis());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    wokenUp();
                    out = read();
                }
                return out;
            }
        }

        private void wokenUp() {
            if (wakeup) {
                wakeup = false;
                throw new WokenUp(null);
            }
        }

        private List<BusRecord> read() {
            List<BusRecord> out = new ArrayList<>();
            for (Map.Entry<BusPartition, Long> position : positions.entrySet()) {
                if (!paused.contains(position.getKey())) {
                    List<BusRecord> records = log.getOrDefault(position.getKey(), List.of());
                    int from = (int) Math.min(position.getValue(), records.size());
                    out.addAll(records.subList(from, records.size()));
                    position.setValue((long) Math.max(position.getValue(), records.size()));
                }
            }
            return out;
        }

        @Override
        public void recordProgress(Map<BusPartition, Long> next, Consumer<Exception> onFailure) {}

        @Override
        public void wakeup() {
            wakeup = true;
            synchronized (MemoryBus.this) {
                MemoryBus.this.notifyAll();
            }
        }

        @Override
        public void close(Duration timeout) {}

        @Override
        public void close() {}
    }
}
