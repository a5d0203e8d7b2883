package io.watershed.query;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.sql.SQLException;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import org.duckdb.DuckDBAppender;

/** Values into and out of DuckDB: rows appended to a table (fresh tails, live tables), and result values made plain for JSON. */
final class DuckDbRows {
    private DuckDbRows() {}

    /** Appends the rows, each value as its Java type maps to DuckDB; other types as their text. */
    static void appendAll(DuckDBAppender appender, List<Object[]> rows) throws SQLException {
        for (Object[] row : rows) {
            appender.beginRow();
            for (Object value : row) {
                append(appender, value);
            }
            appender.endRow();
        }
    }

    private static void append(DuckDBAppender appender, Object value) throws SQLException {
        if (value == null) {
            appender.appendNull();
        } else if (value instanceof String v) {
            appender.append(v);
        } else if (value instanceof Boolean v) {
            appender.append(v.booleanValue());
        } else if (value instanceof Byte v) {
            appender.append(v.byteValue());
        } else if (value instanceof Short v) {
            appender.append(v.shortValue());
        } else if (value instanceof Integer v) {
            appender.append(v.intValue());
        } else if (value instanceof Long v) {
            appender.append(v.longValue());
        } else if (value instanceof Float v) {
            appender.append(v.floatValue());
        } else if (value instanceof Double v) {
            appender.append(v.doubleValue());
        } else if (value instanceof BigDecimal v) {
            appender.append(v);
        } else if (value instanceof LocalDate v) {
            appender.append(v);
        } else if (value instanceof LocalTime v) {
            appender.append(v);
        } else if (value instanceof LocalDateTime v) {
            appender.append(v);
        } else if (value instanceof OffsetDateTime v) {
            appender.append(v);
        } else {
            appender.append(value.toString());
        }
    }

    /** A result value as JSON shows it: numbers, strings, booleans and lists as they are, anything else as its text. */
    static Object plain(Object value) throws SQLException {
        if (value == null || value instanceof String || value instanceof Boolean || value instanceof Integer
                || value instanceof Long || value instanceof Double || value instanceof Float || value instanceof Short
                || value instanceof Byte || value instanceof BigInteger) {
            return value;
        }
        if (value instanceof BigDecimal decimal) {
            return decimal;
        }
        if (value instanceof java.sql.Array array) {
            List<Object> items = new ArrayList<>();
            for (Object item : (Object[]) array.getArray()) {
                items.add(plain(item));
            }
            return items;
        }
        return value.toString();
    }
}
