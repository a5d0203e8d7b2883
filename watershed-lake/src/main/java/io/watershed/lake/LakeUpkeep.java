package io.watershed.lake;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.Settings;
import io.watershed.spi.WatershedException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.exceptions.NoSuchTableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps every table of the lake healthy by itself: every {@code lake.upkeep_interval} it drops partitions
 * past their retention, compacts partitions that gathered enough small files, expires old snapshots,
 * and (less often) deletes orphan files; it also trims the streams' topics (see {@link TopicRetention}).
 * One table's upkeep runs at a time per table, whether scheduled or asked for; writers never wait for it.
 * Each operation is its own class (see {@link TableUpkeep}); this class composes them, counts and schedules.
 */
public final class LakeUpkeep implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LakeUpkeep.class);

    /**
     * What upkeep does to one table.
     *
     * @param targetFileSize compaction's target file size
     * @param retentionColumn the time column whose old partitions retention drops
     * @param retention how long rows are kept by {@code retentionColumn}; empty keeps them forever
     */
    public record Policy(long targetFileSize, Optional<String> retentionColumn, Optional<Duration> retention) {}

    /** One table's shape, from its current snapshot's summary. */
    /**
     * @param lastCommit when the current snapshot was committed, by whatever made it (a write, compaction, retention)
     * @param lastAppend when rows were last appended (a lake writer's commit), not counting upkeep's own commits
     */
    public record TableStats(String table, long rows, long files, long bytes, int snapshots, Optional<Instant> lastCompaction,
            Optional<Duration> retention, long targetFileSize, Optional<Instant> lastCommit, Optional<Instant> lastAppend,
            List<Map.Entry<String, String>> columns) {
        public long averageFileBytes() {
            return files == 0 ? 0 : bytes / files;
        }
    }

    /** What one on-demand or scheduled pass over a table did. */
    public record Result(String table, int filesBefore, int filesAfter, int filesRewritten, int filesWritten, long bytesRewritten,
            int conflicts, int partitionFilesDropped, int snapshotsExpired, int orphansRemoved, long millis) {}

    private final IcebergLake lake;
    private final Settings.Lake settings;
    private final Function<TableIdentifier, Policy> policies;
    private final Clock clock;
    private final MeterRegistry meters;
    private final TopicRetention topics;
    private final Map<TableIdentifier, ReentrantLock> locks = new ConcurrentHashMap<>();
    private final Map<TableIdentifier, TableStats> stats = new ConcurrentHashMap<>();
    private final Map<TableIdentifier, Long> lastOrphanCheck = new ConcurrentHashMap<>();
    private final java.util.Set<TableIdentifier> retentionRefused = ConcurrentHashMap.newKeySet();
    private final Counter compactions;
    private final Counter filesCompacted;
    private final Counter snapshotsExpired;
    private final Counter orphansRemoved;
    private final Counter partitionFilesDropped;
    private final Counter failures;
    private volatile ScheduledExecutorService executor;

    /**
     * @param policies what to do with each table (its target file size and retention)
     * @param topics trims the streams' topics, or null when there is no bus to trim
     */
    public LakeUpkeep(IcebergLake lake, Settings.Lake settings, Function<TableIdentifier, Policy> policies,
            TopicRetention topics, MeterRegistry meters, Clock clock) {
        this.lake = lake;
        this.settings = settings;
        this.policies = policies;
        this.topics = topics;
        this.meters = meters;
        this.clock = clock;
        this.compactions = Counter.builder("watershed.lake.compactions").description("Compaction commits (one per file group)")
                .register(meters);
        this.filesCompacted = Counter.builder("watershed.lake.compacted.files").description("Small data files rewritten by compaction")
                .register(meters);
        this.snapshotsExpired = Counter.builder("watershed.lake.snapshots.expired").description("Snapshots expired")
                .register(meters);
        this.orphansRemoved = Counter.builder("watershed.lake.orphan.files.removed")
                .description("Files no snapshot referenced, deleted after lake.orphan_delay").register(meters);
        this.partitionFilesDropped = Counter.builder("watershed.lake.retention.files.dropped")
                .description("Data files dropped with partitions past their retention").register(meters);
        this.failures = Counter.builder("watershed.lake.upkeep.failures").description("Table upkeep passes that failed")
                .register(meters);
    }

    /** The lease of the periodic passes: one instance of a project runs them; any runs those asked for. */
    public static final String LEASE = "upkeep";

    private volatile java.util.function.BooleanSupplier scheduledHere = () -> true;

    /** Starts the periodic passes, unless {@code lake.upkeep_interval} is zero; they run only while {@code here} holds. */
    public void start(java.util.function.BooleanSupplier here) {
        this.scheduledHere = here;
        if (settings.upkeepInterval().isZero()) {
            LOG.info("Lake upkeep is off (lake.upkeep_interval: 0s); `watershed tables compact` still works");
            return;
        }
        ScheduledExecutorService e = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "watershed-lake-upkeep");
            t.setDaemon(true);
            return t;
        });
        executor = e;
        long period = settings.upkeepInterval().toMillis();
        e.scheduleWithFixedDelay(this::passQuietly, period, period, TimeUnit.MILLISECONDS);
    }

    private void passQuietly() {
        if (!scheduledHere.getAsBoolean()) {
            return;
        }
        try {
            pass();
        } catch (RuntimeException | org.apache.hadoop.fs.FSError e) { // a throw would cancel the schedule for good
            failures.increment();
            LOG.warn("Lake upkeep pass failed; it runs again in {}: {}", settings.upkeepInterval(), e.toString());
        }
    }

    /** One pass over every table (and topic); what one table's failure leaves undone waits for the next pass. */
    public void pass() {
        for (TableIdentifier id : tableIds()) {
            try {
                maintain(id, false, settings.compactionMinFiles());
            } catch (NoSuchTableException e) {
                stats.remove(id);
            } catch (RuntimeException | org.apache.hadoop.fs.FSError e) {
                failures.increment();
                LOG.warn("Upkeep of {} failed; it is tried again in the next pass: {}", id, e.toString(), e);
            }
        }
        if (topics != null) {
            topics.apply();
        }
    }

    /**
     * Compacts the table now, whatever the thresholds (any partition with two or more small files), then
     * expires snapshots as usual. Waits if a scheduled pass is working on the same table.
     */
    public Result compact(String qualifiedName) {
        return LakeFailure.guard("compact " + qualifiedName, () -> maintain(lake.resolve(qualifiedName), true, 2));
    }

    private Result maintain(TableIdentifier id, boolean onDemand, int minFiles) {
        ReentrantLock lock = locks.computeIfAbsent(id, k -> new ReentrantLock());
        lock.lock();
        long started = System.nanoTime();
        try {
            Table table = lake.catalog().loadTable(id);
            Policy policy = policies.apply(id);
            Instant now = clock.instant();
            int before = files(table);
            int dropped = 0;
            if (policy.retention().isPresent() && policy.retentionColumn().isPresent()) {
                try {
                    dropped = DropExpiredPartitions.drop(lake, table, policy.retentionColumn().get(), policy.retention().get(),
                            now);
                } catch (IllegalArgumentException e) {
                    // the table's layout does not allow it (not partitioned by time): say so once, keep compacting and expiring
                    if (retentionRefused.add(id)) {
                        LOG.warn("{}: retention {} is not applied: {}", id, policy.retention().get(), e.getMessage());
                    }
                }
                if (dropped > 0) {
                    partitionFilesDropped.increment(dropped);
                    LOG.info("{}: dropped {} data file(s) of partitions older than {}", id, dropped, policy.retention().get());
                    lake.refreshView(table);
                }
            }
            CompactDataFiles.Result compaction = CompactDataFiles.compact(lake, table, policy.targetFileSize(), minFiles, !onDemand);
            if (compaction.groups() > 0) {
                compactions.increment(compaction.groups());
                filesCompacted.increment(compaction.filesRewritten());
                lake.refreshView(table);
                // routine passes happen every minute on every table: their record is the metrics and `watershed tables`
                String message = "{}: compacted {} small file(s) ({} bytes) into {} ({} bytes)";
                if (onDemand) {
                    LOG.info(message, id, compaction.filesRewritten(), compaction.bytesRewritten(), compaction.filesWritten(),
                            compaction.bytesWritten());
                } else {
                    LOG.debug(message, id, compaction.filesRewritten(), compaction.bytesRewritten(), compaction.filesWritten(),
                            compaction.bytesWritten());
                }
            }
            ExpireSnapshots.Result expiry;
            SnapshotHolds holds = lake.holds();
            synchronized (holds) {
                expiry = ExpireSnapshots.expire(lake, table, holds, settings.snapshotRetention(), now.toEpochMilli());
            }
            snapshotsExpired.increment(expiry.snapshotsExpired());
            int orphans = 0;
            Long lastCheck = lastOrphanCheck.get(id);
            long orphanEvery = Math.max(settings.upkeepInterval().toMillis(), Math.min(settings.orphanDelay().toMillis() / 4,
                    Duration.ofHours(1).toMillis()));
            if (onDemand || lastCheck == null || now.toEpochMilli() - lastCheck >= orphanEvery) {
                orphans = RemoveOrphanFiles.remove(table, settings.orphanDelay(), now.toEpochMilli()).filesRemoved();
                orphansRemoved.increment(orphans);
                lastOrphanCheck.put(id, now.toEpochMilli());
            }
            table.refresh(); // after this pass's commits
            TableStats after = statsOf(id, table, policy);
            return new Result(id.toString(), before, (int) after.files(), compaction.filesRewritten(), compaction.filesWritten(),
                    compaction.bytesRewritten(), compaction.conflicts(), dropped, expiry.snapshotsExpired(), orphans,
                    (System.nanoTime() - started) / 1_000_000);
        } finally {
            lock.unlock();
        }
    }

    private static int files(Table table) {
        Snapshot current = table.currentSnapshot();
        return current == null ? 0 : Integer.parseInt(current.summary().getOrDefault("total-data-files", "0"));
    }

    /** Records of the stream past its retention that the lake has not committed yet (kept until it does). */
    public long retentionOverdue(String stream) {
        return topics == null ? 0 : topics.overdue(stream);
    }

    /** Every table's rows, files, bytes, snapshots and last compaction, sorted by name. */
    public List<TableStats> stats() {
        return LakeFailure.guard("read the lake's tables", () -> statsNow(tableIds()));
    }

    /**
     * The same for the named tables ({@code raw.clicks}) that exist, sorted by name: what a page about some streams
     * reads, without loading every table's metadata.
     */
    public List<TableStats> stats(java.util.Collection<String> tables) {
        return stats(tables.stream().map(TableIdentifier::parse).toList());
    }

    private List<TableStats> stats(List<TableIdentifier> ids) {
        return LakeFailure.guard("read the lake's tables", () -> statsNow(ids));
    }

    private List<TableStats> statsNow(List<TableIdentifier> ids) {
        List<TableStats> all = new ArrayList<>();
        for (TableIdentifier id : ids) {
            try {
                all.add(statsOf(id, lake.catalog().loadTable(id), policies.apply(id)));
            } catch (NoSuchTableException e) {
                stats.remove(id);
            }
        }
        all.sort(java.util.Comparator.comparing(TableStats::table));
        return all;
    }

    private TableStats statsOf(TableIdentifier id, Table table, Policy policy) {
        Snapshot current = table.currentSnapshot();
        Map<String, String> summary = current == null ? Map.of() : current.summary();
        int snapshots = 0;
        for (Snapshot ignored : table.snapshots()) {
            snapshots++;
        }
        TableStats s = new TableStats(id.toString(), Long.parseLong(summary.getOrDefault("total-records", "0")),
                Long.parseLong(summary.getOrDefault("total-data-files", "0")),
                Long.parseLong(summary.getOrDefault("total-files-size", "0")), snapshots, CompactDataFiles.last(table),
                policy.retention(), policy.targetFileSize(),
                Optional.ofNullable(current).map(c -> Instant.ofEpochMilli(c.timestampMillis())), lastAppend(table),
                table.schema().columns().stream().map(f -> Map.entry(f.name(), f.type().toString())).toList());
        if (stats.put(id, s) == null) {
            register(id);
        }
        return s;
    }

    /** The newest appending snapshot of the table's history (compaction replaces, retention deletes); a bounded walk. */
    private static Optional<Instant> lastAppend(Table table) {
        Snapshot snapshot = table.currentSnapshot();
        for (int steps = 0; snapshot != null && steps < 1000; steps++) {
            if (org.apache.iceberg.DataOperations.APPEND.equals(snapshot.operation())) {
                return Optional.of(Instant.ofEpochMilli(snapshot.timestampMillis()));
            }
            snapshot = snapshot.parentId() == null ? null : table.snapshot(snapshot.parentId());
        }
        return Optional.empty();
    }

    private void register(TableIdentifier id) {
        String name = id.toString();
        Gauge.builder("watershed.table.rows", stats, m -> value(m, id, TableStats::rows)).tag("table", name)
                .description("Rows in the table's current snapshot").register(meters);
        Gauge.builder("watershed.table.files", stats, m -> value(m, id, TableStats::files)).tag("table", name)
                .description("Data files in the table's current snapshot").register(meters);
        Gauge.builder("watershed.table.bytes", stats, m -> value(m, id, TableStats::bytes)).tag("table", name)
                .description("Bytes of data files in the table's current snapshot").register(meters);
        Gauge.builder("watershed.table.average.file.bytes", stats, m -> value(m, id, TableStats::averageFileBytes)).tag("table", name)
                .description("Average data file size in the table's current snapshot").register(meters);
        Gauge.builder("watershed.table.snapshots", stats, m -> value(m, id, TableStats::snapshots)).tag("table", name)
                .description("Snapshots the table's metadata keeps").register(meters);
        Gauge.builder("watershed.table.last.compaction.timestamp.seconds", stats,
                m -> value(m, id, t -> t.lastCompaction().map(Instant::getEpochSecond).orElse(0L))).tag("table", name)
                .description("When the table was last compacted (0: not within the snapshots kept)").register(meters);
    }

    private static double value(Map<TableIdentifier, TableStats> stats, TableIdentifier id, Function<TableStats, Number> field) {
        TableStats s = stats.get(id);
        return s == null ? Double.NaN : field.apply(s).doubleValue();
    }

    private List<TableIdentifier> tableIds() {
        List<TableIdentifier> ids = new ArrayList<>();
        for (Namespace namespace : lake.catalog().listNamespaces()) {
            if (IcebergLake.hidden(namespace)) {
                continue; // model builds' staging tables
            }
            ids.addAll(lake.catalog().listTables(namespace));
        }
        return ids;
    }

    @Override
    public void close() {
        ScheduledExecutorService e = executor;
        if (e != null) {
            e.shutdown(); // a compaction in flight finishes its group; its output is deleted if it cannot commit
            try {
                if (!e.awaitTermination(10, TimeUnit.SECONDS)) {
                    e.shutdownNow();
                }
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
