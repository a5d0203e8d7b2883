package io.watershed.server;

import io.watershed.spi.EventBus;
import io.watershed.spi.StreamSpec;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Events per second of every stream, whatever wrote them (HTTP, Fluentd, Kafka producers, pipelines): the sum of
 * the topic's end offsets, sampled every {@link #INTERVAL}, five minutes kept. A transactional writer's commit
 * markers count as records too (one per partition per commit), so a pipeline-fed stream reads a little high.
 */
final class StreamRates implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StreamRates.class);
    static final Duration INTERVAL = Duration.ofSeconds(2);
    private static final int KEPT = 150; // five minutes
    /** The window the current rate is taken over. */
    private static final int RATE_SAMPLES = 5;

    record Sample(long atMillis, long total) {}

    private final Supplier<List<StreamSpec>> streams;
    /** Asked for end offsets (by its admin client: a consumer warns for every partition it asks about without owning it). */
    private final EventBus bus;
    private final Map<String, Deque<Sample>> samples = new ConcurrentHashMap<>();
    private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "watershed-stream-rates");
        t.setDaemon(true);
        return t;
    });

    StreamRates(EventBus bus, Supplier<List<StreamSpec>> streams) {
        this.streams = streams;
        this.bus = bus;
        executor.scheduleWithFixedDelay(this::sample, 0, INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void sample() {
        try {
            Map<String, String> streamOfTopic = new HashMap<>();
            List<StreamSpec> all = streams.get();
            all.forEach(s -> streamOfTopic.put(s.topic(), s.name()));
            Map<String, Long> ends = bus.endOffsetTotals(all);
            long now = System.currentTimeMillis();
            ends.forEach((topic, total) -> {
                Deque<Sample> d = samples.computeIfAbsent(streamOfTopic.get(topic), k -> new ArrayDeque<>());
                synchronized (d) {
                    d.addLast(new Sample(now, total));
                    while (d.size() > KEPT) {
                        d.removeFirst();
                    }
                }
            });
        } catch (RuntimeException e) {
            LOG.debug("Cannot sample the streams' end offsets: {}", e.toString());
        }
    }

    /** Records per second over the last ten seconds or so; 0 until two samples exist. */
    double perSecond(String stream) {
        List<Sample> s = samples(stream);
        if (s.size() < 2) {
            return 0;
        }
        Sample last = s.get(s.size() - 1);
        Sample first = s.get(Math.max(0, s.size() - 1 - RATE_SAMPLES));
        return rate(first, last);
    }

    /** The stream's records in the bus (its topic's end offsets summed) at the last sample; -1 before the first. */
    long endTotal(String stream) {
        Deque<Sample> d = samples.get(stream);
        if (d == null) {
            return -1;
        }
        synchronized (d) {
            return d.isEmpty() ? -1 : d.peekLast().total();
        }
    }

    /** [epoch millis, records per second] between consecutive samples, oldest first. */
    List<double[]> history(String stream) {
        List<Sample> s = samples(stream);
        List<double[]> out = new ArrayList<>();
        for (int i = 1; i < s.size(); i++) {
            out.add(new double[] {s.get(i).atMillis(), Math.round(rate(s.get(i - 1), s.get(i)) * 10) / 10.0});
        }
        return out;
    }

    private List<Sample> samples(String stream) {
        Deque<Sample> d = samples.get(stream);
        if (d == null) {
            return List.of();
        }
        synchronized (d) {
            return new ArrayList<>(d);
        }
    }

    private static double rate(Sample from, Sample to) {
        long millis = to.atMillis() - from.atMillis();
        return millis <= 0 ? 0 : Math.max(0, to.total() - from.total()) * 1000.0 / millis;
    }

    @Override
    public void close() {
        executor.shutdownNow();
        try {
            executor.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
