package io.watershed.lake;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Predicate;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.PartitionField;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.types.Types;

/**
 * What the console shows of one lake table: its columns and how they evolved, its partitioning, snapshots and
 * data files, and its rows as of any snapshot still kept (time travel). Reads metadata and Parquet through Iceberg,
 * not DuckDB, so it sees exactly the snapshot asked for. Callers pass the columns the reader may see.
 */
public final class TableInspector {
    /** Data files listed at most (the largest table has thousands; the console shows the newest). */
    static final int MAX_FILES = 200;

    private final IcebergLake lake;

    public TableInspector(IcebergLake lake) {
        this.lake = lake;
    }

    public record Column(int id, String name, String type, boolean required, String doc) {}

    /** One schema of the table's history, with what it added and removed against the previous one. */
    public record SchemaVersion(int schemaId, boolean current, List<Column> columns, List<String> added, List<String> removed,
            Optional<Long> firstSnapshotId, Optional<Instant> firstSeenAt) {}

    public record PartitionColumn(String name, String transform, String source) {}

    public record SnapshotInfo(long snapshotId, Optional<Long> parentId, Instant at, String operation, boolean current,
            long addedRecords, long addedFiles, long totalRecords, long totalFiles) {}

    public record FileInfo(String name, String partition, long records, long bytes) {}

    public record Description(String table, long rows, long bytes, List<Column> columns, List<SchemaVersion> schemas,
            List<PartitionColumn> partitionSpec, List<SnapshotInfo> snapshots, List<FileInfo> files, long fileCount) {}

    public record Rows(List<String> columns, List<String> types, List<List<Object>> rows, Optional<Long> snapshotId,
            Optional<Instant> at) {}

    /**
     * @param visible which columns the reader may see (a column grant); hidden ones are left out of every schema
     */
    public Description describe(String qualifiedName, Predicate<String> visible) {
        return LakeFailure.guard("describe " + qualifiedName, () -> describeNow(qualifiedName, visible));
    }

