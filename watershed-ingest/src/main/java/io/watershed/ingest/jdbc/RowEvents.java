package io.watershed.ingest.jdbc;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.watershed.spi.EventBus;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Types;
import java.util.Base64;
import java.util.Optional;

/**
 * Rows of an import as events: each column a field (numbers as numbers, times as ISO-8601, UTC for zoned ones, bytes as
 * base64), keyed by the stream's key column; and the delete event of a key a full import no longer finds.
 */
final class RowEvents {
    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(com.fasterxml.jackson.core.json.JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8) // emoji as UTF-8
            .build();

    private final Optional<String> keyField;

    /** @param keyField the stream's key */
    RowEvents(Optional<String> keyField) {
        this.keyField = keyField;
    }

    /** The row as an event: its columns as fields, keyed by the stream's key column; with a run id, {@code import_run}. */
    EventBus.Event event(ResultSet r, ResultSetMetaData meta, String runId) throws SQLException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        String key = null;
        try (JsonGenerator json = JSON.createGenerator(out)) {
            json.writeStartObject();
            for (int i = 1; i <= meta.getColumnCount(); i++) {
                String column = meta.getColumnLabel(i);
                json.writeFieldName(column);
                Object value = write(json, r, i, meta.getColumnType(i));
                if (keyField.isPresent() && keyField.get().equalsIgnoreCase(column) && value != null) {
                    key = String.valueOf(value);
                }
            }
            if (runId != null) {
                json.writeStringField("import_run", runId);
            }
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new EventBus.Event(key == null ? null : key.getBytes(StandardCharsets.UTF_8), out.toByteArray(),
                System.currentTimeMillis());
    }

    /** One column as JSON: numbers as numbers, times as ISO-8601 (UTC for zoned), bytes as base64. */
    private static Object write(JsonGenerator json, ResultSet r, int i, int type) throws SQLException, IOException {
        switch (type) {
            case Types.TINYINT, Types.SMALLINT, Types.INTEGER, Types.BIGINT -> {
                long v = r.getLong(i);
                if (r.wasNull()) {
                    json.writeNull();
                    return null;
                }
                json.writeNumber(v);
                return v;
            }
            case Types.NUMERIC, Types.DECIMAL -> {
                BigDecimal v = r.getBigDecimal(i);
                if (v == null) {
                    json.writeNull();
                } else {
                    json.writeNumber(v);
                }
                return v;
            }
            case Types.REAL, Types.FLOAT, Types.DOUBLE -> {
                double v = r.getDouble(i);
                if (r.wasNull() || !Double.isFinite(v)) {
                    json.writeNull();
                    return null;
                }
                json.writeNumber(v);
                return v;
            }
            case Types.BOOLEAN, Types.BIT -> {
                boolean v = r.getBoolean(i);
                if (r.wasNull()) {
                    json.writeNull();
                    return null;
                }
                json.writeBoolean(v);
                return v;
            }
            case Types.TIMESTAMP_WITH_TIMEZONE -> {
                java.time.OffsetDateTime v = r.getObject(i, java.time.OffsetDateTime.class);
                return writeText(json, v == null ? null : v.toInstant().toString());
            }
            case Types.TIMESTAMP -> {
                java.sql.Timestamp v = r.getTimestamp(i);
                return writeText(json, v == null ? null : v.toLocalDateTime().toString());
            }
            case Types.DATE -> {
                java.sql.Date v = r.getDate(i);
                return writeText(json, v == null ? null : v.toLocalDate().toString());
            }
            case Types.BINARY, Types.VARBINARY, Types.LONGVARBINARY, Types.BLOB -> {
                byte[] v = r.getBytes(i);
                return writeText(json, v == null ? null : Base64.getEncoder().encodeToString(v));
            }
            default -> {
                return writeText(json, r.getString(i));
            }
        }
    }

    private static Object writeText(JsonGenerator json, String value) throws IOException {
        if (value == null) {
            json.writeNull();
        } else {
            json.writeString(value);
        }
        return value;
    }

    /** The column's index by its label, ignoring case; -1 if the result has no such column. */
    static int column(ResultSetMetaData meta, String name) {
        try {
            for (int i = 1; i <= meta.getColumnCount(); i++) {
                if (meta.getColumnLabel(i).equalsIgnoreCase(name)) {
                    return i;
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        return -1;
    }

    /** The key as a JSON literal (a number stays a number), as the delete event must carry it. */
    static String keyJson(Object key) {
        if (key instanceof Number n && !(key instanceof Double d && !Double.isFinite(d))) {
            return key instanceof BigDecimal b ? b.toPlainString() : n.toString();
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator json = JSON.createGenerator(out)) {
            json.writeString(String.valueOf(key));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** {@code {"<key field>": <key>, "__op": "d"}}. */
    static byte[] deleteEvent(String keyField, String key) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator json = JSON.createGenerator(out)) {
            json.writeStartObject();
            json.writeFieldName(keyField);
            json.writeRawValue(key);
            json.writeStringField("__op", "d");
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
