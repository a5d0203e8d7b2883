package io.watershed.ingest.tail;

import io.micrometer.core.instrument.Gauge;
import io.watershed.ingest.SourcePublisher;
import io.watershed.spi.EventBus;
import io.watershed.spi.SourceSpec;
import io.watershed.spi.StreamSpec;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
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
 * </ul>
 */
public final class FileTailSource implements AutoCloseable {
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
    private final RecordParser parser;
    private final Pattern multilineStart;
    private final List<Glob> globs = new ArrayList<>();
    private final List<PathMatcher> excludes = new ArrayList<>();
    private final Map<FileKey, Tracked> tracked = new HashMap<>();
    private final Set<Path> warnedOutside = new HashSet<>();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final Thread thread;
    private volatile boolean running = true;
    private volatile List<FileStatus> statuses = List.of();
    private volatile String lastError = "";
    private long lastScan;
    private long lastBusWarning;

    /** One tailed file as the API shows it. */
    public record FileStatus(String path, long offset, long size, boolean following) {}

    /** The source as the API shows it: its files, bytes not yet read, the last problem. */
    public record Status(String name, String stream, List<String> paths, List<FileStatus> files, long lagBytes, String lastError) {}

    private record FileKey(long device, long inode) {}

    private record Glob(String pattern, Path base, PathMatcher matcher, int depth) {}

    public FileTailSource(String name, StreamSpec stream, SourceSpec.FileTail spec, SourcePublisher publisher, Path offsetsDatabase,
            Duration poll) {
        this.name = name;
        this.stream = stream;
        this.spec = spec;
        this.publisher = publisher;
        this.poll = poll;
        this.parser = new RecordParser(spec, stream.key());
        this.multilineStart = spec.multilineStart().map(Pattern::compile).orElse(null);
        for (String pattern : spec.paths()) {
            globs.add(glob(pattern));
        }
        for (String pattern : spec.exclude()) {
            excludes.add(FileSystems.getDefault().getPathMatcher("glob:" + pattern));
        }
        this.offsets = new TailOffsets(offsetsDatabase);
        Gauge.builder("watershed.source.lag.bytes", this, s -> s.lag()).tag("source", name).tag("stream", stream.name())
                .description("Bytes written to a source's files that are not yet published").register(publisher.meters());
        Gauge.builder("watershed.source.files", this, s -> s.statuses.size()).tag("source", name).tag("stream", stream.name())
                .description("Files a file source follows").register(publisher.meters());
        thread = new Thread(this::run, "watershed-tail-" + name);
        thread.setDaemon(true);
    }

    public FileTailSource start() {
        thread.start();
        return this;
    }

    public String name() {
        return name;
    }

    public Status status() {
        return new Status(name, stream.name(), spec.paths(), statuses, lag(), lastError);
    }

