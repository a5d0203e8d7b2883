package io.watershed.ingest.tail;

import io.micrometer.core.instrument.Gauge;
import io.watershed.ingest.Source;
import io.watershed.ingest.SourcePublisher;
import io.watershed.spi.EventBus;
import io.watershed.spi.SourceSpec;
import io.watershed.spi.SourceStatus;
import io.watershed.spi.StreamSpec;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the files of one {@code type: file} source as they grow (Filebeat, Fluentd {@code in_tail}) and publishes
 * their records to the stream, exactly once across restarts and kill -9.
 *
 * <ul>
 *   <li>A file is known by device and inode, so a file renamed by rotation is read to its end (also when the
 *       rename happened while the platform was down: the old inode is looked for beside its last path), and the
 *       new file at the old name is read from its start.</li>
 *   <li>A file that shrinks was truncated (copytruncate): it is read again from 0; its copy, recognised by the
 *       fingerprint of its first bytes, is read from where the original had got to.</li>
 *   <li>Only whole lines are read: a partial last line waits for its line break. With {@code multiline_start},
 *       a record ends where the next one starts, or after {@code multiline_flush} without new lines.</li>
 *   <li>Each batch is published under the id {@code tail:<file generation>:<start offset>} in one Kafka
 *       transaction; the offset is saved after the bus acknowledged. After a crash between the two, the batch
 *       is recognised and its records are not published again.</li>
 *   <li>Only files below a pattern's fixed directory are read, after symlinks are resolved.</li>
 * </ul> *
 * <p>This class follows the files through rotation and truncation and publishes their records; {@link TailPatterns}
 * chooses the files, {@link RecordSplitter} cuts and parses the records, {@link TailOffsets} keeps where each file was
 * read up to, and {@link TrackedFile} is one file's state.
 */
public final class FileTailSource implements Source {
    private static final Logger LOG = LoggerFactory.getLogger(FileTailSource.class);
    static final int FINGERPRINT_BYTES = 1024;
    static final int MIN_FINGERPRINT_FOR_COPY = 64;
    static final int MAX_READ = 4 << 20;
    static final int MAX_BATCH_RECORDS = 5000;
    static final int MAX_BATCH_BYTES = 4 << 20;
    static final Duration CLOSE_INACTIVE = Duration.ofSeconds(5);
    static final Duration SCAN_INTERVAL = Duration.ofSeconds(1);

    private final String name;
    private final StreamSpec stream;
    private final SourceSpec.FileTail spec;
    private final SourcePublisher publisher;
    private final TailOffsets offsets;
    private final Duration poll;
    private final RecordSplitter splitter;
    private final TailPatterns patterns;
    private final Map<TrackedFile.Key, TrackedFile> tracked = new HashMap<>();
    private final Set<Path> warnedOutside = new HashSet<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final Thread thread;
    private volatile boolean running = true;
    private volatile List<SourceStatus.TailedFile> statuses = List.of();
    private volatile String lastError = "";
    private long lastScan;
    private long lastBusWarning;

    public FileTailSource(String name, StreamSpec stream, SourceSpec.FileTail spec, SourcePublisher publisher, Path offsetsDatabase,
            Duration poll) {
        this.name = name;
        this.stream = stream;
        this.spec = spec;
        this.publisher = publisher;
        this.poll = poll;
        this.splitter = new RecordSplitter(spec, new RecordParser(spec, stream.key()));
        this.patterns = new TailPatterns(spec);
        this.offsets = new TailOffsets(offsetsDatabase);
        Gauge.builder("watershed.source.lag.bytes", this, s -> s.lag()).tag("source", name).tag("stream", stream.name())
                .description("Bytes written to a source's files that are not yet published").register(publisher.meters());
        Gauge.builder("watershed.source.files", this, s -> s.statuses.size()).tag("source", name).tag("stream", stream.name())
                .description("Files a file source follows").register(publisher.meters());
        thread = new Thread(this::run, "watershed-tail-" + name);
        thread.setDaemon(true);
    }

    @Override
    public void start() {
        thread.start();
    }

    @Override
    public String name() {
        return name;
    }

    /** The files followed, the bytes written to them not yet published, the last problem (null once a pass succeeded). */
    @Override
    public SourceStatus.FileTail status() {
        return new SourceStatus.FileTail(name, stream.name(), spec.paths(), statuses, lag(), lastError.isEmpty() ? null : lastError);
    }

    private long lag() {
        long lag = 0;
        for (SourceStatus.TailedFile f : statuses) {
            lag += Math.max(0, f.size() - f.offset());
        }
        return lag;
    }

