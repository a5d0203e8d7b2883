package io.watershed.lake;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Map;
import org.apache.iceberg.AppendFiles;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.GenericFileWriterFactory;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.FanoutDataWriter;
import org.apache.iceberg.io.OutputFileFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** On a real Iceberg JDBC catalog (SQLite): which dead letters a restart must not land again. */
class DeadLetterOffsetsTest {
    @TempDir
    Path dir;

    @Test
    void findsTheDeadLettersCommittedAheadOfTheMainTable() throws Exception {
        try (IcebergLake lake = new IcebergLake(dir)) {
            Table dlq = lake.catalog().buildTable(TableIdentifier.of(IcebergLake.RAW, "s__dlq"), RawSchema.dlqSchema())
                    .withPartitionSpec(RawSchema.spec(RawSchema.dlqSchema())).create();
            append(dlq, new long[][] {{0, 2}, {0, 7}, {0, 12}, {1, 1}});

            DeadLetterOffsets ahead = DeadLetterOffsets.between(dlq, Map.of(0, 6L, 1, 0L), Map.of(0, 13L, 1, 2L));
            assertThat(ahead.contains(0, 7)).isTrue();
            assertThat(ahead.contains(0, 12)).isTrue();
            assertThat(ahead.contains(1, 1)).isTrue();
            assertThat(ahead.contains(0, 2)).as("behind the main table's offset: never read again").isFalse();
            assertThat(ahead.contains(0, 8)).isFalse();

            DeadLetterOffsets caughtUp = DeadLetterOffsets.between(dlq, Map.of(0, 13L, 1, 2L), Map.of(0, 13L, 1, 2L));
            assertThat(caughtUp).isSameAs(DeadLetterOffsets.NONE);
        }
    }

    /**
     * Two restarts: the first life committed dead letters of partition 1 up to offset 900, and was killed before the main
     * table's commit (main at 700 there). The second life, replaying partition 1 and still at 700 there, commits a new
     * dead letter of partition 0, then its main commit, and is killed. The third life must still skip partition 1's
     * dead letters past 700: the dead-letter table's offsets may not fall back to 700.
     */
    @Test
    void aDeadLetterCommitWhileReplayingKeepsTheOffsetsItHad() throws Exception {
        try (IcebergLake lake = new IcebergLake(dir)) {
            Table dlq = lake.catalog().buildTable(TableIdentifier.of(IcebergLake.RAW, "s__dlq"), RawSchema.dlqSchema())
                    .withPartitionSpec(RawSchema.spec(RawSchema.dlqSchema())).create();
            Map<Integer, Long> first = Map.of(0, 100L, 1, 900L);
            append(dlq, new long[][] {{1, 803}, {1, 823}}, CommittedOffsets.encode(first));

            Map<Integer, Long> second = DeadLetterOffsets.afterCommit(CommittedOffsets.of(dlq), Map.of(0, 160L, 1, 700L));
            append(dlq, new long[][] {{0, 150}}, CommittedOffsets.encode(second));
            assertThat(CommittedOffsets.of(dlq)).containsEntry(0, 160L).containsEntry(1, 900L);

            DeadLetterOffsets third = DeadLetterOffsets.between(dlq, Map.of(0, 160L, 1, 700L), CommittedOffsets.of(dlq));
            assertThat(third.contains(1, 803)).as("landed by the first life: skipped again").isTrue();
            assertThat(third.contains(1, 823)).isTrue();
            assertThat(third.contains(0, 150)).as("behind the main table").isFalse();
        }
    }

    private static void append(Table table, long[][] partitionOffsets) throws Exception {
        append(table, partitionOffsets, null);
    }

    private static void append(Table table, long[][] partitionOffsets, String offsets) throws Exception {
        GenericFileWriterFactory factory = new GenericFileWriterFactory.Builder(table).dataFileFormat(FileFormat.PARQUET).build();
        OutputFileFactory files = OutputFileFactory.builderFor(table, 0, 1).format(FileFormat.PARQUET).build();
        FanoutDataWriter<Record> writer = new FanoutDataWriter<>(factory, files, table.io(), 1 << 20);
        PartitionKey key = new PartitionKey(table.spec(), table.schema());
        InternalRecordWrapper wrapper = new InternalRecordWrapper(table.schema().asStruct());
        OffsetDateTime now = OffsetDateTime.now(ZoneOffset.UTC);
        try (writer) {
            for (long[] po : partitionOffsets) {
                GenericRecord row = GenericRecord.create(table.schema());
                row.setField("_partition", (int) po[0]);
                row.setField("_offset", po[1]);
                row.setField("_ingested_at", now);
                row.setField("raw", "{}");
                row.setField("reason", "test");
                row.setField("failed_at", now);
                key.partition(wrapper.wrap(row));
                writer.write(row, table.spec(), key);
            }
        }
        AppendFiles append = table.newAppend();
        writer.result().dataFiles().forEach(append::appendFile);
        if (offsets != null) {
            append.set(CommittedOffsets.SUMMARY_KEY, offsets);
        }
        append.commit();
    }
}
