package io.watershed.lake;

import static io.watershed.lake.UpkeepTables.NOW;
import static io.watershed.lake.UpkeepTables.append;
import static io.watershed.lake.UpkeepTables.dataFiles;
import static io.watershed.lake.UpkeepTables.offsets;
import static io.watershed.lake.UpkeepTables.rawTable;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Compaction on a real Iceberg JDBC catalog (SQLite) and local warehouse, with writers appending meanwhile. */
class CompactDataFilesTest {
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

            CompactDataFiles.Result result = CompactDataFiles.compact(lake, table, 128L << 20, 10, false);

            table.refresh();
            assertThat(result.filesRewritten()).isEqualTo(24);
            assertThat(dataFiles(table)).as("one file per day partition").hasSize(2);
            assertThat(offsets(table)).isEqualTo(before);
            assertThat(table.currentSnapshot().summary()).containsEntry(TableUpkeep.OPERATION, "compact");
            assertThat(CommittedOffsets.of(table)).as("the writer's bookmark is still found behind the compaction")
                    .containsEntry(0, offset.get());

            CompactDataFiles.Result again = CompactDataFiles.compact(lake, table, 128L << 20, 10, false);
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
            assertThat(CompactDataFiles.compact(lake, table, 128L << 20, 10, 1024).filesRewritten())
                    .as("nine small files and one larger one: no tier holds ten").isZero();
            append(lake, table, offset, 10, NOW, NOW);

            CompactDataFiles.Result result = CompactDataFiles.compact(lake, table, 128L << 20, 10, 1024);

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
                compacted += CompactDataFiles.compact(lake, lake.catalog().loadTable(TableIdentifier.of(IcebergLake.RAW, "orders")),
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
}
