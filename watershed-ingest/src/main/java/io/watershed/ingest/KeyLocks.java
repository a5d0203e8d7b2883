package io.watershed.ingest;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/** One lock per (stream, Idempotency-Key): two concurrent requests with the same key run one after the other. */
final class KeyLocks {
    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();

    /** Returns the key's lock, held by the caller. */
    ReentrantLock lock(String stream, String key) {
        while (true) {
            ReentrantLock lock = locks.computeIfAbsent(stream + '\u0000' + key, k -> new ReentrantLock());
            lock.lock();
            if (locks.get(stream + '\u0000' + key) == lock) {
                return lock;
            }
            lock.unlock(); // removed by its last holder while we waited: take the current one
        }
    }

    void release(String stream, String key, ReentrantLock lock) {
        if (!lock.hasQueuedThreads()) {
            locks.remove(stream + '\u0000' + key, lock);
        }
        lock.unlock();
    }
}
