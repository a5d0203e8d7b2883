package io.watershed.lake;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.io.SeekableInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Local copies of a remote warehouse's data files, for a query engine that reads local files only (DuckDB's JDBC
 * build has no S3). Bounded by size: the least recently used copies go first, but never one that a reader has
 * {@linkplain #retain retained} (a table view being served or being built), so a query never loses a file under it;
 * when everything is retained the cache stays over its size until the views move on. A copy is valid only while its
 * length equals the data file's; otherwise it is fetched again. Downloads go to a temporary name and are moved into
 * place, so a crash never leaves half a file under a copy's name; two callers needing one file download it once.
 * The copies survive a restart and are found again by name (a hash of the file's location).
 */
public final class DataFileCache {
    private static final Logger LOG = LoggerFactory.getLogger(DataFileCache.class);
    private static final String PART = ".part";

    private final Path directory;
    private final long capacity;
    /** Copies by name, least recently used first; guarded by {@code this}. */
    private final LinkedHashMap<String, Long> lengths = new LinkedHashMap<>(16, 0.75f, true);
    private long used;
    private final Map<String, CompletableFuture<Path>> downloads = new ConcurrentHashMap<>();
    private final Map<Object, Set<Path>> retained = new ConcurrentHashMap<>();
    private boolean overWarned;

    /** A cache of at most {@code capacity} bytes in {@code directory}, adopting the copies a previous run left there. */
    public DataFileCache(Path directory, long capacity) {
        this.directory = directory.toAbsolutePath().normalize();
        this.capacity = capacity;
        try {
            Files.createDirectories(this.directory);
            List<Path> copies = new ArrayList<>();
            try (Stream<Path> files = Files.list(this.directory)) {
                files.forEach(copies::add);
            }
            copies.sort(Comparator.comparing(DataFileCache::lastModified));
            for (Path copy : copies) {
                String name = copy.getFileName().toString();
                if (name.contains(PART) || !Files.isRegularFile(copy)) {
                    Files.deleteIfExists(copy); // a download a crash interrupted
                } else {
                    long length = Files.size(copy);
                    lengths.put(name, length);
                    used += length;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot open the lake's file cache " + this.directory, e);
        }
        synchronized (this) {
            evict();
        }
    }

    public Path directory() {
        return directory;
    }

    /** Bytes the copies take now. */
    public synchronized long used() {
        return used;
    }

    /**
     * The local copy of the data file at {@code location}, {@code length} bytes long, downloaded through {@code io}
     * unless a valid copy is there already. The copy may be evicted once the caller stops {@linkplain #retain
     * retaining} it; a caller that reads it later must retain it first.
     */
    public Path get(FileIO io, String location, long length) {
        String name = nameOf(location);
        Path copy = directory.resolve(name);
        synchronized (this) {
            Long known = lengths.get(name); // marks it as most recently used
            if (known != null) {
                if (known == length && sizeOf(copy) == length) {
                    return copy;
                }
                forget(name); // changed or damaged: fetched again
            }
        }
        CompletableFuture<Path> mine = new CompletableFuture<>();
        CompletableFuture<Path> running = downloads.putIfAbsent(name, mine);
        if (running != null) {
            return await(running, location);
        }
        synchronized (this) { // a download may have finished between the look above and claiming this one
            Long known = lengths.get(name);
            if (known != null && known == length && sizeOf(copy) == length) {
                downloads.remove(name, mine);
                mine.complete(copy);
                return copy;
            }
        }
        try {
            download(io, location, length, copy);
            synchronized (this) {
                forget(name);
                lengths.put(name, length);
                used += length;
                evict(name);
            }
            mine.complete(copy);
            return copy;
        } catch (RuntimeException e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            downloads.remove(name, mine);
        }
    }

    /**
     * Marks {@code files} as read by {@code reader} (replacing what it retained before): none of them is evicted until
     * the reader retains others or {@linkplain #release releases} them. The set may be one the reader still adds to.
     */
    public void retain(Object reader, Set<Path> files) {
        retained.put(reader, files);
    }

    public void release(Object reader) {
        retained.remove(reader);
    }

    private static long lastModified(Path file) {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class).lastModifiedTime().toMillis();
        } catch (IOException e) {
            return 0;
        }
    }

    private static long sizeOf(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return -1;
        }
    }

    private static Path await(CompletableFuture<Path> download, String location) {
        try {
            return download.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UncheckedIOException(new java.io.InterruptedIOException("Interrupted while fetching " + location));
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    private void download(FileIO io, String location, long length, Path copy) {
        Path part = copy.resolveSibling(copy.getFileName() + PART + "-" + Thread.currentThread().getId());
        try {
            long copied;
            try (SeekableInputStream in = io.newInputFile(location, length).newStream();
                    OutputStream out = Files.newOutputStream(part)) {
                copied = transfer(in, out);
            }
            if (copied != length) {
                throw new IOException("read " + copied + " bytes, the lake's metadata says " + length);
            }
            Files.move(part, copy, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            deleteQuietly(part);
            throw new UncheckedIOException("Cannot fetch the data file " + location + " into the lake's file cache: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            deleteQuietly(part);
            throw e;
        }
    }

    private static long transfer(InputStream in, OutputStream out) throws IOException {
        byte[] buffer = new byte[1 << 16];
        long total = 0;
        for (int n; (n = in.read(buffer)) >= 0; ) {
            out.write(buffer, 0, n);
            total += n;
        }
        return total;
    }

    /** Drops a copy from the index (its file is replaced or deleted by the caller). */
    private void forget(String name) {
        Long length = lengths.remove(name);
        if (length != null) {
            used -= length;
        }
    }

    private void evict(String... keep) {
        if (used <= capacity) {
            return;
        }
        Set<String> kept = Set.of(keep);
        Collection<Set<Path>> readers = retained.values();
        Iterator<Map.Entry<String, Long>> oldestFirst = lengths.entrySet().iterator();
        while (used > capacity && oldestFirst.hasNext()) {
            Map.Entry<String, Long> entry = oldestFirst.next();
            Path copy = directory.resolve(entry.getKey());
            if (kept.contains(entry.getKey()) || readers.stream().anyMatch(files -> files.contains(copy))) {
                continue;
            }
            if (deleteQuietly(copy)) {
                used -= entry.getValue();
                oldestFirst.remove();
            }
        }
        if (used > capacity && !overWarned) {
            overWarned = true;
            LOG.warn("The lake's file cache holds {} bytes, above lake.cache_size ({}): the files the current table views read "
                    + "do not fit; raise lake.cache_size", used, capacity);
        } else if (used <= capacity) {
            overWarned = false;
        }
    }

    private boolean deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
            return true;
        } catch (IOException e) {
            LOG.warn("Cannot delete {} from the lake's file cache: {}", file, e.toString());
            return false;
        }
    }

    /** A copy's file name: a hash of the location, with the location's extension (DuckDB picks its reader by it). */
    static String nameOf(String location) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(location.getBytes(StandardCharsets.UTF_8));
            String file = location.substring(location.lastIndexOf('/') + 1);
            int dot = file.lastIndexOf('.');
            return HexFormat.of().formatHex(hash, 0, 20) + (dot > 0 ? file.substring(dot) : "");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
