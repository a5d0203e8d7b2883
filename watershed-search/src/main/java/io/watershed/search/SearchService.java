package io.watershed.search;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.EventBus;
import io.watershed.spi.StreamSpec;
import io.watershed.spi.WatershedException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The search indexes of the streams that ask for one ({@code search:}), each in {@code <directory>/<stream>} with an
 * indexer thread reading the bus. Every instance of a project keeps its own indexes in its own data directory (no
 * lease): each answers searches from its local copy, which is as complete as the bus. Upkeep expires the events past a
 * stream's search retention every minute: they are deleted at once, and each day wholly past it is dropped whole at
 * the indexer's next commit (an index with a retention keeps one Lucene index per day of events, see {@link IndexSlices}).
 */
public final class SearchService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SearchService.class);

    private final Path directory;
    private final EventBus bus;
    private final Duration commitInterval;
    private final MeterRegistry meters;
    private final Clock clock;
    private final Map<String, Indexed> indexes = new ConcurrentHashMap<>();
    private final ScheduledExecutorService upkeep = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "search-upkeep");
        t.setDaemon(true);
        return t;
    });
    private volatile boolean closed;

    private record Indexed(StreamIndex index, StreamIndexer indexer, Thread thread) {}

    /** What {@link #stats} tells of one index. */
    public record Stats(String stream, long documents, long bytes, long lag, long failures, int slices) {}

    public SearchService(Path directory, EventBus bus, Duration commitInterval, MeterRegistry meters, Clock clock) {
        this.directory = directory;
        this.bus = bus;
        this.commitInterval = commitInterval;
        this.meters = meters;
        this.clock = clock;
        upkeep.scheduleWithFixedDelay(this::expire, 1, 1, TimeUnit.MINUTES);
    }

    /** Starts indexing the stream if it asks for a search index and is not indexed yet; its topic must exist. */
    public synchronized void start(StreamSpec stream) {
        if (closed || stream.search().isEmpty() || indexes.containsKey(stream.name())) {
            return;
        }
        StreamIndex index = new StreamIndex(directory.resolve(stream.name()), stream);
        StreamIndexer indexer = new StreamIndexer(index, bus, commitInterval);
        Thread thread = new Thread(indexer, "search-indexer-" + stream.name());
        // a daemon: an indexer that does not stop in time must not keep the JVM alive (it resumes from its last commit)
        thread.setDaemon(true);
        Indexed indexed = new Indexed(index, indexer, thread);
        indexes.put(stream.name(), indexed);
        expire(indexed); // before the indexer reads: what is past retention is not indexed again after a restart
        String name = stream.name();
        Gauge.builder("watershed.search.lag", indexer, StreamIndexer::lag).tag("stream", name)
                .description("Records in the bus the stream's search index has not committed yet (-1 until known)").register(meters);
        Gauge.builder("watershed.search.index.bytes", index, StreamIndex::bytes).tag("stream", name)
                .description("Size of the stream's search index on disk").register(meters);
        Gauge.builder("watershed.search.documents", index, StreamIndex::documents).tag("stream", name)
                .description("Events in the stream's search index").register(meters);
        thread.start();
        LOG.info("Search index of stream '{}' in {}: text {}, keywords {}", name, directory.resolve(name),
                stream.search().get().text(), stream.search().get().keywords());
    }

    /** Whether the stream has a search index here. */
    public boolean indexes(String stream) {
        return indexes.containsKey(stream);
    }

    /** The stream's index, or UNKNOWN_STREAM with a hint when it has none. */
    private StreamIndex index(String stream) {
        Indexed indexed = indexes.get(stream);
        if (indexed == null) {
            throw new WatershedException(ErrorCode.UNKNOWN_STREAM, "Cannot search stream '" + stream + "': it has no search index; "
                    + "add search: {text: [...], keywords: [...]} to streams/" + stream + ".yaml");
        }
        return indexed.index();
    }

    public StreamSpec stream(String stream) {
        return index(stream).stream();
    }

    public SearchResult search(String stream, SearchRequest request) {
        return index(stream).search(request);
    }

    /** Per indexed stream: documents, bytes on disk, lag and failures. */
    public Map<String, Stats> stats() {
        Map<String, Stats> out = new TreeMap<>();
        indexes.forEach((name, i) -> out.put(name, new Stats(name, i.index().documents(), i.index().bytes(), i.indexer().lag(),
                i.indexer().failures(), i.index().slices())));
        return out;
    }

    public Optional<Stats> stats(String stream) {
        return Optional.ofNullable(stats().get(stream));
    }

    /** Deletes, in every index with a retention, the events older than it; the indexer's next commit makes it durable. */
    void expire() {
        indexes.values().forEach(this::expire);
    }

    private void expire(Indexed i) {
        i.index().stream().search().flatMap(s -> s.retention()).ifPresent(retention -> {
            try {
                i.index().expire(clock.millis() - retention.toMillis());
            } catch (RuntimeException e) {
                LOG.warn("Cannot expire old events of the search index of '{}': {}", i.index().stream().name(), e.toString());
            }
        });
    }

    /** Stops the indexers (each commits what it read), then closes the indexes. */
    @Override
    public synchronized void close() {
        closed = true;
        upkeep.shutdownNow();
        boolean interrupted = false;
        for (Map.Entry<String, Indexed> entry : indexes.entrySet()) {
            try {
                // asked to hurry (interrupted): each indexer is still told to stop, but not waited for long
                if (!entry.getValue().indexer().stop(interrupted ? Duration.ZERO : Duration.ofSeconds(30))) {
                    LOG.warn("Search indexer of '{}' did not stop in time; it resumes from its last commit", entry.getKey());
                }
            } catch (InterruptedException e) {
                interrupted = true; // close the other indexes all the same
            }
            try {
                entry.getValue().index().close();
            } catch (RuntimeException e) {
                LOG.warn("Cannot close the search index of '{}': {}", entry.getKey(), e.toString());
            }
        }
        indexes.clear();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
