package io.watershed.lake;

/**
 * The upkeep operations on one Iceberg table, one class each (as Iceberg's {@code actions} package), each safe
 * while writers append and readers query; {@link LakeUpkeep} decides when they run and in which order:
 * <ul>
 *   <li>{@link DropExpiredPartitions}: whole partitions of a time-partitioned column older than the retention
 *       are dropped with a metadata-only delete;</li>
 *   <li>{@link CompactDataFiles}: small files are rewritten per partition near the target size (chosen by size
 *       tier in the automatic passes, see {@link TieredPlanner}), giving way to a concurrent overwrite;</li>
 *   <li>{@link ExpireSnapshots}: snapshots replaced longer ago than the retention window are expired, except the
 *       ones readers hold, refs name, or writers' restarts need;</li>
 *   <li>{@link RemoveOrphanFiles}: unreferenced files older than a safety delay are deleted.</li>
 * </ul>
 * Commits go through {@link IcebergLake#commit} and are marked {@link #OPERATION} in the snapshot summary.
 */
final class TableUpkeep {
    /** The snapshot summary key that names the upkeep operation that made a snapshot ({@code compact}, {@code retention}). */
    static final String OPERATION = "watershed.operation";

    private TableUpkeep() {}
}
