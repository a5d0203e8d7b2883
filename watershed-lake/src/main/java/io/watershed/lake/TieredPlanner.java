package io.watershed.lake;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.Table;
import org.apache.iceberg.actions.BinPackRewriteFilePlanner;
import org.apache.iceberg.expressions.Expressions;

/**
 * Size-tiered selection for the automatic passes. Plain bin-packing would rewrite a partition's growing
 * compacted file together with each handful of new small files: a day partition written every second would
 * be rewritten whole every minute. Here small files are sorted into tiers by size (below 64 KiB × fanout,
 * below 64 KiB × fanout², ...) and only the files of a tier that holds {@code fanout} of them in one
 * partition are picked, so ten new files become one of the next tier and a row is rewritten about
 * log_fanout(target / 64 KiB) times in all, as in an LSM tree.
 */
final class TieredPlanner extends BinPackRewriteFilePlanner {
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