    private void run() {
        try {
            boolean first = true;
            while (running) {
                boolean progressed = false;
                try {
                    if (first || System.nanoTime() - lastScan >= SCAN_INTERVAL.toNanos()) {
                        scan(first);
                        if (first) {
                            recoverRenamed();
                        }
                        first = false;
                        lastScan = System.nanoTime();
                    }
                    for (Iterator<TrackedFile> it = tracked.values().iterator(); it.hasNext() && running;) {
                        TrackedFile t = it.next();
                        progressed |= read(t);
                        if (t.closed) {
                            it.remove();
                        }
                    }
                    lastError = "";
                } catch (WatershedException e) {
                    lastError = e.getMessage();
                    if (System.nanoTime() - lastBusWarning > 60_000_000_000L) {
                        lastBusWarning = System.nanoTime();
                        LOG.warn("File source {}: cannot publish, retrying: {}", name, e.getMessage());
                    }
                    progressed = false;
                } catch (RuntimeException | IOException e) {
                    lastError = e.toString();
                    publisher.error(name, stream.name(), "read_error");
                    LOG.warn("File source {}: {}; retrying", name, e.toString());
                }
                refreshStatuses();
                if (!progressed && running) {
                    stopped.await(poll.toMillis(), TimeUnit.MILLISECONDS);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            for (TrackedFile t : tracked.values()) {
                t.close();
            }
            offsets.close();
        }
    }

    // ---- discovering files

    private void scan(boolean initial) throws IOException {
        Set<TrackedFile.Key> seen = new HashSet<>();
        for (TailPatterns.Match match : patterns.matches()) {
            Path path = match.path();
            Path realBase = match.realBase();
            try {
                Path real = path.toRealPath();
                if (!real.startsWith(realBase)) {
                    if (warnedOutside.add(path)) {
                        publisher.error(name, stream.name(), "outside_paths");
                        LOG.warn("File source {}: not reading {}: it resolves to {}, outside {} (symlinks may not lead out "
                                + "of a source's directories)", name, path, real, realBase);
                    }
                    continue;
                }
                if (!Files.isRegularFile(real)) {
                    continue;
                }
                TrackedFile.Key key = TrackedFile.key(real);
                seen.add(key);
                TrackedFile t = tracked.get(key);
                if (t == null) {
                    t = open(key, path, real, initial);
                    if (t != null) {
                        tracked.put(key, t);
                    }
                } else {
                    t.path = path;
                    t.following = true;
                }
            } catch (NoSuchFileException e) {
                // removed between listing and opening
            }
        }
        for (Map.Entry<TrackedFile.Key, TrackedFile> e : tracked.entrySet()) {
            if (!seen.contains(e.getKey())) {
                e.getValue().following = false; // renamed out of the patterns, or deleted: read to its end, then close
            }
        }
    }

    private TrackedFile open(TrackedFile.Key key, Path path, Path real, boolean initial) throws IOException {
        FileChannel channel;
        try {
            channel = FileChannel.open(real, StandardOpenOption.READ);
        } catch (java.nio.file.AccessDeniedException e) {
            if (warnedOutside.add(path)) {
                publisher.error(name, stream.name(), "unreadable");
                LOG.warn("File source {}: cannot read {}: permission denied", name, path);
            }
            return null;
        }
        long size = channel.size();
        TrackedFile t = new TrackedFile(key, path, channel);
        Optional<TailOffsets.State> stored = offsets.get(name, key.device(), key.inode());
        if (stored.isPresent() && stored.get().offset() <= size
                && stored.get().fingerprint().equals(TrackedFile.fingerprint(channel, stored.get().fingerprintLength()))) {
            TailOffsets.State s = stored.get();
            t.generation = s.generation();
            t.offset = s.offset();
            t.skipToNewline = s.skipToNewline();
            t.fingerprint = s.fingerprint();
            t.fingerprintLength = s.fingerprintLength();
            return t;
        }
        t.generation = UUID.randomUUID().toString();
        if (stored.isPresent() && stored.get().fingerprintLength() >= MIN_FINGERPRINT_FOR_COPY) {
            // read before, but shrunk or rewritten while the platform was down (copytruncate): finish its copy
            TailOffsets.State s = stored.get();
            LOG.info("File source {}: {} changed while stopped (truncated, or copytruncate rotation); reading it from its start",
                    name, path);
            findCopy(path.getParent(), s.fingerprint(), s.fingerprintLength(), s.offset(), s.generation(), key, s.path());
        }
        TrackedFile original = copyOf(t, path.getParent());
        if (original != null) {
            // the same bytes at the same offsets: the same batch ids, so nothing the original published is published again
            t.generation = original.generation;
            t.offset = original.offset;
            LOG.info("File source {}: {} is a copy of {} (copytruncate); reading it from byte {}", name, path, original.path,
                    original.offset);
        } else if (initial && !spec.fromBeginning() && stored.isEmpty()) {
            t.offset = size; // read_from: end — only what is written from now on
        }
        save(t);
        return t;
    }

    /** A tracked file in the same directory whose first bytes this new file repeats, and which it holds all of. */
    private TrackedFile copyOf(TrackedFile candidate, Path directory) throws IOException {
        for (TrackedFile t : tracked.values()) {
            if (t.fingerprintLength >= MIN_FINGERPRINT_FOR_COPY && t.offset > 0 && directory.equals(t.path.getParent())
                    && candidate.channel.size() >= t.offset
                    && t.fingerprint.equals(TrackedFile.fingerprint(candidate.channel, t.fingerprintLength))) {
                return t;
            }
        }
        return null;
    }

    /** After a restart: files renamed while the platform was down are found beside their last path by inode. */
    private void recoverRenamed() throws IOException {
        Map<Path, List<Path>> listings = new HashMap<>();
        for (TailOffsets.State state : offsets.all(name)) {
            TrackedFile.Key key = new TrackedFile.Key(state.device(), state.inode());
            if (tracked.containsKey(key)) {
                continue;
            }
            Path directory = Path.of(state.path()).getParent();
            if (directory == null || !Files.isDirectory(directory) || !patterns.withinBases(directory)) {
                continue;
            }
            List<Path> files = listings.computeIfAbsent(directory, d -> {
                try (var list = Files.list(d)) {
                    return list.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).toList();
                } catch (IOException e) {
                    return List.of();
                }
            });
            for (Path file : files) {
                try {
                    if (TrackedFile.key(file).equals(key)) {
                        TrackedFile t = open(key, file, file, false);
                        if (t != null && t.offset == state.offset()) {
                            t.following = false;
                            tracked.put(key, t);
                            LOG.info("File source {}: {} was renamed to {} while stopped; reading the rest of it from byte {}",
                                    name, state.path(), file, state.offset());
                        } else if (t != null) {
                            t.close();
                        }
                        break;
                    }
                } catch (NoSuchFileException e) {
                    // gone meanwhile
                }
            }
        }
    }

    // ---- reading

    private boolean read(TrackedFile t) throws IOException {
        long size = t.channel.size();
        long now = System.nanoTime();
        if (size != t.lastSize) {
            t.lastSize = size;
            t.lastChange = now;
        }
        if (size < t.offset || (t.fingerprintLength > 0 && size >= t.fingerprintLength
                && !t.fingerprint.equals(TrackedFile.fingerprint(t.channel, t.fingerprintLength)))) {
            truncated(t, size);
            return true;
        }
        if (size == t.offset) {
            if (!t.following && now - t.lastChange > CLOSE_INACTIVE.toNanos()) {
                t.close();
                if (!Files.exists(t.path) || !TrackedFile.key(t.path.toRealPath()).equals(t.key)) {
                    offsets.remove(name, t.key.device(), t.key.inode());
                }
            }
            return false;
        }
        int length = (int) Math.min(size - t.offset, MAX_READ);
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (t.channel.read(buffer, t.offset + buffer.position()) < 0) {
                break;
            }
        }
        byte[] bytes = java.util.Arrays.copyOf(buffer.array(), buffer.position());
        boolean atEnd = t.offset + bytes.length >= size;
        boolean idle = now - t.lastChange >= spec.multilineFlush().toNanos();
        List<RecordSplitter.Piece> records = splitter.split(t, bytes, atEnd && idle);
        if (records.isEmpty()) {
            return false;
        }
        publish(t, records);
        return true;
    }

