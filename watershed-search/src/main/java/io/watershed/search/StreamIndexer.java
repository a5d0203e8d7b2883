package io.watershed.search;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.watershed.spi.BusPartition;
import io.watershed.spi.BusReader;
import io.watershed.spi.BusRecord;
import io.watershed.spi.BusRecordKind;
import io.watershed.spi.EventBus;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Feeds one stream's index from its topic, as the lake writer feeds its raw table: from the offsets of the index's last
 * commit, reading committed records only, committing every interval with the offsets it has read to. Dead letters,
 * no-ops and records that are not JSON objects are read past and not indexed (the lake's dead-letter table holds them).
 * A large polled batch is indexed by several threads at once. After a failure it forgets what it had not committed and
 * starts again from the last commit 5 s later; a stop commits what was read.
 */
final class StreamIndexer implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(StreamIndexer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final Duration RESTART_DELAY = Duration.ofSeconds(5);
    /**
     * How soon an event read is searchable, as OpenSearch's default refresh interval: each refresh writes a small segment
     * that merges cost later, so refreshing more often slows indexing (with a refresh each 200 ms and a commit each second
     * it ran at 0.82x OpenSearch's rate; with 1 s and 5 s, 0.88x, before indexing took several threads).
     */
    static final Duration REFRESH_INTERVAL = Duration.ofSeconds(1);

    private final StreamIndex index;
    private final EventBus bus;
    private final Duration commitInterval;
    /** Threads that parse and index a large polled batch together: the machine's cores, up to 4. */
    static final int THREADS = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
    private static final int MIN_CHUNK = 64;
    private java.util.concurrent.ExecutorService workers;
    private final AtomicLong lag = new AtomicLong(-1);
    private final AtomicLong failures = new AtomicLong();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean running = true;
    private volatile BusReader reader;

    StreamIndexer(StreamIndex index, EventBus bus, Duration commitInterval) {
        this.index = index;
        this.bus = bus;
        this.commitInterval = commitInterval;
    }

    /** Records in the bus the index has not committed; -1 until known. */
    long lag() {
        return lag.get();
    }

    long failures() {
        return failures.get();
    }

    @Override
    public void run() {
        try {
            while (running) {
                try {
                    runOnce();
                } catch (BusReader.WokenUp e) {
                    // stop() gave up waiting
                } catch (RuntimeException e) {
                    if (!running) {
                        break;
                    }
                    failures.incrementAndGet();
                    LOG.error("Search indexer of stream '{}' failed; it starts again from its last commit in {} s",
                            index.stream().name(), RESTART_DELAY.toSeconds(), e);
                    try {
                        index.rollback();
                    } catch (RuntimeException reopen) {
                        // the index cannot be opened again now (disk, lock): the next round tries again
                        LOG.error("Search index of stream '{}' cannot be reopened: {}", index.stream().name(), reopen.toString());
                    }
                    sleep(RESTART_DELAY);
                }
            }
        } finally {
            synchronized (this) {
                if (workers != null) {
                    workers.shutdownNow();
                }
            }
            stopped.countDown();
        }
    }

    private void runOnce() {
        String topic = index.stream().topic();
        try (BusReader r = bus.reader("watershed-search-" + index.stream().name(), BusReader.Pace.BULK)) {
            reader = r;
            Map<BusPartition, Long> start = new LinkedHashMap<>();
            for (int partition : r.partitions(topic, Duration.ofSeconds(30))) {
                start.put(new BusPartition(topic, partition), 0L);
            }
            r.assign(start.keySet());
            Map<BusPartition, Long> beginnings = r.beginningOffsets(start.keySet());
            Map<Integer, Long> committed = index.committedOffsets();
            Map<Integer, Long> next = new HashMap<>();
            for (BusPartition tp : start.keySet()) {
                long from = Math.max(committed.getOrDefault(tp.partition(), 0L), beginnings.getOrDefault(tp, 0L));
                r.seek(tp, from);
                next.put(tp.partition(), from);
            }
            LOG.info("Search indexer of '{}' resumes at offsets {}", index.stream().name(), next);
            long lastCommit = System.nanoTime();
            long lastRefresh = System.nanoTime();
            try {
                while (running) {
                    indexAll(r.poll(Duration.ofMillis(200)));
                    if (System.nanoTime() - lastCommit >= commitInterval.toNanos()) {
                        commit(r, next);
                        lastCommit = System.nanoTime();
                        lastRefresh = lastCommit;
                    } else if (System.nanoTime() - lastRefresh >= REFRESH_INTERVAL.toNanos()) {
                        index.refresh(); // searchable before it is committed
                        lastRefresh = System.nanoTime();
                    }
                }
            } catch (BusReader.WokenUp e) {
                // stopping: commit what was read
            }
            commit(r, next);
        } finally {
            reader = null;
        }
    }

    /**
     * Indexes a polled batch, split over {@link #THREADS} threads when it is large enough (Lucene's writer takes documents
     * from several threads at once); returns once all of it is in the writer, so a commit after it covers the batch.
     */
    private void indexAll(List<BusRecord> records) {
        if (THREADS == 1 || records.size() < 2 * MIN_CHUNK) {
            records.forEach(this::index);
            return;
        }
        int chunks = Math.min(THREADS, records.size() / MIN_CHUNK);
        int size = (records.size() + chunks - 1) / chunks;
        List<java.util.concurrent.Future<?>> others = new java.util.ArrayList<>();
        for (int from = size; from < records.size(); from += size) {
            List<BusRecord> chunk = records.subList(from, Math.min(records.size(), from + size));
            others.add(workers().submit(() -> chunk.forEach(this::index)));
        }
        RuntimeException failed = null;
        try {
            records.subList(0, size).forEach(this::index);
        } catch (RuntimeException e) {
            failed = e;
        }
        // every chunk ends before this returns or throws: none may add to the index after a rollback reopened it
        boolean interrupted = false;
        for (java.util.concurrent.Future<?> other : others) {
            while (true) {
                try {
                    other.get();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (java.util.concurrent.ExecutionException e) {
                    RuntimeException cause = e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
                    if (failed == null) {
                        failed = cause;
                    } else {
                        failed.addSuppressed(cause);
                    }
                    break;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failed != null) {
            throw failed;
        }
    }

    private synchronized java.util.concurrent.ExecutorService workers() {
        if (workers == null) {
            java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
            workers = java.util.concurrent.Executors.newFixedThreadPool(THREADS - 1, task -> {
                Thread t = new Thread(task, "search-indexer-" + index.stream().name() + "-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
        }
        return workers;
    }

    private void index(BusRecord record) {
        if (record.kind() != BusRecordKind.EVENT) {
            return; // no-ops complete transactions; dead letters and empty records go to the lake's dead-letter table
        }
        JsonNode node;
        try {
            node = JSON.readTree(record.value());
        } catch (java.io.IOException e) {
            return; // not JSON: the lake dead-letters it
        }
        if (node instanceof ObjectNode event) {
            index.add(record, event);
        }
    }

    private void commit(BusReader r, Map<Integer, Long> next) {
        for (BusPartition tp : r.assignment()) {
            next.put(tp.partition(), r.position(tp)); // past transaction markers too
        }
        if (!next.equals(index.committedOffsets()) || index.changed()) {
            io.watershed.spi.CrashPoints.reach(io.watershed.spi.CrashPoints.SEARCH_BEFORE_COMMIT);
            index.commit(next);
        }
        try {
            long total = 0;
            for (Map.Entry<BusPartition, Long> end : r.endOffsets(r.assignment(), Duration.ofSeconds(5)).entrySet()) {
                total += Math.max(0, end.getValue() - next.getOrDefault(end.getKey().partition(), 0L));
            }
            lag.set(total);
        } catch (RuntimeException e) {
            LOG.debug("Cannot read the end offsets of {}", index.stream().topic(), e);
        }
    }

    /** Asks the indexer to stop and waits up to {@code timeout} for its last commit; false when it did not end in time. */
    boolean stop(Duration timeout) throws InterruptedException {
        running = false;
        if (stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            return true;
        }
        BusReader r = reader;
        if (r != null) {
            r.wakeup();
        }
        return stopped.await(5, TimeUnit.SECONDS);
    }

    private void sleep(Duration duration) {
        long deadline = System.nanoTime() + duration.toNanos();
        while (running && System.nanoTime() < deadline) {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