    private long lag() {
        long lag = 0;
        for (FileStatus f : statuses) {
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
                    for (Iterator<Tracked> it = tracked.values().iterator(); it.hasNext() && running;) {
                        Tracked t = it.next();
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
            for (Tracked t : tracked.values()) {
                t.close();
            }
            offsets.close();
        }
    }

    // ---- discovering files

    private void scan(boolean initial) throws IOException {
        Set<FileKey> seen = new HashSet<>();
        for (Glob glob : globs) {
            if (!Files.isDirectory(glob.base)) {
                continue;
            }
            Path realBase = glob.base.toRealPath();
            List<Path> matches = new ArrayList<>();
            Files.walkFileTree(glob.base, Set.of(), glob.depth, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    if (glob.matcher.matches(file) && !excluded(file)) {
                        matches.add(file);
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) {
                    return FileVisitResult.CONTINUE; // vanished or unreadable meanwhile
                }
            });
            for (Path path : matches) {
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
                    FileKey key = key(real);
                    seen.add(key);
                    Tracked t = tracked.get(key);
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
        }
        for (Map.Entry<FileKey, Tracked> e : tracked.entrySet()) {
            if (!seen.contains(e.getKey())) {
                e.getValue().following = false; // renamed out of the patterns, or deleted: read to its end, then close
            }
        }
    }

    private Tracked open(FileKey key, Path path, Path real, boolean initial) throws IOException {
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
        Tracked t = new Tracked(key, path, channel);
        Optional<TailOffsets.State> stored = offsets.get(name, key.device(), key.inode());
        if (stored.isPresent() && stored.get().offset() <= size
                && stored.get().fingerprint().equals(fingerprint(channel, stored.get().fingerprintLength()))) {
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
        Tracked original = copyOf(t, path.getParent());
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
    private Tracked copyOf(Tracked candidate, Path directory) throws IOException {
        for (Tracked t : tracked.values()) {
            if (t.fingerprintLength >= MIN_FINGERPRINT_FOR_COPY && t.offset > 0 && directory.equals(t.path.getParent())
                    && candidate.channel.size() >= t.offset
                    && t.fingerprint.equals(fingerprint(candidate.channel, t.fingerprintLength))) {
                return t;
            }
        }
        return null;
    }

    /** After a restart: files renamed while the platform was down are found beside their last path by inode. */
    private void recoverRenamed() throws IOException {
        Map<Path, List<Path>> listings = new HashMap<>();
        for (TailOffsets.State state : offsets.all(name)) {
            FileKey key = new FileKey(state.device(), state.inode());
            if (tracked.containsKey(key)) {
                continue;
            }
            Path directory = Path.of(state.path()).getParent();
            if (directory == null || !Files.isDirectory(directory) || !withinBases(directory)) {
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
                    if (key(file).equals(key)) {
                        Tracked t = open(key, file, file, false);
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

    private boolean withinBases(Path directory) throws IOException {
        Path real = directory.toRealPath();
        for (Glob glob : globs) {
            if (Files.isDirectory(glob.base) && real.startsWith(glob.base.toRealPath())) {
                return true;
            }
        }
        return false;
    }

    // ---- reading

    private boolean read(Tracked t) throws IOException {
        long size = t.channel.size();
        long now = System.nanoTime();
        if (size != t.lastSize) {
            t.lastSize = size;
            t.lastChange = now;
        }
        if (size < t.offset || (t.fingerprintLength > 0 && size >= t.fingerprintLength
                && !t.fingerprint.equals(fingerprint(t.channel, t.fingerprintLength)))) {
            truncated(t, size);
            return true;
        }
        if (size == t.offset) {
            if (!t.following && now - t.lastChange > CLOSE_INACTIVE.toNanos()) {
                t.close();
                if (!Files.exists(t.path) || !key(t.path.toRealPath()).equals(t.key)) {
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
        List<Piece> records = split(t, bytes, atEnd && idle);
        if (records.isEmpty()) {
            return false;
        }
        publish(t, records);
        return true;
    }

    /** A record ready to publish, or input to skip ({@code event} null): its bytes end at {@code end}. */
    private record Piece(long start, long end, EventBus.Event event) {}

    /**
     * Complete records from {@code bytes} (which start at the file's offset). Lines are cut at {@code \n} (a {@code \r}
     * before it is dropped); with multiline, a record ends where the next starts, or at a flush.
     */
    private List<Piece> split(Tracked t, byte[] bytes, boolean flush) {
        List<Piece> pieces = new ArrayList<>();
        long base = t.offset;
        int position = 0;
        if (t.skipToNewline) {
            int newline = indexOf(bytes, 0);
            if (newline < 0) {
                pieces.add(new Piece(base, base + bytes.length, null));
                t.pendingSkip = true;
                return pieces;
            }
            pieces.add(new Piece(base, base + newline + 1, null)); // the rest of an over-long record already dead-lettered
            position = newline + 1;
        }
        int recordStart = -1;
        int recordEnd = -1; // end of the record's last line, without its line break
        while (position < bytes.length) {
            int newline = indexOf(bytes, position);
            if (newline < 0) {
                break;
            }
            int lineEnd = newline > position && bytes[newline - 1] == '\r' ? newline - 1 : newline;
            if (multilineStart == null) {
                pieces.add(record(t, bytes, base, position, lineEnd, newline + 1));
            } else {
                boolean starts = multilineStart.matcher(new String(bytes, position, lineEnd - position,
                        java.nio.charset.StandardCharsets.UTF_8)).find();
                if (recordStart >= 0 && starts) {
                    pieces.add(record(t, bytes, base, recordStart, recordEnd, position));
                    recordStart = -1;
                }
                if (recordStart < 0) {
                    recordStart = position;
                }
                recordEnd = lineEnd;
                if (recordEnd - recordStart > spec.maxRecordBytes()) {
                    pieces.add(record(t, bytes, base, recordStart, recordEnd, newline + 1));
                    recordStart = -1;
                }
            }
            position = newline + 1;
        }
        if (recordStart >= 0 && flush) {
            // no new lines for multiline_flush: the record is complete (a partial line after it stays back)
            pieces.add(record(t, bytes, base, recordStart, recordEnd, position));
        }
        int pending = recordStart >= 0 ? position - recordStart + (bytes.length - position) : bytes.length - position;
        if (pending > spec.maxRecordBytes() + 2) {
            // a line that does not end: keep what fits in the dead-letter table and skip to its end
            int from = recordStart >= 0 ? recordStart : position;
            pieces.add(new Piece(base + from, base + bytes.length, EventBus.Event.deadLetter(
                    java.util.Arrays.copyOfRange(bytes, from, from + spec.maxRecordBytes()), where(t, base + from)
                            + ": the record is over max_record_size (" + spec.maxRecordBytes() + " bytes); its first "
                            + spec.maxRecordBytes() + " bytes are kept here", System.currentTimeMillis())));
            t.pendingSkip = true;
        }
        return pieces;
    }

    private Piece record(Tracked t, byte[] bytes, long base, int from, int to, int next) {
        long acceptedAt = System.currentTimeMillis();
        if (to - from > spec.maxRecordBytes()) {
            return new Piece(base + from, base + next, EventBus.Event.deadLetter(
                    java.util.Arrays.copyOfRange(bytes, from, from + spec.maxRecordBytes()), where(t, base + from)
                            + ": the record has " + (to - from) + " bytes, over max_record_size (" + spec.maxRecordBytes()
                            + "); its first " + spec.maxRecordBytes() + " bytes are kept here", acceptedAt));
        }
        byte[] record = java.util.Arrays.copyOfRange(bytes, from, to);
        return new Piece(base + from, base + next, parser.parse(record, t.path.toString(), where(t, base + from), acceptedAt));
    }

    private static String where(Tracked t, long offset) {
        return t.path + " at byte " + offset;
    }

    private void publish(Tracked t, List<Piece> pieces) {
        int i = 0;
        while (i < pieces.size() && running) {
            List<Piece> batch = new ArrayList<>();
            long bytes = 0;
            while (i < pieces.size() && batch.size() < MAX_BATCH_RECORDS && bytes < MAX_BATCH_BYTES) {
                Piece p = pieces.get(i++);
                batch.add(p);
                bytes += p.end - p.start;
            }
            List<EventBus.Event> events = new ArrayList<>(batch.size());
            for (Piece p : batch) {
                if (p.event != null) {
                    events.add(p.event);
                }
            }
            long start = batch.get(0).start;
            int published = events.isEmpty() ? 0
                    : publisher.publish(name, stream, events, "tail:" + t.generation + ":" + start);
            // a batch published before a crash may have held fewer records than this one: continue after those
            int taken = events.isEmpty() ? batch.size() : piecesFor(batch, published);
            Piece last = batch.get(taken - 1);
            t.offset = last.end;
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
    private static int piecesFor(List<Piece> batch, int events) {
        int seen = 0;
        for (int i = 0; i < batch.size(); i++) {
            if (batch.get(i).event != null && ++seen == events) {
                return i + 1;
            }
        }
        return batch.size();
    }

    private void truncated(Tracked t, long size) throws IOException {
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

    private final List<Tracked> pendingAdds = new ArrayList<>();

    /**
     * The copy a copytruncate rotation made of a file read up to {@code offset}: a file beside it that starts with the
     * same bytes and holds at least that many. It is read from there to its end under the original's generation, so
     * batches the original published are recognised.
     */
    private void findCopy(Path directory, String fingerprint, int fingerprintLength, long offset, String generation, FileKey original,
            String originalPath) throws IOException {
        if (directory == null || !Files.isDirectory(directory)) {
            return;
        }
        List<Path> candidates;
        try (var list = Files.list(directory)) {
            candidates = list.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) && !excluded(p)).toList();
        }
        for (Path candidate : candidates) {
            FileKey key;
            try {
                key = key(candidate);
            } catch (NoSuchFileException e) {
                continue;
            }
            if (key.equals(original) || tracked.containsKey(key)) {
                continue;
            }
            FileChannel channel = FileChannel.open(candidate, StandardOpenOption.READ);
            if (channel.size() < offset || !fingerprint.equals(fingerprint(channel, fingerprintLength))) {
                channel.close();
                continue;
            }
            Tracked copy = new Tracked(key, candidate, channel);
            copy.generation = generation;
            copy.offset = offset;
            copy.following = false;
            save(copy);
            pendingAdds.add(copy);
            LOG.info("File source {}: reading the rest of {} from its copy {} from byte {}", name, originalPath, candidate, offset);
            return;
        }
    }

    private void save(Tracked t) {
        try {
            int length = (int) Math.min(FINGERPRINT_BYTES, Math.min(t.offset, t.channel.size()));
            if (length > t.fingerprintLength) {
                t.fingerprint = fingerprint(t.channel, length);
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
            for (Tracked t : pendingAdds) {
                if (tracked.putIfAbsent(t.key, t) != null) {
                    t.close();
                }
            }
            pendingAdds.clear();
        }
        List<FileStatus> now = new ArrayList<>();
        for (Tracked t : tracked.values()) {
            now.add(new FileStatus(t.path.toString(), t.offset, t.lastSize, t.following));
        }
        statuses = List.copyOf(now);
    }

    // ---- helpers

    static String fingerprint(FileChannel channel, int length) throws IOException {
        if (length <= 0) {
            return "";
        }
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, buffer.position()) < 0) {
                break;
            }
        }
        if (buffer.position() < length) {
            return "short:" + buffer.position();
        }
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(buffer.array()));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static FileKey key(Path path) throws IOException {
        Map<String, Object> attributes = Files.readAttributes(path, "unix:dev,ino");
        return new FileKey(((Number) attributes.get("dev")).longValue(), ((Number) attributes.get("ino")).longValue());
    }

    private boolean excluded(Path file) {
        for (PathMatcher exclude : excludes) {
            if (exclude.matches(file) || exclude.matches(file.getFileName())) {
                return true;
            }
        }
        return false;
    }

    private static int indexOf(byte[] bytes, int from) {
        for (int i = from; i < bytes.length; i++) {
            if (bytes[i] == '\n') {
                return i;
            }
        }
        return -1;
    }

    /** The pattern's fixed directory (the segments before the first with a wildcard) and how deep matches can be. */
    static Glob glob(String pattern) {
        Path path = Path.of(pattern);
        Path base = path.getRoot() == null ? Path.of("") : path.getRoot();
        int i = 0;
        for (; i < path.getNameCount() - 1; i++) {
            String segment = path.getName(i).toString();
            if (segment.matches(".*[*?\\[{].*")) {
                break;
            }
            base = base.resolve(segment);
        }
        int depth = pattern.contains("**") ? Integer.MAX_VALUE : path.getNameCount() - i;
        return new Glob(pattern, base, FileSystems.getDefault().getPathMatcher("glob:" + pattern), depth);
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

    private static final class Tracked {
        final FileKey key;
        final FileChannel channel;
        Path path;
        String generation;
        long offset;
        String fingerprint = "";
        int fingerprintLength;
        boolean skipToNewline;
        boolean pendingSkip;
        boolean following = true;
        boolean closed;
        long lastSize = -1;
        long lastChange = System.nanoTime();

        Tracked(FileKey key, Path path, FileChannel channel) {
            this.key = key;
            this.path = path;
            this.channel = channel;
        }

        void close() {
            closed = true;
            try {
                channel.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }
}
