package io.watershed.lake;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.LakeCatalog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each upkeep step on a real Iceberg JDBC catalog (SQLite) and local warehouse, with writers appending meanwhile. */
class TableUpkeepTest {
    private static final OffsetDateTime NOW = OffsetDateTime.now(ZoneOffset.UTC);

    @TempDir
    Path dir;

    @Test
    void compactionRewritesSmallFilesPerPartitionAndKeepsEveryRowOnce() throws Exception {
        try (IcebergLake lake = new IcebergLake(dir)) {
            Table table = rawTable(lake, "clicks");
            AtomicLong offset = new AtomicLong();
            for (int i = 0; i < 12; i++) {
                append(lake, table, offset, 50, NOW.minusDays(1), NOW); // two partitions per commit
            }
            table.refresh();
            assertThat(dataFiles(table)).hasSize(24);
            Map<Long, Integer> before = offsets(table);

            TableUpkeep.Compaction result = TableUpkeep.compact(lake, table, 128L << 20, 10, false);

            table.refresh();
            assertThat(result.filesRewritten()).isEqualTo(24);
            assertThat(dataFiles(table)).as("one file per day partition").hasSize(2);
            assertThat(offsets(table)).isEqualTo(before);
            assertThat(table.currentSnapshot().summary()).containsEntry(TableUpkeep.OPERATION, "compact");
            assertThat(CommittedOffsets.of(table)).as("the writer's bookmark is still found behind the compaction")
                    .containsEntry(0, offset.get());

            TableUpkeep.Compaction again = TableUpkeep.compact(lake, table, 128L << 20, 10, false);
            assertThat(again.filesRewritten()).as("below the threshold: nothing to do").isZero();
        }
    }

    @Test
    void automaticCompactionMergesFilesOfOneSizeTierAndLeavesALargerCompactedFileAlone() throws Exception {
        try (IcebergLake lake = new IcebergLake(dir)) {
            Table table = rawTable(lake, "tiers");
            AtomicLong offset = new AtomicLong();
            append(lake, table, offset, 40_000, NOW, NOW); // tens of KB: two tiers above files of 10 rows (with 1 KiB tiers)
            table.refresh();
            String large = dataFiles(table).get(0).location();
            for (int i = 0; i < 9; i++) {
                append(lake, table, offset, 10, NOW, NOW);
            }
            assertThat(TableUpkeep.compact(lake, table, 128L << 20, 10, 1024).filesRewritten())
                    .as("nine small files and one larger one: no tier holds ten").isZero();
            append(lake, table, offset, 10, NOW, NOW);

            TableUpkeep.Compaction result = TableUpkeep.compact(lake, table, 128L << 20, 10, 1024);

            table.refresh();
            assertThat(result.filesRewritten()).isEqualTo(10);
            assertThat(dataFiles(table)).extracting(DataFile::location).hasSize(2).contains(large);
            assertThat(offsets(table)).hasSize((int) offset.get()).doesNotContainValue(2);
        }
    }

