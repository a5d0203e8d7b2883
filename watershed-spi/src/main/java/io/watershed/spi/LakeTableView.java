package io.watershed.spi;

import java.util.List;
import java.util.Map;

/**
 * What the query engine needs to read one lake table at its current snapshot: its name, the
 * snapshot id, its columns in schema order (with their Iceberg field ids), its live data files, and
 * for a table landed from a stream the bus offsets the snapshot covers (partition to the next offset
 * not yet in the table; empty otherwise).
 */
public record LakeTableView(String namespace, String name, long snapshotId, List<Column> columns, List<DataFile> files,
        Map<Integer, Long> offsets) {
    public LakeTableView {
        columns = List.copyOf(columns);
        files = List.copyOf(files);
        offsets = Map.copyOf(offsets);
    }

    public String qualifiedName() {
        return namespace + "." + name;
    }

    /**
     * @param sqlType the DuckDB type name of the column (BIGINT, VARCHAR, TIMESTAMPTZ...)
     * @param field the event field a raw table's column holds, which its name may not be ({@link FieldColumns}); the
     *        column's name in any other table
     */
    public record Column(int id, String name, String sqlType, String field) {
        public Column(int id, String name, String sqlType) {
            this(id, name, sqlType, name);
        }
    }

    /**
     * @param path absolute local path of a Parquet file
     * @param rows its record count
     */
    public record DataFile(String path, long rows) {}
}
