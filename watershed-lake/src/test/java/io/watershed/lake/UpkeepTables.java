package io.watershed.lake;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.iceberg.AppendFiles;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.FanoutDataWriter;

/** Raw tables for the upkeep tests, and appends that record offsets like the lake writer. */
final class UpkeepTables {
    static final OffsetDateTime NOW = OffsetDateTime.now(ZoneOffset.UTC);

    private UpkeepTables() {}

    static Table rawTable(IcebergLake lake, String name) {
        return lake.catalog().buildTable(TableIdentifier.of(IcebergLake.RAW, name), RawSchema.initial())
                .withPartitionSpec(RawSchema.spec(RawSchema.initial()))
                .withProperty("format-version", "2").create();
    }

    /** One commit of {@code rows} rows, half at each of two ingest times, recording the offsets like the lake writer. */
    static void append(IcebergLake lake, Table table, AtomicLong offset, int rows, OffsetDateTime first,
            OffsetDateTime second) throws Exception {
        table.refresh();
        FanoutDataWriter<Record> writer = LakeFiles.writer(table, 1 << 20, 0, System.nanoTime());
        PartitionKey key = new PartitionKey(table.spec(), table.schema());
        InternalRecordWrapper wrapper = new InternalRecordWrapper(table.schema().asStruct());
        try (writer) {
            for (int i = 0; i < rows; i++) {
                GenericRecord row = GenericRecord.create(table.schema());
                row.setField("_partition", 0);
                row.setField("_offset", offset.getAndIncrement());
                row.setField("_ingested_at", i < rows / 2 ? first : second);
                key.partition(wrapper.wrap(row));
                writer.write(row, table.spec(), key);
            }
        }
        List<DataFile> files = writer.result().dataFiles();
        lake.commit(() -> {
            AppendFiles append = table.newAppend();
            files.forEach(append::appendFile);
            append.set(CommittedOffsets.SUMMARY_KEY, CommittedOffsets.encode(Map.of(0, offset.get())));
            append.commit();
            return null;
        });
    }

    static List<DataFile> dataFiles(Table table) throws Exception {
        List<DataFile> files = new ArrayList<>();
        try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
            tasks.forEach(t -> files.add(t.file()));
        }
        return files;
    }

    static Map<Long, Integer> offsets(Table table) throws Exception {
        Map<Long, Integer> seen = new TreeMap<>();
        try (CloseableIterable<Record> rows = IcebergGenerics.read(table).build()) {
            for (Record r : rows) {
                seen.merge((Long) r.getField("_offset"), 1, Integer::sum);
            }
        }
        return seen;
    }

    static int count(Iterable<Snapshot> snapshots) {
        int n = 0;
        for (Snapshot ignored : snapshots) {
            n++;
        }
        return n;
    }
}
