package io.watershed.lake;

import static io.watershed.lake.UpkeepTables.NOW;
import static io.watershed.lake.UpkeepTables.append;
import static io.watershed.lake.UpkeepTables.count;
import static io.watershed.lake.UpkeepTables.dataFiles;
import static io.watershed.lake.UpkeepTables.offsets;
import static io.watershed.lake.UpkeepTables.rawTable;
import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.LakeCatalog;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.iceberg.Table;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Snapshot expiry on a real Iceberg JDBC catalog (SQLite) and local warehouse: holds, bookmarks, thinned history. */
class ExpireSnapshotsTest {
    @TempDir
    Path dir;

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
            CompactDataFiles.compact(lake, table, 128L << 20, 2, false);
            CompactDataFiles.compact(lake, table, 128L << 20, 2, false); // nothing more to do, no new snapshot
            table.refresh();
            int snapshots = count(table.snapshots());
            assertThat(snapshots).isEqualTo(7);

            long later = System.currentTimeMillis() + Duration.ofHours(1).toMillis();
            ExpireSnapshots.Result expiry;
            synchronized (lake.holds()) {
                expiry = ExpireSnapshots.expire(lake, table, lake.holds(), Duration.ofMinutes(1), later);
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
                expiry = ExpireSnapshots.expire(lake, table, lake.holds(), Duration.ofMinutes(1),
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
            ExpireSnapshots.Result expiry;
            synchronized (lake.holds()) {
                expiry = ExpireSnapshots.expire(lake, table, lake.holds(), Duration.ZERO, System.currentTimeMillis() + 60_000);
            }
            assertThat(expiry.snapshotsExpired()).as("the first snapshot was current when the hold began").isZero();
            hold.close();
            synchronized (lake.holds()) {
                expiry = ExpireSnapshots.expire(lake, table, lake.holds(), Duration.ZERO, System.currentTimeMillis() + 60_000);
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
            ExpireSnapshots.Result recent;
            synchronized (lake.holds()) {
                recent = ExpireSnapshots.expire(lake, table, lake.holds(), Duration.ofDays(3), System.currentTimeMillis());
            }
            assertThat(recent.snapshotsExpired()).as("the last quarter hour is kept whole").isZero();
            ExpireSnapshots.Result hourLater;
            synchronized (lake.holds()) {
                hourLater = ExpireSnapshots.expire(lake, table, lake.holds(), Duration.ofDays(3),
                        System.currentTimeMillis() + Duration.ofHours(1).toMillis());
            }
            // four replaced snapshots, all within one second: at most one of them was current at a full hour
            assertThat(hourLater.snapshotsExpired()).isBetween(3, 4);
            table.refresh();
            assertThat(offsets(table)).hasSize(10);
        }
    }
}
