package io.watershed.lake;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.iceberg.ManifestContent;
import org.apache.iceberg.ManifestFile;
import org.apache.iceberg.ManifestFiles;
import org.apache.iceberg.ReachableFileUtil;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.FileInfo;
import org.apache.iceberg.io.SupportsPrefixOperations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removal of orphan files: files under a table's directory that no snapshot or metadata file references and
 * that were last modified longer ago than a safety delay (a writer's file not yet committed is younger) are
 * deleted. A local table directory is walked on the disk; a remote one (S3) is listed through the table's FileIO.
 */
final class RemoveOrphanFiles {
    private static final Logger LOG = LoggerFactory.getLogger(RemoveOrphanFiles.class);

    /** What a removal did: files deleted and their bytes. */
    record Result(int filesRemoved, long bytesRemoved) {}

    private RemoveOrphanFiles() {}

    /**
     * Deletes files under the table's directory that nothing references and that were last modified more
     * than {@code delay} ago.
     */
    static Result remove(Table table, Duration delay, long nowMillis) {
        URI location = URI.create(table.location().startsWith("/") ? "file:" + table.location() : table.location());
        if (!"file".equals(location.getScheme())) {
            if (table.io() instanceof SupportsPrefixOperations listable) {
                return removeListed(table, listable, delay, nowMillis);
            }
            LOG.debug("{}: orphan cleanup needs a FileIO that lists, not {}", table.name(), table.io().getClass().getName());
            return new Result(0, 0);
        }
        Path root = Path.of(location.getPath());
        if (!Files.isDirectory(root)) {
            return new Result(0, 0);
        }
        long olderThan = nowMillis - delay.toMillis();
        List<Path> candidates = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(root)) {
            walk.forEach(path -> {
                try {
                    BasicFileAttributes attributes = Files.readAttributes(path, BasicFileAttributes.class,
                            java.nio.file.LinkOption.NOFOLLOW_LINKS);
                    if (attributes.isRegularFile() && attributes.lastModifiedTime().toMillis() < olderThan) {
                        candidates.add(path);
                    }
                } catch (IOException e) {
                    // gone meanwhile
                }
            });
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("{}: cannot list {} for orphan files: {}", table.name(), root, e.toString());
            return new Result(0, 0);
        }
        if (candidates.isEmpty()) {
            return new Result(0, 0);
        }
        Set<String> referenced = referencedFiles(table); // read after listing: a file committed meanwhile counts as referenced
        int removed = 0;
        long bytes = 0;
        for (Path file : candidates) {
            if (referenced.contains(file.toAbsolutePath().normalize().toString())) {
                continue;
            }
            String name = file.getFileName().toString();
            if (name.startsWith(".") && name.endsWith(".crc")) {
                Path data = file.resolveSibling(name.substring(1, name.length() - 4));
                if (referenced.contains(data.toAbsolutePath().normalize().toString())) {
                    continue; // Hadoop's checksum of a referenced file
                }
            }
            try {
                long size = Files.size(file);
                Files.delete(file);
                removed++;
                bytes += size;
            } catch (IOException e) {
                LOG.warn("{}: cannot delete orphan file {}: {}", table.name(), file, e.toString());
            }
        }
        if (removed > 0) {
            LOG.info("{}: removed {} orphan file(s), {} bytes, older than {}", table.name(), removed, bytes, delay);
        }
        return new Result(removed, bytes);
    }

    /** Orphan cleanup of a remote table directory: its objects are listed and deleted through the table's FileIO. */
    private static Result removeListed(Table table, SupportsPrefixOperations io, Duration delay, long nowMillis) {
        String prefix = table.location().endsWith("/") ? table.location() : table.location() + "/"; // not raw.x__dlq beside raw.x
        long olderThan = nowMillis - delay.toMillis();
        List<FileInfo> candidates = new ArrayList<>();
        try {
            for (FileInfo file : io.listPrefix(prefix)) {
                if (file.createdAtMillis() < olderThan) {
                    candidates.add(file);
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("{}: cannot list {} for orphan files: {}", table.name(), prefix, e.toString());
            return new Result(0, 0);
        }
        if (candidates.isEmpty()) {
            return new Result(0, 0);
        }
        Set<String> referenced = referencedFiles(table); // read after listing: a file committed meanwhile counts as referenced
        int removed = 0;
        long bytes = 0;
        for (FileInfo file : candidates) {
            if (referenced.contains(local(file.location()))) {
                continue;
            }
            try {
                io.deleteFile(file.location());
                removed++;
                bytes += file.size();
            } catch (RuntimeException e) {
                LOG.warn("{}: cannot delete orphan file {}: {}", table.name(), file.location(), e.toString());
            }
        }
        if (removed > 0) {
            LOG.info("{}: removed {} orphan file(s), {} bytes, older than {}", table.name(), removed, bytes, delay);
        }
        return new Result(removed, bytes);
    }

    /** Every file a snapshot or metadata file of the table references, as a normalized local path or a remote location. */
    static Set<String> referencedFiles(Table table) {
        table.refresh();
        Set<String> files = new HashSet<>();
        ReachableFileUtil.metadataFileLocations(table, true).forEach(f -> files.add(local(f)));
        ReachableFileUtil.statisticsFilesLocations(table).forEach(f -> files.add(local(f)));
        Set<String> manifests = new HashSet<>();
        for (Snapshot snapshot : table.snapshots()) {
            if (snapshot.manifestListLocation() != null) {
                files.add(local(snapshot.manifestListLocation()));
            }
            for (ManifestFile manifest : snapshot.allManifests(table.io())) {
                if (!manifests.add(manifest.path())) {
                    continue;
                }
                files.add(local(manifest.path()));
                try (CloseableIterable<String> paths = manifest.content() == ManifestContent.DATA
                        ? ManifestFiles.readPaths(manifest, table.io(), table.specs())
                        : CloseableIterable.transform(ManifestFiles.readDeleteManifest(manifest, table.io(), table.specs()),
                                f -> f.location())) {
                    paths.forEach(p -> files.add(local(p)));
                } catch (IOException e) {
                    throw new UncheckedIOException("Cannot read manifest " + manifest.path(), e);
                }
            }
        }
        return files;
    }

    private static String local(String location) {
        if (!location.startsWith("file:") && !location.startsWith("/")) {
            return location; // s3://bucket/key: listed and referenced alike
        }
        String path = location.startsWith("file:") ? URI.create(location).getPath() : location;
        return Path.of(path).toAbsolutePath().normalize().toString();
    }
}
