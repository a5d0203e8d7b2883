package io.watershed.lake;

import io.micrometer.core.instrument.MeterRegistry;
import io.watershed.spi.EventBus;
import io.watershed.spi.StreamSpec;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one {@link StreamLakeWriter} thread per stream (and one {@link StateTableWriter} for a state table), on the one
 * instance of the project that holds the stream's lease {@code lake:<stream>}; {@link #close()} commits what is buffered,
 * stops them and gives the leases up. An instance that loses a lease abandons the writers without a last commit; their
 * commits are fenced by the table's offsets, so a paused old holder cannot commit past the new one.
 */
public final class RawLakeWriter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RawLakeWriter.class);

    private final IcebergLake lake;
    private final EventBus bus;
    private final Duration commitInterval;
    private final long targetFileSize;
    private final MeterRegistry meters;
    private final Map<String, StreamLakeWriter> writers = new ConcurrentHashMap<>();
    private final Map<String, StateTableWriter> stateWriters = new ConcurrentHashMap<>();
    private final RawTail tail;
    private final io.watershed.spi.Leases leases;
    private final java.util.Set<String> claimed = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;
    /** Per stream, what its writer reports as lag; kept across the writers a lease taken again starts. */
    private final Map<String, java.util.concurrent.atomic.AtomicLong> lags = new ConcurrentHashMap<>();

    /**
     * @param bus what the writers and the fresh tail read (through its {@link EventBus#reader readers})
     * @param leases which instance writes each stream's tables
     */
    public RawLakeWriter(IcebergLake lake, EventBus bus, Duration commitInterval, long targetFileSize, MeterRegistry meters,
            io.watershed.spi.Leases leases) {
        this.leases = leases;
        this.lake = lake;
        this.bus = bus;
        this.commitInterval = commitInterval;
        this.targetFileSize = targetFileSize;
        this.meters = meters;
        this.tail = new RawTail(lake, bus);
    }

    /** The events each raw table's lake writer has not committed yet, for queries that want them. */
    public io.watershed.spi.LakeTail tail() {
        return tail;
    }

    /** The lease of a stream's lake writers. */
    public static String lease(String stream) {
        return "lake:" + stream;
    }

    /** Lands the stream while this instance holds its lease (idempotent). Its topic must exist. */
    public void start(StreamSpec stream) {
        if (!claimed.add(stream.name())) {
            return;
        }
        tail.add(stream); // every instance answers queries with the fresh tail
        leases.claim(lease(stream.name()), new io.watershed.spi.Leases.Work() {
            @Override
            public void acquired(long epoch) {
                startWriters(stream);
            }

            @Override
            public void lost() {
                abandon(stream.name());
            }
        });
    }

    /** Another instance owns the stream's tables now: the writers end without a last commit. */
    private void abandon(String name) {
        StreamLakeWriter writer = writers.remove(name);
        if (writer != null) {
            writer.abandon();
        }
        StateTableWriter state = stateWriters.remove(name);
        if (state != null) {
            state.abandon();
        }
        LOG.warn("Lake writers of '{}' stopped: this instance no longer holds lease '{}'", name, lease(name));
    }

    private void startWriters(StreamSpec stream) {
        if (closed) {
            return; // stopping: the lease is given up right after
        }
        writers.computeIfAbsent(stream.name(), name -> {
            StreamLakeWriter writer = new StreamLakeWriter(stream, lake, bus, commitInterval, targetFileSize, meters,
                    lags.computeIfAbsent(name, n -> new java.util.concurrent.atomic.AtomicLong()));
            Thread thread = new Thread(writer, "lake-writer-" + name);
            thread.setDaemon(false);
            thread.start();
            return writer;
        });
        if (stream.stateTable()) {
            stateWriters.computeIfAbsent(stream.name(), name -> {
                StateTableWriter writer = new StateTableWriter(stream, lake, bus, commitInterval, targetFileSize, meters);
                Thread thread = new Thread(writer, "state-writer-" + name);
                thread.setDaemon(false);
                thread.start();
                return writer;
            });
        }
    }

    /**
     * The sum of the committed offsets of the stream's raw table, or -1 when not known (no writer, not yet started).
     * Unlike {@link #lag()} it needs no progress of the writer to be current: a stalled writer's stays where it stalled.
     */
    public long committedTotal(String stream) {
        StreamLakeWriter writer = writers.get(stream);
        return writer == null ? -1 : writer.committedTotal();
    }

    /** Records per stream that are in the bus but not yet committed to the lake. */
    public Map<String, Long> lag() {
        Map<String, Long> lag = new TreeMap<>();
        writers.forEach((name, writer) -> lag.put(name, writer.lag()));
        return lag;
    }

    @Override
    public void close() {
        closed = true;
        tail.close();
        writers.values().forEach(StreamLakeWriter::requestStop); // all drain at once
        stateWriters.values().forEach(StateTableWriter::requestStop);
        for (Map.Entry<String, StateTableWriter> entry : stateWriters.entrySet()) {
            try {
                if (!entry.getValue().stop(Duration.ofSeconds(60))) {
                    LOG.warn("state.{} did not stop within 60s; its changes are applied again at the next start", entry.getKey());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        stateWriters.clear();
        for (Map.Entry<String, StreamLakeWriter> entry : writers.entrySet()) {
            try {
                if (!entry.getValue().stop(Duration.ofSeconds(60))) {
                    LOG.warn("Lake writer for '{}' did not stop within 60s; its uncommitted records are re-read at the next start",
                            entry.getKey());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        writers.clear();
        claimed.forEach(name -> leases.release(lease(name))); // the other instances take over at once
    }
}