    private void publish(TrackedFile t, List<RecordSplitter.Piece> pieces) {
        int i = 0;
        while (i < pieces.size() && running) {
            List<RecordSplitter.Piece> batch = new ArrayList<>();
            long bytes = 0;
            while (i < pieces.size() && batch.size() < MAX_BATCH_RECORDS && bytes < MAX_BATCH_BYTES) {
                RecordSplitter.Piece p = pieces.get(i++);
                batch.add(p);
                bytes += p.end() - p.start();
            }
            List<EventBus.Event> events = new ArrayList<>(batch.size());
            for (RecordSplitter.Piece p : batch) {
                if (p.event() != null) {
                    events.add(p.event());
                }
            }
            long start = batch.get(0).start();
            int published = events.isEmpty() ? 0
                    : publisher.publish(name, stream, events, "tail:" + t.generation + ":" + start);
            // a batch published before a crash may have held fewer records than this one: continue after those
            int taken = events.isEmpty() ? batch.size() : piecesFor(batch, published);
            RecordSplitter.Piece last = batch.get(taken - 1);
            t.offset = last.end();
            t.skipToNewline = t.pendingSkip && i >= pieces.size() && taken == batch.size();
            if (taken < batch.size()) {
                t.pendingSkip = false;
                save(t);
                return; // read again from there
            }
        }
        t.pendingSkip = false;
        save(t);
    }

