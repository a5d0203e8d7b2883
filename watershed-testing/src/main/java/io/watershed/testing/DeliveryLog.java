package io.watershed.testing;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What a load generator was told about each event it sent: acknowledged (200), rejected (a definite refusal: 4xx, 503,
 * 429) or indeterminate (no answer: the connection broke, the request timed out). Events are named by
 * (producer, sequence); sequences of one producer increase in the order it sent them.
 */
public final class DeliveryLog {
    public enum Fate { ACKNOWLEDGED, REJECTED, INDETERMINATE }

    private final Map<String, Map<Long, Fate>> fates = new ConcurrentHashMap<>();
    private final Map<Fate, AtomicLong> counts = new ConcurrentHashMap<>();

    public DeliveryLog() {
        for (Fate f : Fate.values()) {
            counts.put(f, new AtomicLong());
        }
    }

    /** Records the fate of {@code count} events of {@code producer} from sequence {@code first} on. */
    public void record(String producer, long first, int count, Fate fate) {
        Map<Long, Fate> byProducer = fates.computeIfAbsent(producer, p -> new ConcurrentHashMap<>());
        for (long seq = first; seq < first + count; seq++) {
            Fate before = byProducer.put(seq, fate);
            if (before != null) {
                counts.get(before).decrementAndGet();
            }
        }
        counts.get(fate).addAndGet(count);
    }

    /** Waits until {@code more} events beyond those counted now have met {@code fate} (the load keeps running meanwhile). */
    public void awaitMore(Fate fate, long more, java.time.Duration timeout) {
        long before = count(fate);
        Await.until(more + " more events " + fate.name().toLowerCase(java.util.Locale.ROOT), timeout, () -> count(fate) >= before + more);
    }

    public long count(Fate fate) {
        return counts.get(fate).get();
    }

    /** The fate of one event, or null when it was never sent. */
    public Fate fate(String producer, long seq) {
        Map<Long, Fate> byProducer = fates.get(producer);
        return byProducer == null ? null : byProducer.get(seq);
    }

    Map<String, Map<Long, Fate>> all() {
        return fates;
    }
}