    @Test
    void compactionRunningWhileAWriterAppendsLosesAndRepeatsNothing() throws Exception {
        try (IcebergLake lake = new IcebergLake(dir)) {
            Table table = rawTable(lake, "orders");
            Table writerView = lake.catalog().loadTable(TableIdentifier.of(IcebergLake.RAW, "orders"));
            AtomicLong offset = new AtomicLong();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread writer = new Thread(() -> {
                try {
                    while (!stop.get()) {
                        append(lake, writerView, offset, 20, NOW, NOW);
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            writer.start();
            int compacted = 0;
            int rounds = 0;
            while (compacted < 30 && rounds++ < 500) {
                compacted += TableUpkeep.compact(lake, lake.catalog().loadTable(TableIdentifier.of(IcebergLake.RAW, "orders")),
                        128L << 20, 5, true).filesRewritten();
            }
            stop.set(true);
            writer.join();
            assertThat(failure.get()).as("the writer's appends never fail because of compaction").isNull();
            assertThat(compacted).isGreaterThanOrEqualTo(30);
            table.refresh();
            Map<Long, Integer> seen = offsets(table);
            assertThat(seen).hasSize((int) offset.get());
            assertThat(seen.values()).as("every row exactly once").containsOnly(1);
        }
    }

    @Test
    void expiryKeepsHeldSnapshotsAndTheWritersBookmarkAndDeletesOnlyWhatNothingReferences() throws Exception {
        try (IcebergLake lake = new IcebergLake(dir)) {
            Table table = rawTable(lake, "views");
            AtomicLong offset = new AtomicLong();
            for (int i = 0; i < 6; i++) {
                append(lake, table, offset, 10, NOW, NOW);
            }
            table.refresh();
            long held = table.currentSnapshot().snapshotId();
            Set<String> heldFiles = new java.util.HashSet<>();
            dataFiles(table).forEach(f -> heldFiles.add(f.location()));
            LakeCatalog.Hold hold = lake.hold("raw", "views", held);
            TableUpkeep.compact(lake, table, 128L << 20, 2, false);
            TableUpkeep.compact(lake, table, 128L << 20, 2, false); // nothing more to do, no new snapshot
            table.refresh();
            int snapshots = count(table.snapshots());
            assertThat(snapshots).isEqualTo(7);

            long later = System.currentTimeMillis() + Duration.ofHours(1).toMillis();
            TableUpkeep.Expiry expiry;
            synchronized (lake.holds()) {
                expiry = TableUpkeep.expire(lake, table, lake.holds(), Duration.ofMinutes(1), later);
            }
            table.refresh();
            // the held snapshot (the last append) is also the writer's bookmark; the compaction is current
            assertThat(expiry.snapshotsExpired()).isEqualTo(5);
            assertThat(table.snapshot(held)).isNotNull();
            heldFiles.forEach(f -> assertThat(Path.of(java.net.URI.create(f).getPath())).exists());
            assertThat(CommittedOffsets.of(table)).containsEntry(0, offset.get());

            hold.close();
            append(lake, table, offset, 10, NOW, NOW); // a newer bookmark: the old one may go now
            table.refresh();
            synchronized (lake.holds()) {
                expiry = TableUpkeep.expire(lake, table, lake.holds(), Duration.ofMinutes(1),
                        System.currentTimeMillis() + Duration.ofHours(1).toMillis());
            }
            table.refresh();
            assertThat(expiry.snapshotsExpired()).isEqualTo(2);
            assertThat(table.snapshot(held)).isNull();
            heldFiles.forEach(f -> assertThat(Path.of(java.net.URI.create(f).getPath()))
                    .as("held only by the expired snapshot").doesNotExist());
            assertThat(offsets(table)).hasSize((int) offset.get());
        }
    }

    @Test
    void anOpenHoldKeepsEverySnapshotMadeSinceItBegan() throws Exception {
        try (IcebergLake lake = new IcebergLake(dir)) {
            Table table = rawTable(lake, "builds");
            AtomicLong offset = new AtomicLong();
            append(lake, table, offset, 10, NOW, NOW);
            LakeCatalog.Hold hold = lake.hold("raw", "builds", -1); // a Flink job about to plan its scan
            append(lake, table, offset, 10, NOW, NOW);
            append(lake, table, offset, 10, NOW, NOW);
            table.refresh();
            TableUpkeep.Expiry expiry;
            synchronized (lake.holds()) {
                expiry = TableUpkeep.expire(lake, table, lake.holds(), Duration.ZERO, System.currentTimeMillis() + 60_000);
            }
            assertThat(expiry.snapshotsExpired()).as("the first snapshot was current when the hold began").isZero();
            hold.close();
            synchronized (lake.holds()) {
                expiry = TableUpkeep.expire(lake, table, lake.holds(), Duration.ZERO, System.currentTimeMillis() + 60_000);
            }
            assertThat(expiry.snapshotsExpired()).isEqualTo(2);
        }
    }

    @Test
    void historyOlderThanAQuarterHourIsThinnedToTheSnapshotsCurrentAtFullHours() throws Exception {
        try (IcebergLake lake = new IcebergLake(dir)) {
            Table table = rawTable(lake, "ticks");
            AtomicLong offset = new AtomicLong();
            for (int i = 0; i < 5; i++) {
                append(lake, table, offset, 2, NOW, NOW);
            }
            TableUpkeep.Expiry recent;
            synchronized (lake.holds()) {
                recent = TableUpkeep.expire(lake, table, lake.holds(), Duration.ofDays(3), System.currentTimeMillis());
            }
            assertThat(recent.snapshotsExpired()).as("the last quarter hour is kept whole").isZero();
            TableUpkeep.Expiry hourLater;
            synchronized (lake.holds()) {
                hourLater = TableUpkeep.expire(lake, table, lake.holds(), Duration.ofDays(3),
                        System.currentTimeMillis() + Duration.ofHours(1).toMillis());
            }
            // four replaced snapshots, all within one second: at most one of them was current at a full hour
            assertThat(hourLater.snapshotsExpired()).isBetween(3, 4);
            table.refresh();
            assertThat(offsets(table)).hasSize(10);
        }
    }

    @Test
    void orphanCleanupRemovesOnlyOldUnreferencedFiles() throws Exception {
        try (IcebergLake lake = new IcebergLake(dir)) {
            Table table = rawTable(lake, "logs");
            AtomicLong offset = new AtomicLong();
            append(lake, table, offset, 10, NOW, NOW);
            table.refresh();
            Path data = Path.of(java.net.URI.create(table.location()).getPath()).resolve("data");
            Path oldOrphan = Files.writeString(data.resolve("crashed-mid-write.parquet"), "half a file");
            Files.setLastModifiedTime(oldOrphan, FileTime.from(Instant.now().minus(Duration.ofDays(4))));
            Path freshOrphan = Files.writeString(data.resolve("being-written.parquet"), "in flight");
            List<Path> referenced = new ArrayList<>();
            dataFiles(table).forEach(f -> referenced.add(Path.of(java.net.URI.create(f.location()).getPath())));
            for (Path p : referenced) {
                Files.setLastModifiedTime(p, FileTime.from(Instant.now().minus(Duration.ofDays(10))));
            }

            TableUpkeep.Orphans orphans = TableUpkeep.removeOrphans(table, Duration.ofDays(3), System.currentTimeMillis());

            assertThat(orphans.filesRemoved()).isEqualTo(1);
            assertThat(oldOrphan).doesNotExist();
            assertThat(freshOrphan).exists();
            referenced.forEach(p -> assertThat(p).exists());
            assertThat(offsets(table)).hasSize(10);
        }
    }

    @Test
    void retentionDropsExactlyThePartitionsThatEndedBeforeTheCutoff() throws Exception {
        try (IcebergLake lake = new IcebergLake(dir)) {
            Table table = rawTable(lake, "events");
            AtomicLong offset = new AtomicLong();
            for (int daysAgo : new int[] {10, 5, 3, 2, 0}) {
                append(lake, table, offset, 10, NOW.minusDays(daysAgo), NOW.minusDays(daysAgo));
            }
            table.refresh();

            int dropped = TableUpkeep.dropExpiredPartitions(lake, table, RawSchema.INGESTED_AT, Duration.ofDays(3), NOW.toInstant());

            table.refresh();
            // the cutoff is 3 days ago, truncated to its day: days -10 and -5 end before it, day -3 does not
            assertThat(dropped).isEqualTo(2);
            Map<String, Long> perDay = new TreeMap<>();
            try (CloseableIterable<Record> rows = IcebergGenerics.read(table).build()) {
                for (Record r : rows) {
                    perDay.merge(((OffsetDateTime) r.getField(RawSchema.INGESTED_AT)).toLocalDate().toString(), 1L, Long::sum);
                }
            }
            assertThat(perDay).containsOnlyKeys(NOW.minusDays(3).toLocalDate().toString(), NOW.minusDays(2).toLocalDate().toString(),
                    NOW.toLocalDate().toString());
            assertThat(perDay.values()).containsOnly(10L);
            assertThat(table.currentSnapshot().summary()).containsEntry(TableUpkeep.OPERATION, "retention");
            assertThat(TableUpkeep.dropExpiredPartitions(lake, table, RawSchema.INGESTED_AT, Duration.ofDays(3), NOW.toInstant()))
                    .isZero();
        }
    }

    private static Table rawTable(IcebergLake lake, String name) {
        return lake.catalog().buildTable(TableIdentifier.of(IcebergLake.RAW, name), RawSchema.initial())
                .withPartitionSpec(RawSchema.spec(RawSchema.initial()))
                .withProperty("format-version", "2").create();
    }

    /** One commit of {@code rows} rows, half at each of two ingest times, recording the offsets like the lake writer. */
    private static void append(IcebergLake lake, Table table, AtomicLong offset, int rows, OffsetDateTime first,
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

    private static List<DataFile> dataFiles(Table table) throws Exception {
        List<DataFile> files = new ArrayList<>();
        try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
            tasks.forEach(t -> files.add(t.file()));
        }
        return files;
    }

    private static Map<Long, Integer> offsets(Table table) throws Exception {
        Map<Long, Integer> seen = new TreeMap<>();
        try (CloseableIterable<Record> rows = IcebergGenerics.read(table).build()) {
            for (Record r : rows) {
                seen.merge((Long) r.getField("_offset"), 1, Integer::sum);
            }
        }
        return seen;
    }

    private static int count(Iterable<Snapshot> snapshots) {
        int n = 0;
        for (Snapshot ignored : snapshots) {
            n++;
        }
        return n;
    }
}
