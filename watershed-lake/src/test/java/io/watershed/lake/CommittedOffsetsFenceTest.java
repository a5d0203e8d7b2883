package io.watershed.lake;

import static io.watershed.lake.UpkeepTables.NOW;
import static io.watershed.lake.UpkeepTables.append;
import static io.watershed.lake.UpkeepTables.rawTable;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.iceberg.Table;
import org.apache.iceberg.exceptions.ValidationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fence of a lake writer's commit: two instances' writers of one table (the old holder of its lease paused, the new
 * one running) each started from the offsets they read; only a commit from the table's current offsets goes in.
 */
class CommittedOffsetsFenceTest {
    @TempDir
    Path dir;

    @Test
    void aWriterWhoseStartingOffsetsMovedOnCannotCommit() throws Exception {
        try (IcebergLake lake = new IcebergLake(dir)) {
            Table table = rawTable(lake, "clicks");
            AtomicLong offset = new AtomicLong();
            append(lake, table, offset, 10, NOW, NOW);
            table.refresh();
            Map<Integer, Long> base = CommittedOffsets.of(table); // {0=10}: where both writers start
            Table stale = lake.catalog().loadTable(org.apache.iceberg.catalog.TableIdentifier.of("raw", "clicks"));

            // the new holder commits 10..20 first
            table.newAppend().set(CommittedOffsets.SUMMARY_KEY, "0:20").validateWith(CommittedOffsets.unchangedSince(base)).commit();

            // the old one, resumed, tries to commit the same range from its stale copy of the table: refused, not retried
            assertThatThrownBy(() -> stale.newAppend().set(CommittedOffsets.SUMMARY_KEY, "0:20")
                    .validateWith(CommittedOffsets.unchangedSince(base)).commit())
                    .isInstanceOf(ValidationException.class)
                    .satisfies(e -> assertThat(CommittedOffsets.fenced((RuntimeException) e)).isTrue())
                    .hasMessageContaining("{0:20}").hasMessageContaining("{0:10}");
            table.refresh();
            assertThat(CommittedOffsets.of(table)).containsExactly(Map.entry(0, 20L));

            // a maintenance snapshot (no offsets) in between does not move the fence
            table.newAppend().commit();
            stale.refresh();
            stale.newAppend().set(CommittedOffsets.SUMMARY_KEY, "0:30")
                    .validateWith(CommittedOffsets.unchangedSince(CommittedOffsets.of(stale))).commit();
            table.refresh();
            assertThat(CommittedOffsets.of(table)).containsExactly(Map.entry(0, 30L));
        }
    }

    @Test
    void theFirstCommitOfATableExpectsNoOffsets() throws Exception {
        try (IcebergLake lake = new IcebergLake(dir)) {
            Table table = rawTable(lake, "fresh");
            table.newAppend().set(CommittedOffsets.SUMMARY_KEY, "0:5").validateWith(CommittedOffsets.unchangedSince(Map.of())).commit();
            assertThatThrownBy(() -> table.newAppend().set(CommittedOffsets.SUMMARY_KEY, "0:5")
                    .validateWith(CommittedOffsets.unchangedSince(Map.of())).commit())
                    .satisfies(e -> assertThat(CommittedOffsets.fenced((RuntimeException) e)).isTrue());
        }
    }
}
