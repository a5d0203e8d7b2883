package io.watershed.lake;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.HistoryEntry;
import org.apache.iceberg.ManifestContent;
import org.apache.iceberg.ManifestFile;
import org.apache.iceberg.ManifestFiles;
import org.apache.iceberg.PartitionField;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.ReachableFileUtil;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.SnapshotRef;
import org.apache.iceberg.Table;
import org.apache.iceberg.actions.BinPackRewriteFilePlanner;
import org.apache.iceberg.actions.FileRewritePlan;
import org.apache.iceberg.actions.RewriteDataFiles;
import org.apache.iceberg.actions.RewriteDataFilesCommitManager;
import org.apache.iceberg.actions.RewriteFileGroup;
import org.apache.iceberg.actions.SizeBasedFileRewritePlanner;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.exceptions.CommitFailedException;
import org.apache.iceberg.exceptions.ValidationException;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.FanoutDataWriter;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.Types;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The upkeep of one Iceberg table, each step safe while writers append and readers query:
 * <ul>
 *   <li>{@link #compact}: Iceberg's own bin-pack planner picks, per partition, the small files to rewrite;
 *       they are read and written again near the target size and swapped in with a rewrite commit that
 *       validates from the planned snapshot, so concurrent appends never conflict and a concurrent
 *       overwrite of the same files makes the rewrite give up (its new files are deleted) instead of
 *       bringing rows back;</li>
 *   <li>{@link #expire}: snapshots replaced longer ago than the retention window are expired, except the
 *       ones a reader holds, the ones branches or tags name, and the newest one that carries each writer's
 *       bookmark (the lake writer's Kafka offsets, a Flink committer's checkpoint id), which a restart reads;</li>
 *   <li>{@link #removeOrphans}: files in the table's directory that no snapshot or metadata file references
 *       and that are older than a safety delay are deleted;</li>
 *   <li>{@link #dropExpiredPartitions}: whole partitions of a time-partitioned column older than the
 *       retention are dropped with a metadata-only delete.</li>
 * </ul>
 * Commits go through {@link IcebergLake#commit} and are marked {@code watershed.operation} in the snapshot summary.
 */
final class TableUpkeep {
    private static final Logger LOG = LoggerFactory.getLogger(TableUpkeep.class);
    static final String OPERATION = "watershed.operation";
    /** Snapshot summary keys by which writers find where they stopped; see {@link CommittedOffsets}. */
    private static final String FLINK_CHECKPOINT = "flink.max-committed-checkpoint-id";

    record Compaction(int groups, int filesRewritten, int filesWritten, long bytesRewritten, long bytesWritten, int conflicts) {
        static final Compaction NONE = new Compaction(0, 0, 0, 0, 0, 0);
    }

    record Expiry(int snapshotsExpired, int snapshotsKept) {}

    /**
     * Every snapshot of the last quarter hour is kept; older ones, within the retention window, only if they
     * were current at a full hour. A writer committing every second would otherwise keep 259,200 snapshots
     * over three days, and every commit rewrites the metadata file that lists them all.
     */
    static final Duration DENSE_HISTORY = Duration.ofMinutes(15);
    private static final long HOUR = Duration.ofHours(1).toMillis();

    record Orphans(int filesRemoved, long bytesRemoved) {}

    private TableUpkeep() {}

    /**
     * Compacts the table's small files: a partition qualifies once it has {@code minInputFiles} files under 75%
     * of {@code targetFileSize} (or holds more than the target in small files). Each file group is committed on
     * its own, so work done before a crash or a conflict stays done. {@code tiered} (the automatic passes) merges
     * only files of about the same size, see {@link TieredPlanner}; otherwise every small file is rewritten.
     */
    static Compaction compact(IcebergLake lake, Table table, long targetFileSize, int minInputFiles, boolean tiered) {
        return compact(lake, table, targetFileSize, minInputFiles, tiered ? TieredPlanner.BASE : 0);
    }

    /** {@code tierBase}: the size below which files are of the lowest tier; 0 rewrites every small file. */
    static Compaction compact(IcebergLake lake, Table table, long targetFileSize, int minInputFiles, long tierBase) {
        table.refresh();
        Snapshot start = table.currentSnapshot();
        if (start == null) {
            return Compaction.NONE;
        }
        BinPackRewriteFilePlanner planner = tierBase > 0
                ? new TieredPlanner(table, start.snapshotId(), Math.max(2, minInputFiles), tierBase)
                : new BinPackRewriteFilePlanner(table, Expressions.alwaysTrue(), start.snapshotId(), false);
        Map<String, String> options = new HashMap<>();
        options.put(SizeBasedFileRewritePlanner.TARGET_FILE_SIZE_BYTES, String.valueOf(targetFileSize));
        options.put(SizeBasedFileRewritePlanner.MIN_INPUT_FILES, String.valueOf(Math.max(2, minInputFiles)));
        // a group is read and written by one thread and committed at once: keep it to a few target files
        options.put(SizeBasedFileRewritePlanner.MAX_FILE_GROUP_SIZE_BYTES, String.valueOf(Math.max(targetFileSize, 1L << 20) * 4));
        planner.init(options);
        FileRewritePlan<RewriteDataFiles.FileGroupInfo, FileScanTask, DataFile, RewriteFileGroup> plan = planner.plan();
        int groups = 0;
        int rewritten = 0;
        int written = 0;
        long bytesIn = 0;
        long bytesOut = 0;
        int conflicts = 0;
        try (CloseableIterable<RewriteFileGroup> planned = plan.groups()) {
            for (RewriteFileGroup group : planned) {
                if (group.fileScanTasks().stream().anyMatch(task -> !task.deletes().isEmpty())) {
                    // rows deleted by delete files would come back if their data file were copied as it is
                    LOG.warn("{}: skipping compaction of {} file(s) in partition {} that have delete files", table.name(),
                            group.fileScanTasks().size(), group.info().partition());
                    continue;
                }
                List<DataFile> out = rewrite(table, group, targetFileSize);
                group.setOutputFiles(new LinkedHashSet<>(out));
                RewriteDataFilesCommitManager commits = new RewriteDataFilesCommitManager(table, start.snapshotId(), true,
                        Map.of(OPERATION, "compact"));
                try {
                    lake.commit(() -> {
                        commits.commitOrClean(Set.of(group));
                        return null;
                    });
                } catch (ValidationException | CommitFailedException e) {
                    // another commit removed some of these files (a model's overwrite, retention): nothing to do here
                    conflicts++;
                    LOG.info("{}: compaction of partition {} gave way to a concurrent change: {}", table.name(),
                            group.info().partition(), e.getMessage());
                    continue;
                }
                groups++;
                rewritten += group.rewrittenFiles().size();
                written += out.size();
                bytesIn += group.rewrittenFiles().stream().mapToLong(DataFile::fileSizeInBytes).sum();
                bytesOut += out.stream().mapToLong(DataFile::fileSizeInBytes).sum();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot plan the compaction of " + table.name(), e);
        }
        return new Compaction(groups, rewritten, written, bytesIn, bytesOut, conflicts);
    }

    /**
     * Size-tiered selection for the automatic passes. Plain bin-packing would rewrite a partition's growing
     * compacted file together with each handful of new small files: a day partition written every second would
     * be rewritten whole every minute. Here small files are sorted into tiers by size (below 64 KiB × fanout,
     * below 64 KiB × fanout², ...) and only the files of a tier that holds {@code fanout} of them in one
     * partition are picked, so ten new files become one of the next tier and a row is rewritten about
     * log_fanout(target / 64 KiB) times in all, as in an LSM tree.
     */
    static final class TieredPlanner extends BinPackRewriteFilePlanner {
        static final long BASE = 64 << 10;
        private final int fanout;
        private final long base;

        TieredPlanner(Table table, long snapshotId, int fanout, long base) {
            super(table, Expressions.alwaysTrue(), snapshotId, false);
            this.fanout = fanout;
            this.base = base;
        }

        @Override
        protected Iterable<FileScanTask> filterFiles(Iterable<FileScanTask> tasks) {
            Map<String, List<FileScanTask>> tiers = new HashMap<>();
            List<FileScanTask> picked = new ArrayList<>();
            for (FileScanTask task : super.filterFiles(tasks)) {
                if (task.file().fileSizeInBytes() > writeMaxFileSize()) {
                    picked.add(task); // too big: split, whatever its partition holds
                    continue;
                }
                String partition = task.spec().specId() + "/" + task.spec().partitionToPath(task.file().partition());
                tiers.computeIfAbsent(partition + "#" + tier(task.file().fileSizeInBytes()), k -> new ArrayList<>()).add(task);
            }
            tiers.values().stream().filter(files -> files.size() >= fanout).forEach(picked::addAll);
            return picked;
        }

        int tier(long size) {
            return (int) Math.floor(Math.log(Math.max(size, base) / (double) base) / Math.log(fanout));
        }
    }

    private static List<DataFile> rewrite(Table table, RewriteFileGroup group, long targetFileSize) {
        Schema schema = table.schema();
        PartitionKey key = new PartitionKey(table.spec(), schema);
        InternalRecordWrapper wrapper = new InternalRecordWrapper(schema.asStruct());
        FanoutDataWriter<Record> writer = LakeFiles.writer(table, targetFileSize, 1, System.nanoTime());
        Set<String> seen = new HashSet<>();
        boolean done = false;
        try {
            for (FileScanTask task : group.fileScanTasks()) {
                if (!seen.add(task.file().location())) {
                    continue; // a file split into several tasks is read whole once
                }
                try (CloseableIterable<Record> rows = LakeFiles.read(table, task.file(), schema)) {
                    for (Record row : rows) {
                        key.partition(wrapper.wrap(row));
                        writer.write(row, table.spec(), key);
                    }
                }
            }
            writer.close();
            done = true;
            return writer.result().dataFiles();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot rewrite the small files of " + table.name(), e);
        } finally {
            if (!done) {
                try {
                    writer.close();
                    writer.result().dataFiles().forEach(f -> table.io().deleteFile(f.location()));
                } catch (IOException | RuntimeException ignored) {
                    // the orphan cleanup removes what is left
                }
            }
        }
    }

    /**
     * Expires what may go; must run while the caller holds {@code holds}' monitor, so that no reader's
     * hold begins between the decision and the commit.
     */
    static Expiry expire(IcebergLake lake, Table table, SnapshotHolds holds, Duration retention, long nowMillis) {
        table.refresh();
        Snapshot current = table.currentSnapshot();
        if (current == null) {
            return new Expiry(0, 0);
        }
        org.apache.iceberg.catalog.TableIdentifier id = IcebergLake.idOf(table);
        Set<Long> keep = new HashSet<>(holds.held(id));
        keep.add(current.snapshotId());
        for (SnapshotRef ref : table.refs().values()) {
            keep.add(ref.snapshotId());
        }
        keep.addAll(bookmarks(table));
        long cutoff = nowMillis - retention.toMillis();
        long openHold = holds.oldestOpenHold(id).orElse(Long.MAX_VALUE);
        cutoff = Math.min(cutoff, openHold);
        Map<Long, Long> replacedAt = replacedAt(table);
        List<Long> expire = new ArrayList<>();
        int snapshots = 0;
        long dense = nowMillis - Math.min(retention.toMillis(), DENSE_HISTORY.toMillis());
        for (Snapshot snapshot : table.snapshots()) {
            snapshots++;
            long replaced = replacedAt.getOrDefault(snapshot.snapshotId(), snapshot.timestampMillis());
            if (keep.contains(snapshot.snapshotId()) || replaced >= openHold) {
                continue;
            }
            boolean pastRetention = replaced < cutoff;
            // older history is thinned to the snapshots that were current at a full hour
            boolean thinned = replaced < dense && !spansHour(snapshot.timestampMillis(), replaced);
            if (pastRetention || thinned) {
                expire.add(snapshot.snapshotId());
            }
        }
        if (expire.isEmpty()) {
            return new Expiry(0, snapshots);
        }
        org.apache.iceberg.ExpireSnapshots expiry = table.expireSnapshots()
                .expireOlderThan(0) // nothing by age: exactly the snapshots named below
                .cleanExpiredFiles(true);
        expire.forEach(expiry::expireSnapshotId);
        lake.commit(() -> {
            expiry.commit();
            return null;
        });
        return new Expiry(expire.size(), snapshots - expire.size());
    }

    /**
     * The snapshots a writer's restart needs: the newest ancestor of the current snapshot that carries the
     * lake writer's Kafka offsets, the newest that carries a Flink committer's checkpoint id, and every
     * ancestor between them and the current snapshot (a restart walks back through the parents, so the
     * chain must not break). Snapshots made since by upkeep carry no bookmark of their own.
     */
    static Set<Long> bookmarks(Table table) {
        List<Long> ancestors = new ArrayList<>();
        int deepest = -1;
        boolean offsets = false;
        boolean flink = false;
        Snapshot snapshot = table.currentSnapshot();
        while (snapshot != null && !(offsets && flink)) {
            ancestors.add(snapshot.snapshotId());
            Map<String, String> summary = snapshot.summary();
            if (!offsets && summary.containsKey(CommittedOffsets.SUMMARY_KEY)) {
                offsets = true;
                deepest = ancestors.size() - 1;
            }
            if (!flink && summary.containsKey(FLINK_CHECKPOINT)) {
                flink = true;
                deepest = ancestors.size() - 1;
            }
            snapshot = snapshot.parentId() == null ? null : table.snapshot(snapshot.parentId());
        }
        return new HashSet<>(ancestors.subList(0, deepest + 1));
    }

    /** Whether a snapshot committed at {@code committed} and replaced at {@code replaced} was current at a full hour. */
    private static boolean spansHour(long committed, long replaced) {
        return Math.floorDiv(committed - 1, HOUR) != Math.floorDiv(replaced - 1, HOUR);
    }

    /** When each snapshot stopped being the table's current one (from the snapshot log). */
    private static Map<Long, Long> replacedAt(Table table) {
        Map<Long, Long> replaced = new HashMap<>();
        List<HistoryEntry> history = table.history();
        for (int i = 0; i + 1 < history.size(); i++) {
            replaced.merge(history.get(i).snapshotId(), history.get(i + 1).timestampMillis(), Math::max);
        }
        if (!history.isEmpty()) {
            replaced.put(history.get(history.size() - 1).snapshotId(), Long.MAX_VALUE); // current
        }
        return replaced;
    }

    /**
     * Deletes files under the table's directory that nothing references and that were last modified more
     * than {@code delay} ago. Only local warehouses are walked.
     */
    static Orphans removeOrphans(Table table, Duration delay, long nowMillis) {
        URI location = URI.create(table.location().startsWith("/") ? "file:" + table.location() : table.location());
        if (!"file".equals(location.getScheme())) {
            LOG.debug("{}: orphan cleanup walks local warehouses only, not {}", table.name(), location);
            return new Orphans(0, 0);
        }
        Path root = Path.of(location.getPath());
        if (!Files.isDirectory(root)) {
            return new Orphans(0, 0);
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
            return new Orphans(0, 0);
        }
        if (candidates.isEmpty()) {
            return new Orphans(0, 0);
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
        return new Orphans(removed, bytes);
    }

    /** Every file a snapshot or metadata file of the table references, as a normalized local path. */
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
        String path = location.startsWith("file:") ? URI.create(location).getPath() : location;
        return Path.of(path).toAbsolutePath().normalize().toString();
    }

    /**
     * Drops the partitions of {@code column} that end before {@code now - retention}: the column must be
     * partitioned by a time transform (year, month, day, hour) or by identity of a date. Returns the number of
     * data files dropped.
     */
    static int dropExpiredPartitions(IcebergLake lake, Table table, String column, Duration retention, Instant now) {
        table.refresh();
        if (table.currentSnapshot() == null) {
            return 0;
        }
        Types.NestedField field = table.schema().findField(column);
        if (field == null) {
            throw new IllegalArgumentException(table.name() + " has no column '" + column + "' to apply retention by");
        }
        ChronoUnit unit = null;
        for (PartitionField partition : table.spec().fields()) {
            if (partition.sourceId() == field.fieldId()) {
                String transform = partition.transform().toString();
                unit = switch (transform) {
                    case "hour" -> ChronoUnit.HOURS;
                    case "day" -> ChronoUnit.DAYS;
                    case "month" -> ChronoUnit.MONTHS;
                    case "year" -> ChronoUnit.YEARS;
                    case "identity" -> field.type().typeId() == Type.TypeID.DATE ? ChronoUnit.DAYS : null;
                    default -> null;
                };
            }
        }
        if (unit == null) {
            throw new IllegalArgumentException(table.name() + " is not partitioned by a time transform of '" + column
                    + "', so retention cannot drop whole partitions; partition it by day(" + column + ") or similar");
        }
        OffsetDateTime cutoff = truncate(OffsetDateTime.ofInstant(now.minus(retention), ZoneOffset.UTC), unit);
        org.apache.iceberg.expressions.Expression older = field.type().typeId() == Type.TypeID.DATE
                ? Expressions.lessThan(column, cutoff.toLocalDate().toString())
                : Expressions.lessThan(column, cutoff.toInstant().toEpochMilli() * 1000);
        int files = 0;
        try (CloseableIterable<FileScanTask> tasks = table.newScan().filter(older).planFiles()) {
            for (FileScanTask ignored : tasks) {
                files++;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list the files of " + table.name(), e);
        }
        if (files == 0) {
            return 0;
        }
        org.apache.iceberg.DeleteFiles delete = table.newDelete().deleteFromRowFilter(older).set(OPERATION, "retention");
        lake.commit(() -> {
            delete.commit();
            return null;
        });
        return files;
    }

    private static OffsetDateTime truncate(OffsetDateTime time, ChronoUnit unit) {
        return switch (unit) {
            case HOURS, DAYS -> time.truncatedTo(unit);
            case MONTHS -> time.truncatedTo(ChronoUnit.DAYS).withDayOfMonth(1);
            default -> time.truncatedTo(ChronoUnit.DAYS).withDayOfYear(1);
        };
    }

    /** When the table was last compacted, from its snapshots (so it survives restarts while the snapshot does). */
    static Optional<Instant> lastCompaction(Table table) {
        long newest = -1;
        for (Snapshot snapshot : table.snapshots()) {
            if ("compact".equals(snapshot.summary().get(OPERATION)) && snapshot.timestampMillis() > newest) {
                newest = snapshot.timestampMillis();
            }
        }
        return newest < 0 ? Optional.empty() : Optional.of(Instant.ofEpochMilli(newest));
    }
}
