package io.watershed.stream;

import io.watershed.spi.FieldColumns;
import io.watershed.spi.StreamSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.apache.flink.table.api.TableEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A throwaway Iceberg catalog in a temporary directory for planning offline ({@code watershed validate}): the same
 * connector and options as the lake, no lake touched. It holds {@code raw.<stream>} of each stream with declared
 * fields, as the lake writer makes it (its columns named by {@link FieldColumns}), and whatever the planned pipelines
 * and models create; closing deletes it.
 */
final class PlanningCatalog implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PlanningCatalog.class);

    private Path warehouse;

    /** Registers the catalog in {@code env} as {@code catalogName} and makes it current. */
    void register(TableEnvironment env, String catalogName, Collection<StreamSpec> streams) {
        env.executeSql("CREATE CATALOG " + StreamTables.quote(catalogName) + " WITH ('type' = 'iceberg', "
                + "'catalog-type' = 'hadoop', 'warehouse' = '" + warehouse().toUri() + "')");
        env.useCatalog(catalogName);
        env.executeSql("CREATE DATABASE IF NOT EXISTS `raw`");
        for (StreamSpec stream : streams) {
            if (!stream.fields().isEmpty()) {
                StringBuilder raw = new StringBuilder("CREATE TABLE IF NOT EXISTS `raw`.").append(StreamTables.quote(stream.name()))
                        .append(" (\n");
                Map<String, String> fields = StreamTables.columns(stream, Optional.empty());
                Map<String, String> names = FieldColumns.name(fields.keySet(), StreamSpec.RESERVED_FIELDS);
                fields.forEach((field, type) -> raw.append("  ").append(StreamTables.quote(names.get(field)))
                        .append(' ').append(type).append(",\n"));
                env.executeSql(raw.append("  `_partition` INT,\n  `_offset` BIGINT,\n  `_ingested_at` TIMESTAMP_LTZ(6)\n)")
                        .toString());
            }
        }
    }

    private synchronized Path warehouse() {
        if (warehouse == null) {
            try {
                warehouse = Files.createTempDirectory("watershed-validate");
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot create a temporary directory to plan in", e);
            }
        }
        return warehouse;
    }

    @Override
    public synchronized void close() {
        if (warehouse == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(warehouse)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            LOG.debug("Cannot delete {}: {}", warehouse, e.toString());
        }
    }
}