    private Description describeNow(String qualifiedName, Predicate<String> visible) {
        Table table = load(qualifiedName);
        Snapshot current = table.currentSnapshot();
        Map<String, String> summary = current == null ? Map.of() : current.summary();
        List<SnapshotInfo> snapshots = new ArrayList<>();
        Map<Integer, Snapshot> firstBySchema = new HashMap<>();
        for (Snapshot s : table.snapshots()) {
            snapshots.add(new SnapshotInfo(s.snapshotId(), Optional.ofNullable(s.parentId()), Instant.ofEpochMilli(s.timestampMillis()),
                    Optional.ofNullable(s.operation()).orElse("?"), current != null && s.snapshotId() == current.snapshotId(),
                    number(s.summary(), "added-records"), number(s.summary(), "added-data-files"), number(s.summary(), "total-records"),
                    number(s.summary(), "total-data-files")));
            if (s.schemaId() != null) {
                firstBySchema.merge(s.schemaId(), s, (a, b) -> a.timestampMillis() <= b.timestampMillis() ? a : b);
            }
        }
        snapshots.sort(Comparator.comparing(SnapshotInfo::at).reversed());
        List<SchemaVersion> schemas = new ArrayList<>();
        Set<String> previous = new LinkedHashSet<>();
        List<Integer> ids = new ArrayList<>(table.schemas().keySet());
        ids.sort(Comparator.naturalOrder());
        for (int id : ids) {
            List<Column> columns = columns(table.schemas().get(id), visible);
            Set<String> names = new LinkedHashSet<>();
            columns.forEach(c -> names.add(c.name()));
            List<String> added = names.stream().filter(n -> !previous.contains(n)).toList();
            List<String> removed = previous.stream().filter(n -> !names.contains(n)).toList();
            Snapshot first = firstBySchema.get(id);
            schemas.add(new SchemaVersion(id, id == table.schema().schemaId(), columns, added, removed,
                    Optional.ofNullable(first).map(Snapshot::snapshotId), Optional.ofNullable(first).map(s -> Instant.ofEpochMilli(s.timestampMillis()))));
            previous.clear();
            previous.addAll(names);
        }
        List<PartitionColumn> spec = new ArrayList<>();
        for (PartitionField f : table.spec().fields()) {
            spec.add(new PartitionColumn(f.name(), f.transform().toString(), table.schema().findColumnName(f.sourceId())));
        }
        List<FileInfo> files = new ArrayList<>();
        long fileCount = 0;
        if (current != null) {
            try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
                for (FileScanTask task : tasks) {
                    fileCount++;
                    DataFile f = task.file();
                    String path = f.path().toString();
                    files.add(new FileInfo(path.substring(path.lastIndexOf('/') + 1), table.spec().partitionToPath(f.partition()),
                            f.recordCount(), f.fileSizeInBytes()));
                }
            } catch (java.io.IOException e) {
                throw LakeFailure.unreadable("list the files of " + qualifiedName, e);
            }
        }
        files.sort(Comparator.comparing(FileInfo::partition).reversed().thenComparing(FileInfo::name));
        return new Description(qualifiedName, number(summary, "total-records"), number(summary, "total-files-size"),
                columns(table.schema(), visible), schemas, spec, snapshots, files.subList(0, Math.min(files.size(), MAX_FILES)), fileCount);
    }

    /** The first {@code limit} rows of the table as of the snapshot (the current one when empty), visible columns only. */
    public Rows rows(String qualifiedName, OptionalLong snapshotId, int limit, Predicate<String> visible) {
        return LakeFailure.guard("read " + qualifiedName, () -> rowsNow(qualifiedName, snapshotId, limit, visible));
    }

    private Rows rowsNow(String qualifiedName, OptionalLong snapshotId, int limit, Predicate<String> visible) {
        Table table = load(qualifiedName);
        Snapshot snapshot = snapshotId.isPresent() ? table.snapshot(snapshotId.getAsLong()) : table.currentSnapshot();
        if (snapshotId.isPresent() && snapshot == null) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot read " + qualifiedName + " as of snapshot " + snapshotId.getAsLong()
                    + ": the table does not keep it (expired or never existed); list the kept ones with GET /v1/tables/" + qualifiedName);
        }
        Schema schema = snapshot == null ? table.schema() : table.schemas().getOrDefault(snapshot.schemaId(), table.schema());
        List<String> names = new ArrayList<>();
        List<String> types = new ArrayList<>();
        for (Types.NestedField f : schema.columns()) {
            if (visible.test(f.name())) {
                names.add(f.name());
                types.add(f.type().toString());
            }
        }
        List<List<Object>> rows = new ArrayList<>();
        if (snapshot != null && !names.isEmpty()) {
            IcebergGenerics.ScanBuilder scan = IcebergGenerics.read(table).useSnapshot(snapshot.snapshotId()).select(names);
            try (CloseableIterable<Record> records = scan.build()) {
                for (Record r : records) {
                    if (rows.size() >= limit) {
                        break;
                    }
                    List<Object> row = new ArrayList<>(names.size());
                    for (String n : names) {
                        row.add(plain(r.getField(n)));
                    }
                    rows.add(row);
                }
            } catch (java.io.IOException e) {
                throw LakeFailure.unreadable("read " + qualifiedName, e);
            }
        }
        return new Rows(names, types, rows, Optional.ofNullable(snapshot).map(Snapshot::snapshotId),
                Optional.ofNullable(snapshot).map(s -> Instant.ofEpochMilli(s.timestampMillis())));
    }

    private static List<Column> columns(Schema schema, Predicate<String> visible) {
        List<Column> out = new ArrayList<>();
        for (Types.NestedField f : schema.columns()) {
            if (visible.test(f.name())) {
                out.add(new Column(f.fieldId(), f.name(), f.type().toString(), f.isRequired(), f.doc()));
            }
        }
        return out;
    }

    /** Values a JSON writer can show as they read: times as ISO text, nested records as maps. */
    private static Object plain(Object value) {
        if (value instanceof OffsetDateTime || value instanceof java.time.LocalDateTime || value instanceof LocalDate
                || value instanceof java.time.LocalTime || value instanceof java.util.UUID) {
            return value.toString();
        }
        if (value instanceof java.nio.ByteBuffer b) {
            return "<" + b.remaining() + " bytes>";
        }
        if (value instanceof Record r) {
            Map<String, Object> m = new java.util.LinkedHashMap<>();
            for (Types.NestedField f : r.struct().fields()) {
                m.put(f.name(), plain(r.getField(f.name())));
            }
            return m;
        }
        if (value instanceof List<?> l) {
            return l.stream().map(TableInspector::plain).toList();
        }
        return value;
    }

    private static long number(Map<String, String> summary, String key) {
        try {
            return Long.parseLong(summary.getOrDefault(key, "0"));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private Table load(String qualifiedName) {
        return lake.catalog().loadTable(lake.resolve(qualifiedName));
    }
}
