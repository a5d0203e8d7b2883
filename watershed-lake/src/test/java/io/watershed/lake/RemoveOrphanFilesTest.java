package io.watershed.lake;

import static io.watershed.lake.UpkeepTables.NOW;
import static io.watershed.lake.UpkeepTables.append;
import static io.watershed.lake.UpkeepTables.dataFiles;
import static io.watershed.lake.UpkeepTables.offsets;
import static io.watershed.lake.UpkeepTables.rawTable;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.iceberg.Table;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Orphan file removal on a real Iceberg JDBC catalog (SQLite) and local warehouse. */
class RemoveOrphanFilesTest {
    @TempDir
    Path dir;

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

            RemoveOrphanFiles.Result orphans = RemoveOrphanFiles.remove(table, Duration.ofDays(3), System.currentTimeMillis());

            assertThat(orphans.filesRemoved()).isEqualTo(1);
            assertThat(oldOrphan).doesNotExist();
            assertThat(freshOrphan).exists();
            referenced.forEach(p -> assertThat(p).exists());
            assertThat(offsets(table)).hasSize(10);
        }
    }
}
