package io.watershed.ingest.jdbc;

import java.math.BigDecimal;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;

/**
 * An incremental import's watermark (the largest value of its column published so far) between the database and
 * {@link ImportState}: saved as text with its kind ({@code long}, {@code decimal}, {@code timestamp}, {@code date},
 * {@code string}), and bound back as a value of the column's type, so that the comparison is the database's.
 */
final class WatermarkValues {
    private WatermarkValues() {}

    /** The saved watermark as a value of its kind, so that the comparison is the database's. */
    static Object typed(String text, String type) {
        return switch (type) {
            case "long" -> Long.parseLong(text);
            case "decimal" -> new BigDecimal(text);
            case "timestamp" -> java.sql.Timestamp.from(Instant.parse(text)); // the same Timestamp the driver gave
            case "date" -> java.sql.Date.valueOf(java.time.LocalDate.parse(text));
            default -> text;
        };
    }

    /** The kind a watermark value is saved as. */
    static String typeOf(Object value) {
        if (value instanceof Long || value instanceof Integer || value instanceof Short || value instanceof java.math.BigInteger) {
            return "long";
        }
        if (value instanceof BigDecimal || value instanceof Double || value instanceof Float) {
            return "decimal";
        }
        if (value instanceof java.sql.Timestamp || value instanceof java.time.LocalDateTime) {
            return "timestamp";
        }
        if (value instanceof java.sql.Date || value instanceof java.time.LocalDate) {
            return "date";
        }
        return "string";
    }

    /** The watermark as text; a timestamp as its instant, which gives back exactly the Timestamp the driver read. */
    static String text(Object value) {
        if (value instanceof java.sql.Timestamp t) {
            return t.toInstant().toString();
        }
        if (value instanceof java.time.LocalDateTime t) {
            return java.sql.Timestamp.valueOf(t).toInstant().toString();
        }
        if (value instanceof BigDecimal d) {
            return d.toPlainString();
        }
        return String.valueOf(value);
    }

    static void set(PreparedStatement statement, int index, Object value) {
        try {
            statement.setObject(index, value);
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot bind the watermark " + value + ": " + e.getMessage(), e);
        }
    }
}
