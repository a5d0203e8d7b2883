package io.watershed.spi;

import java.util.List;
import java.util.function.Supplier;

/**
 * Tables the platform holds in memory and keeps current (a pipeline's live views), served to SQL
 * beside the lake's tables.
 */
public interface LiveTableSource {

    /** The tables as they are now; a table missing from the list is no longer served. */
    List<LiveTable> liveTables();

    /**
     * One table. Values are plain Java objects of the column's type: {@code String}, {@code Boolean},
     * {@code Byte}, {@code Short}, {@code Integer}, {@code Long}, {@code Float}, {@code Double},
     * {@code BigDecimal}, {@code LocalDate}, {@code LocalTime}, {@code LocalDateTime} (TIMESTAMP) or
     * {@code OffsetDateTime} (TIMESTAMPTZ), or null.
     *
     * @param version changes whenever the rows change, so a reader rebuilds its copy only then
     * @param rows the rows as of the call, each in column order
     */
    record LiveTable(String namespace, String name, long version, List<Column> columns, Supplier<List<Object[]>> rows) {
        public LiveTable {
            columns = List.copyOf(columns);
        }

        public String qualifiedName() {
            return namespace + "." + name;
        }
    }

    /** @param sqlType the DuckDB type name (VARCHAR, BIGINT, DECIMAL(10,2), TIMESTAMPTZ...) */
    record Column(String name, String sqlType) {}
}
