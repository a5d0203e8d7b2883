package io.watershed.lake;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Snapshot;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compaction of a table's small data files, safe while writers append and readers query: Iceberg's own
 * bin-pack planner (or, for the automatic passes, the {@link TieredPlanner}) picks, per partition, the small
 * files to rewrite; they are read and written again near the target size and swapped in with a rewrite commit
 * that validates from the planned snapshot, so concurrent appends never conflict and a concurrent overwrite of
 * the same files makes the rewrite give up (its new files are deleted) instead of bringing rows back. Commits
 * are marked {@code watershed.operation=compact}.
 */
final class CompactDataFiles {
    private static final Logger LOG = LoggerFactory.getLogger(CompactDataFiles.class);

    /** What a compaction did: file groups committed, files and bytes in and out, groups given up to a concurrent change. */
    record Result(int groups, int filesRewritten, int filesWritten, long bytesRewritten, long bytesWritten, int conflicts) {
        static final Result NONE = new Result(0, 0, 0, 0, 0, 0);
    }

    private CompactDataFiles() {}

    /**
     * Compacts the table's small files: a partition qualifies once it has {@code minInputFiles} files under 75%
     * of {@code targetFileSize} (or holds more than the target in small files). Each file group is committed on
     * its own, so work done before a crash or a conflict stays done. {@code tiered} (the automatic passes) merges
     * only files of about the same size, see {@link TieredPlanner}; otherwise every small file is rewritten.
     */
    static Result compact(IcebergLake lake, Table table, long targetFileSize, int minInputFiles, boolean tiered) {
        return compact(lake, table, targetFileSize, minInputFiles, tiered ? TieredPlanner.BASE : 0);
    }

    /** {@code tierBase}: the size below which files are of the lowest tier; 0 rewrites every small file. */
    static Result compact(IcebergLake lake, Table table, long targetFileSize, int minInputFiles, long tierBase) {
        table.refresh();
        Snapshot start = table.currentSnapshot();
        if (start == null) {
            return Result.NONE;
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
                        Map.of(TableUpkeep.OPERATION, "compact"));
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
        return new Result(groups, rewritten, written, bytesIn, bytesOut, conflicts);
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

    /** When the table was last compacted, from its snapshots (so it survives restarts while the snapshot does). */
    static Optional<Instant> last(Table table) {
        long newest = -1;
        for (Snapshot snapshot : table.snapshots()) {
            if ("compact".equals(snapshot.summary().get(TableUpkeep.OPERATION)) && snapshot.timestampMillis() > newest) {
                newest = snapshot.timestampMillis();
            }
        }
        return newest < 0 ? Optional.empty() : Optional.of(Instant.ofEpochMilli(newest));
    }
}