    /** How many pieces of the batch the first {@code events} events cover (pieces without an event included). */
    private static int piecesFor(List<RecordSplitter.Piece> batch, int events) {
        int seen = 0;
        for (int i = 0; i < batch.size(); i++) {
            if (batch.get(i).event() != null && ++seen == events) {
                return i + 1;
            }
        }
        return batch.size();
    }

    private void truncated(TrackedFile t, long size) throws IOException {
        LOG.info("File source {}: {} shrank from {} to {} bytes (truncated, or copytruncate rotation); reading it again from "
                + "its start", name, t.path, t.offset, size);
        if (t.fingerprintLength >= MIN_FINGERPRINT_FOR_COPY) {
            findCopy(t.path.getParent(), t.fingerprint, t.fingerprintLength, t.offset, t.generation, t.key, t.path.toString());
        }
        t.generation = UUID.randomUUID().toString();
        t.offset = 0;
        t.skipToNewline = false;
        t.fingerprint = "";
        t.fingerprintLength = 0;
        save(t);
    }

    private final List<TrackedFile> pendingAdds = new ArrayList<>();

    /**
     * The copy a copytruncate rotation made of a file read up to {@code offset}: a file beside it that starts with the
     * same bytes and holds at least that many. It is read from there to its end under the original's generation, so
     * batches the original published are recognised.
     */
    private void findCopy(Path directory, String fingerprint, int fingerprintLength, long offset, String generation, TrackedFile.Key original,
            String originalPath) throws IOException {
        if (directory == null || !Files.isDirectory(directory)) {
            return;
        }
        List<Path> candidates;
        try (var list = Files.list(directory)) {
            candidates = list.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) && !patterns.excluded(p)).toList();
        }
        for (Path candidate : candidates) {
            TrackedFile.Key key;
            try {
                key = TrackedFile.key(candidate);
            } catch (NoSuchFileException e) {
                continue;
            }
            if (key.equals(original) || tracked.containsKey(key)) {
                continue;
            }
            FileChannel channel = FileChannel.open(candidate, StandardOpenOption.READ);
            if (channel.size() < offset || !fingerprint.equals(TrackedFile.fingerprint(channel, fingerprintLength))) {
                channel.close();
                continue;
            }
            TrackedFile copy = new TrackedFile(key, candidate, channel);
            copy.generation = generation;
            copy.offset = offset;
            copy.following = false;
            save(copy);
            pendingAdds.add(copy);
            LOG.info("File source {}: reading the rest of {} from its copy {} from byte {}", name, originalPath, candidate, offset);
            return;
        }
    }

    private void save(TrackedFile t) {
        try {
            int length = (int) Math.min(FINGERPRINT_BYTES, Math.min(t.offset, t.channel.size()));
            if (length > t.fingerprintLength) {
                t.fingerprint = TrackedFile.fingerprint(t.channel, length);
                t.fingerprintLength = length;
            }
        } catch (IOException e) {
            // keep the old fingerprint
        }
        offsets.put(new TailOffsets.State(name, t.key.device(), t.key.inode(), t.generation, t.path.toString(), t.offset,
                t.fingerprint, t.fingerprintLength, t.skipToNewline));
    }

    private void refreshStatuses() {
        if (!pendingAdds.isEmpty()) {
            for (TrackedFile t : pendingAdds) {
                if (tracked.putIfAbsent(t.key, t) != null) {
                    t.close();
                }
            }
            pendingAdds.clear();
        }
        List<SourceStatus.TailedFile> now = new ArrayList<>();
        for (TrackedFile t : tracked.values()) {
            now.add(new SourceStatus.TailedFile(t.path.toString(), t.offset, t.lastSize, t.following));
        }
        statuses = List.copyOf(now);
    }

    @Override
    public void close() {
        running = false;
        stopped.countDown();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!thread.isAlive() && thread.getState() == Thread.State.NEW) {
            offsets.close();
        }
    }

}
