package io.watershed.ingest;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Remembers the outcome of requests that carried an {@code Idempotency-Key}, so a retry of an
 * acknowledged request answers the same without writing again. Keys are scoped per stream, kept
 * for {@code ttl} and at most {@code capacity} of them (oldest evicted first). A per-key lock makes
 * two concurrent requests with the same key run one after the other.
 */
public final class IdempotencyStore {
    private final Duration ttl;
    private final int capacity;
    private final Map<String, Entry> acknowledged;
    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();

    private record Entry(int accepted, long atMillis) {}

    public IdempotencyStore(Duration ttl, int capacity) {
        this.ttl = ttl;
        this.capacity = capacity;
        this.acknowledged = new LinkedHashMap<>(1024, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Entry> eldest) {
                return size() > IdempotencyStore.this.capacity;
            }
        };
    }

    ReentrantLock lock(String stream, String key) {
        return locks.computeIfAbsent(stream + '\u0000' + key, k -> new ReentrantLock());
    }

    void release(String stream, String key, ReentrantLock lock) {
        lock.unlock();
        if (!lock.hasQueuedThreads()) {
            locks.remove(stream + '\u0000' + key, lock);
        }
    }

    synchronized Integer acknowledgedCount(String stream, String key) {
        Entry entry = acknowledged.get(stream + '\u0000' + key);
        if (entry == null || System.currentTimeMillis() - entry.atMillis > ttl.toMillis()) {
            return null;
        }
        return entry.accepted;
    }

    synchronized void remember(String stream, String key, int accepted) {
        acknowledged.put(stream + '\u0000' + key, new Entry(accepted, System.currentTimeMillis()));
    }
}
