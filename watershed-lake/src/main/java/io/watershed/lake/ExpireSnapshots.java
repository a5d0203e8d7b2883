package io.watershed.lake;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.iceberg.HistoryEntry;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.SnapshotRef;
import org.apache.iceberg.Table;

/**
 * Expiry of a table's snapshot history: snapshots replaced longer ago than the retention window are expired
 * (and the files only they referenced deleted), except the ones a reader holds, the ones branches or tags name,
 * and the newest one that carries each writer's bookmark (the lake writer's Kafka offsets, a Flink committer's
 * checkpoint id), which a restart reads. History older than {@link #DENSE_HISTORY} is thinned to the snapshots
 * that were current at a full hour.
 */
final class ExpireSnapshots {
    /** Snapshot summary keys by which writers find where they stopped; see {@link CommittedOffsets}. */
    private static final String FLINK_CHECKPOINT = "flink.max-committed-checkpoint-id";

    /**
     * Every snapshot of the last quarter hour is kept; older ones, within the retention window, only if they
     * were current at a full hour. A writer committing every second would otherwise keep 259,200 snapshots
     * over three days, and every commit rewrites the metadata file that lists them all.
     */
    static final Duration DENSE_HISTORY = Duration.ofMinutes(15);
    private static final long HOUR = Duration.ofHours(1).toMillis();

    /** What an expiry did: snapshots expired, snapshots the table keeps. */
    record Result(int snapshotsExpired, int snapshotsKept) {}

    private ExpireSnapshots() {}

    /**
     * Expires what may go; must run while the caller holds {@code holds}' monitor, so that no reader's
     * hold begins between the decision and the commit.
     */
    static Result expire(IcebergLake lake, Table table, SnapshotHolds holds, Duration retention, long nowMillis) {
        table.refresh();
        Snapshot current = table.currentSnapshot();
        if (current == null) {
            return new Result(0, 0);
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
            return new Result(0, snapshots);
        }
        org.apache.iceberg.ExpireSnapshots expiry = table.expireSnapshots()
                .expireOlderThan(0) // nothing by age: exactly the snapshots named below
                .cleanExpiredFiles(true);
        expire.forEach(expiry::expireSnapshotId);
        lake.commit(() -> {
            expiry.commit();
            return null;
        });
        return new Result(expire.size(), snapshots - expire.size());
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
}
