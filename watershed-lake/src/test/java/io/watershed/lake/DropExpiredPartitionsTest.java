package io.watershed.lake;

import static io.watershed.lake.UpkeepTables.NOW;
import static io.watershed.lake.UpkeepTables.append;
import static io.watershed.lake.UpkeepTables.rawTable;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Retention by partition on a real Iceberg JDBC catalog (SQLite) and local warehouse. */
class DropExpiredPartitionsTest {
    @TempDir
    Path dir;

    @Test
    void retentionDropsExactlyThePartitionsThatEndedBeforeTheCutoff() throws Exception {
        try (IcebergLake lake = new IcebergLake(dir)) {
            Table table = rawTable(lake, "events");
            AtomicLong offset = new AtomicLong();
            for (int daysAgo : new int[] {10, 5, 3, 2, 0}) {
                append(lake, table, offset, 10, NOW.minusDays(daysAgo), NOW.minusDays(daysAgo));
            }
            table.refresh();

            int dropped = DropExpiredPartitions.drop(lake, table, RawSchema.INGESTED_AT, Duration.ofDays(3), NOW.toInstant());

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
            assertThat(DropExpiredPartitions.drop(lake, table, RawSchema.INGESTED_AT, Duration.ofDays(3), NOW.toInstant()))
                    .isZero();
        }
    }
}
