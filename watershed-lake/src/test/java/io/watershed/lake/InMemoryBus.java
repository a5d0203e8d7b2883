package io.watershed.lake;

import io.watershed.spi.BusAdmin;
import io.watershed.spi.BusConnection;
import io.watershed.spi.BusPartition;
import io.watershed.spi.BusReader;
import io.watershed.spi.BusRecord;
import io.watershed.spi.EventBus;
import io.watershed.spi.StreamSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A bus in memory for the lake's readers: records appended here are committed at once, each partition a list whose index
 * is the offset. Only what {@link BusReader} offers works; the rest of {@link EventBus} is not needed by the lake's tests.
 */
final class InMemoryBus implements EventBus {
    private final Map<BusPartition, List<BusRecord>> log = new HashMap<>();

    /** Appends a record with this value (null for none) and no headers; returns its offset. */
    synchronized long append(String topic, int partition, byte[] value) {
        List<BusRecord> records = log.computeIfAbsent(new BusPartition(topic, partition), p -> new ArrayList<>());
        records.add(new BusRecord(topic, partition, records.size(), null, value, System.currentTimeMillis(), Map.of()));
        notifyAll();
        return records.size() - 1;
    }

    @Override
    public BusReader reader(String name, BusReader.Pace pace) {
        return new Reader();
    }

    @Override
    public BusConnection connection() {
        return BusConnection.plain("in-memory:0");
    }

    @Override
    public BusAdmin admin(String clientId, Duration timeout) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Map<String, Integer> topics() {
        throw new UnsupportedOperationException();
    }

    @Override
    public Map<String, Long> endOffsetTotals(Collection<StreamSpec> streams) {
        throw new UnsupportedOperationException();
    }

    @Override
    public GroupProgress consumerGroupProgress(String group) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void ensureTopics(Collection<StreamSpec> streams) {
        throw new UnsupportedOperationException();
    }

    @Override
    public CompletableFuture<Void> publish(String topic, List<Event> events) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void publishIdempotent(String topic, List<Event> events, String idempotencyKey) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Optional<Integer> publishedUnder(String topic, String idempotencyKey) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void close() {}

    private final class Reader implements BusReader {
        private final Map<BusPartition, Long> positions = new HashMap<>();
        private final Set<BusPartition> paused = new HashSet<>();
        private volatile boolean wakeup;

        @Override
        public List<Integer> partitions(String topic, Duration timeout) {
            synchronized (InMemoryBus.this) {
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
            synchronized (InMemoryBus.this) {
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
            synchronized (InMemoryBus.this) {
                wokenUp();
                List<BusRecord> out = read();
                if (out.isEmpty()) {
                    try {
                        InMemoryBus.this.wait(timeout.toMillis());
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
            synchronized (InMemoryBus.this) {
                InMemoryBus.this.notifyAll();
            }
        }

        @Override
        public void close(Duration timeout) {}

        @Override
        public void close() {}
    }
}
