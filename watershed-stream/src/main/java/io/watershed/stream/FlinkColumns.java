package io.watershed.stream;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.table.catalog.Column;
import org.apache.flink.table.catalog.ResolvedSchema;
import org.apache.flink.table.types.logical.LocalZonedTimestampType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.TimestampType;

/** The columns of a query's result as a table that keeps them gets them: time attributes become plain timestamps. */
final class FlinkColumns {
    private FlinkColumns() {}

    /** Column names and Flink types, in order. */
    static Map<String, String> types(ResolvedSchema schema) {
        Map<String, String> columns = new LinkedHashMap<>();
        for (Column column : schema.getColumns()) {
            columns.put(column.getName(), plain(column.getDataType().getLogicalType()).asSerializableString());
        }
        return columns;
    }

    /** Column definitions for a CREATE TABLE: {@code `name` TYPE}, in order. */
    static List<String> definitions(ResolvedSchema schema) {
        List<String> columns = new ArrayList<>();
        for (Column column : schema.getColumns()) {
            columns.add(StreamTables.quote(column.getName()) + " " + plain(column.getDataType().getLogicalType()).asSerializableString());
        }
        return columns;
    }

    /** The type without its time attribute (a window's rowtime is a plain timestamp in a table). */
    static LogicalType plain(LogicalType type) {
        if (type instanceof TimestampType t) {
            return new TimestampType(t.isNullable(), t.getPrecision());
        }
        if (type instanceof LocalZonedTimestampType t) {
            return new LocalZonedTimestampType(t.isNullable(), t.getPrecision());
        }
        return type;
    }
}
