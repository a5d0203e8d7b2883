package io.watershed.search;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.stream.Stream;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.MultiReader;
import org.apache.lucene.index.SegmentInfos;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.SearcherManager;
import org.apache.lucene.store.AlreadyClosedException;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.IOUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Lucene indexes one stream's search index is made of. A stream with a search retention keeps one index per UTC
 * day of its events' time, each in {@code day-YYYY-MM-DD}: retention drops a day whose every event is past it by
 * deleting the day's directory, so old events leave without a merge rewriting what remains, and a search opens only
 * the days its time range touches (as OpenSearch's daily indices under an index lifecycle policy). A stream without
 * retention keeps one index in the directory itself; an index made there before the stream had a retention stays and
 * is searched (and expired event by event) as one more slice.
 *
 * <p>Every commit writes the same offsets into every slice, and a slice holds each record below its committed offsets
 * that belongs to it (a record's slice follows from its time alone). So indexing resumes at the lowest offsets any
 * slice committed, a record read again replaces itself in its slice, and a crash between two slices' commits, or
 * after a slice was dropped, loses and doubles nothing. A slice created since the last commit has nothing durable and
 * does not count.
 *
 * <p>Thread-safe: the indexer adds, commits and rolls back; searches read; upkeep deletes expired events. Slices are
 * dropped only by {@link #commit}, which the indexer calls when none of its additions is under way.
 */
final class IndexSlices implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(IndexSlices.class);
    static final String DAY_PREFIX = "day-";
    private static final String DROPPED_PREFIX = "dropped-";
    private static final long DAY = 86_400_000L;
    /** The key of the slice in the directory itself. */
    private static final long WHOLE = Long.MIN_VALUE;

    private final Path path;
    private final String stream;
    private final Analyzer analyzer;
    private final boolean daily;
    private final ConcurrentSkipListMap<Long, Slice> slices = new ConcurrentSkipListMap<>();
    /** Events older than this (epoch ms) are expired: not indexed, deleted, and their whole days dropped at the next commit. */
    private volatile long cutoff = Long.MIN_VALUE;

    /** One Lucene index: the events of a day, or of all time. */
    private final class Slice {
        final long start;
        final Path directoryPath;
        Directory directory;
        IndexWriter writer;
        SearcherManager searchers;
        /** The offsets of the slice's last commit; null when it has none. */
        Map<Integer, Long> committed;

        Slice(long start, Path directoryPath) {
            this.start = start;
            this.directoryPath = directoryPath;
            open();
        }

        /** The first millisecond after the slice's events. */
        long end() {
            return start == WHOLE ? Long.MAX_VALUE : start + DAY;
        }

        void open() {
            try {
                Files.createDirectories(directoryPath);
                directory = FSDirectory.open(directoryPath);
                committed = DirectoryReader.indexExists(directory)
                        ? StreamIndex.decode(SegmentInfos.readLatestCommit(directory).getUserData().get(StreamIndex.OFFSETS_KEY)) : null;
                IndexWriterConfig config = new IndexWriterConfig(analyzer).setOpenMode(IndexWriterConfig.OpenMode.CREATE_OR_APPEND)
                        .setCommitOnClose(false) // only commits with offsets count; close() commits them itself
                        // fewer, larger flushed segments than Lucene's 16 MB default, bounded by a sixteenth of the heap
                        .setRAMBufferSizeMB(Math.max(16, Math.min(64, Runtime.getRuntime().maxMemory() / 16 / (1 << 20))));
                writer = new IndexWriter(directory, config);
                searchers = new SearcherManager(writer, null);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot open the search index of stream '" + stream + "' in " + directoryPath, e);
            }
        }

        /** Closes, forgetting what was not committed. */
        void close() {
            try {
                searchers.close();
                writer.rollback();
                directory.close();
            } catch (IOException | RuntimeException e) {
                LOG.debug("Search index of '{}' in {} did not close cleanly: {}", stream, directoryPath, e.toString());
            }
        }
    }

    IndexSlices(Path path, String stream, Analyzer analyzer, boolean daily) {
        this.path = path;
        this.stream = stream;
        this.analyzer = analyzer;
        this.daily = daily;
        open();
    }

    private synchronized void open() {
        try {
            Files.createDirectories(path);
            try (Stream<Path> children = Files.list(path)) {
                for (Path child : children.toList()) {
                    String name = child.getFileName().toString();
                    if (name.startsWith(DROPPED_PREFIX)) {
                        IOUtils.rm(child); // a drop that a crash interrupted
                    } else if (name.startsWith(DAY_PREFIX) && Files.isDirectory(child)) {
                        long start = LocalDate.parse(name.substring(DAY_PREFIX.length())).atStartOfDay(ZoneOffset.UTC).toInstant()
                                .toEpochMilli();
                        slices.put(start, new Slice(start, child));
                    }
                }
            }
            boolean wholeExists;
            try (Directory root = FSDirectory.open(path)) {
                wholeExists = DirectoryReader.indexExists(root);
            }
            if (!daily || wholeExists) {
                slices.put(WHOLE, new Slice(WHOLE, path));
            }
        } catch (IOException | java.time.DateTimeException e) {
            slices.values().forEach(Slice::close);
            slices.clear();
            throw new UncheckedIOException("Cannot open the search index of stream '" + stream + "' in " + path,
                    e instanceof IOException io ? io : new IOException(e));
        }
    }

    /** The writer of the slice an event of this time belongs to; null when the event is past retention already. */
    IndexWriter writer(long time) {
        if (time < cutoff) {
            return null;
        }
        long start = daily ? Math.floorDiv(time, DAY) * DAY : WHOLE;
        Slice slice = slices.get(start);
        if (slice == null) {
            slice = create(start);
        }
        return slice.writer;
    }

    private synchronized Slice create(long start) {
        return slices.computeIfAbsent(start, s -> new Slice(s, path.resolve(DAY_PREFIX
                + LocalDate.ofInstant(Instant.ofEpochMilli(s), ZoneOffset.UTC))));
    }

    /** Per partition, the lowest offset a slice's last commit recorded (where indexing resumes); empty for a new index. */
    synchronized Map<Integer, Long> committed() {
        Map<Integer, Long> lowest = null;
        for (Slice slice : slices.values()) {
            if (slice.committed == null) {
                continue;
            }
            if (lowest == null) {
                lowest = new HashMap<>(slice.committed);
            } else {
                // a partition one slice has no offset for is read from its beginning
                lowest.keySet().retainAll(slice.committed.keySet());
                for (Map.Entry<Integer, Long> e : slice.committed.entrySet()) {
                    lowest.computeIfPresent(e.getKey(), (k, v) -> Math.min(v, e.getValue()));
                }
            }
        }
        return lowest == null ? Map.of() : Map.copyOf(lowest);
    }

    /** Drops the days past retention, then commits every slice with these offsets. */
    synchronized void commit(Map<Integer, Long> next) throws IOException {
        for (Slice slice : List.copyOf(slices.values())) {
            if (slice.end() <= cutoff) {
                drop(slice);
            }
        }
        Map<String, String> data = Map.of(StreamIndex.OFFSETS_KEY, StreamIndex.encode(next));
        for (Slice slice : slices.values()) {
            slice.writer.setLiveCommitData(data.entrySet());
            slice.writer.commit();
            slice.committed = Map.copyOf(next);
            slice.searchers.maybeRefresh();
        }
    }

    /** Deletes the day's directory: renamed first, so a crash never leaves half an index where one is looked for. */
    private void drop(Slice slice) throws IOException {
        slices.remove(slice.start);
        slice.close();
        Path dropped = path.resolve(DROPPED_PREFIX + slice.directoryPath.getFileName());
        Files.move(slice.directoryPath, dropped, StandardCopyOption.ATOMIC_MOVE);
        IOUtils.rm(dropped);
        LOG.info("Search index of '{}': dropped {} (past retention)", stream, slice.directoryPath.getFileName());
    }

    /** Makes what was added searchable. */
    void refresh() throws IOException {
        for (Slice slice : slices.values()) {
            try {
                slice.searchers.maybeRefresh();
            } catch (AlreadyClosedException dropped) {
                // dropped meanwhile
            }
        }
    }

    /** Forgets everything since the last commit: each slice is as that commit left it. */
    synchronized void rollback() {
        slices.values().forEach(Slice::close);
        slices.clear();
        open();
    }

    /**
     * Expires the events older than {@code cutoffMillis}: they are deleted now (the next commit makes it durable, and
     * drops the days wholly past it) and no longer indexed.
     */
    void expire(long cutoffMillis) throws IOException {
        cutoff = Math.max(cutoff, cutoffMillis);
        for (Slice slice : slices.values()) {
            if (slice.start < cutoffMillis) {
                try {
                    slice.writer.deleteDocuments(LongPoint.newRangeQuery(StreamIndex.TIME, Long.MIN_VALUE, cutoffMillis - 1));
                } catch (AlreadyClosedException dropped) {
                    // dropped or reopened meanwhile: the next round deletes again
                }
            }
        }
    }

    /** Whether a commit would change anything: added or deleted events, or a day to drop. */
    boolean changed() {
        for (Slice slice : slices.values()) {
            if (slice.writer.hasUncommittedChanges() || slice.end() <= cutoff) {
                return true;
            }
        }
        return false;
    }

    int count() {
        return slices.size();
    }

    long documents() {
        long total = 0;
        for (Slice slice : slices.values()) {
            total += slice.writer.getDocStats().numDocs;
        }
        return total;
    }

    long bytes() {
        long total = 0;
        for (Slice slice : slices.values()) {
            try {
                for (String file : slice.directory.listAll()) {
                    try {
                        total += Files.isRegularFile(slice.directoryPath.resolve(file)) ? slice.directory.fileLength(file) : 0;
                    } catch (IOException gone) {
                        // merged away meanwhile
                    }
                }
            } catch (IOException | AlreadyClosedException e) {
                // dropped meanwhile
            }
        }
        return total;
    }

    /** A searcher over the slices whose days meet {@code [from, to)}; closing it releases them. */
    Searcher searcher(long from, long to) throws IOException {
        List<SearcherManager> managers = new ArrayList<>();
        List<IndexSearcher> acquired = new ArrayList<>();
        for (Slice slice : slices.values()) {
            if (slice.start >= to || slice.end() <= from) {
                continue;
            }
            try {
                acquired.add(slice.searchers.acquire());
                managers.add(slice.searchers);
            } catch (AlreadyClosedException dropped) {
                // dropped or reopened since the list was read: its events are past retention or read again
            }
        }
        IndexReader[] readers = acquired.stream().map(IndexSearcher::getIndexReader).toArray(IndexReader[]::new);
        return new Searcher(new IndexSearcher(new MultiReader(readers, false)), managers, acquired);
    }

    /** A search's view of the slices. */
    static final class Searcher implements AutoCloseable {
        private final IndexSearcher searcher;
        private final List<SearcherManager> managers;
        private final List<IndexSearcher> acquired;

        private Searcher(IndexSearcher searcher, List<SearcherManager> managers, List<IndexSearcher> acquired) {
            this.searcher = searcher;
            this.managers = managers;
            this.acquired = acquired;
        }

        IndexSearcher get() {
            return searcher;
        }

        @Override
        public void close() {
            for (int i = 0; i < managers.size(); i++) {
                try {
                    managers.get(i).release(acquired.get(i));
                } catch (IOException | AlreadyClosedException e) {
                    // the slice was dropped or reopened meanwhile
                }
            }
        }
    }

    @Override
    public synchronized void close() {
        slices.values().forEach(Slice::close);
        slices.clear();
    }
}
