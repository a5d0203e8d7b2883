package io.watershed.query;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.QueryEngine.Cursor;
import io.watershed.spi.QueryEngine.Description;
import io.watershed.spi.WatershedException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.sql.ParameterMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.time.Duration;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.locks.Lock;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.duckdb.DuckDBConnection;

/**
 * A result of DuckDB handed out in batches. DuckDB builds the result before the first batch (streamed results lose the
 * reason of an error raised while they run, see {@link DuckDbSandbox}), so the client's memory stays bounded, DuckDB's
 * holds the result. Nested columns are read as JSON ({@code to_json}); other values as the plain Java types
 * {@link Cursor} lists. The statement's timeout covers its whole execution; a cancel stops it.
 */
final class DuckDbCursor implements Cursor {
    private static final Pattern NESTED = Pattern.compile("(?i)(STRUCT|MAP|UNION)\\(.*|.*\\[\\d*\\]");

    private final DuckDBConnection session;
    private final PreparedStatement statement;
    private final Duration timeout;
    /** Held while the statement starts running: the lake's views are not replaced meanwhile. */
    private final Lock starting;
    /** The result, once the first rows are asked for: the statement runs then, so that a cancel can reach it. */
    private ResultSet rows;
    private final Description description;
    private final List<String> tables;
    private final Runnable release;
    private volatile boolean cancelled;
    private boolean closed;

    private DuckDbCursor(DuckDBConnection session, PreparedStatement statement, Duration timeout, Lock starting,
            Description description, List<String> tables, Runnable release) {
        this.session = session;
        this.statement = statement;
        this.timeout = timeout;
        this.starting = starting;
        this.description = description;
        this.tables = tables;
        this.release = release;
    }

    /**
     * Prepares {@code sql} on {@code session} (which the cursor closes, then runs {@code release}) with its parameters
     * bound; it runs at the first {@link #next}.
     *
     * @throws SQLException when it cannot be prepared; the session is closed then, {@code release} is the caller's
     */
    static DuckDbCursor open(DuckDBConnection session, String sql, List<Object> parameters, Duration timeout, List<String> tables,
            Lock starting, Runnable release) throws SQLException {
        PreparedStatement statement = null;
        try {
            statement = session.prepareStatement(sql);
            Description prepared = describe(statement, false);
            if (prepared.types().stream().anyMatch(t -> NESTED.matcher(t).matches())) {
                statement.close();
                statement = session.prepareStatement(nestedAsJson(sql, prepared));
            }
            for (int i = 0; i < parameters.size(); i++) {
                statement.setObject(i + 1, parameters.get(i));
            }
            statement.setQueryTimeout((int) Math.max(1, timeout.toSeconds()));
            Description description = describe(statement.getMetaData(), prepared.parameterTypes());
            return new DuckDbCursor(session, statement, timeout, starting, description, tables, release);
        } catch (SQLException | RuntimeException e) {
            if (statement != null) {
                statement.close();
            }
            session.close();
            throw e;
        }
    }

    /** Each nested column as its JSON text, in place. */
    private static String nestedAsJson(String sql, Description description) {
        String replaced = new java.util.LinkedHashSet<>(description.columns()).stream()
                .filter(c -> NESTED.matcher(description.types().get(description.columns().indexOf(c))).matches())
                .map(c -> "to_json(" + DuckDbSql.identifier(c) + ") AS " + DuckDbSql.identifier(c))
                .collect(Collectors.joining(", "));
        return "SELECT * REPLACE (" + replaced + ") FROM (" + sql + "\n)";
    }

    /** The columns and parameters of a prepared statement; nested columns as JSON when {@code nestedAsJson}. */
    static Description describe(PreparedStatement statement, boolean nestedAsJson) throws SQLException {
        List<String> parameterTypes = new ArrayList<>();
        ParameterMetaData parameters = statement.getParameterMetaData();
        for (int i = 1; i <= parameters.getParameterCount(); i++) {
            String type;
            try {
                type = parameters.getParameterTypeName(i);
            } catch (SQLException | RuntimeException e) {
                type = "UNKNOWN";
            }
            parameterTypes.add(type == null ? "UNKNOWN" : type);
        }
        Description d = describe(statement.getMetaData(), parameterTypes);
        if (!nestedAsJson) {
            return d;
        }
        return new Description(d.columns(), d.types().stream().map(t -> NESTED.matcher(t).matches() ? "JSON" : t).toList(),
                d.parameterTypes());
    }

    private static Description describe(ResultSetMetaData meta, List<String> parameterTypes) throws SQLException {
        List<String> columns = new ArrayList<>();
        List<String> types = new ArrayList<>();
        for (int i = 1; i <= meta.getColumnCount(); i++) {
            columns.add(meta.getColumnLabel(i));
            types.add(meta.getColumnTypeName(i));
        }
        return new Description(columns, types, parameterTypes);
    }

    @Override
    public Description description() {
        return description;
    }

    @Override
    public List<Object[]> next(int max) {
        List<Object[]> batch = new ArrayList<>(Math.min(max, 4096));
        List<String> types = description.types();
        long started = System.nanoTime();
        try {
            if (rows == null) {
                if (cancelled) {
                    throw cancelledError(null);
                }
                starting.lock();
                try {
                    rows = statement.executeQuery();
                } finally {
                    starting.unlock();
                }
            }
            while (batch.size() < max) {
                if (cancelled) {
                    throw cancelledError(null);
                }
                if (!rows.next()) {
                    break;
                }
                Object[] row = new Object[types.size()];
                for (int i = 0; i < row.length; i++) {
                    row[i] = value(rows, i + 1, types.get(i));
                }
                batch.add(row);
            }
            return batch;
        } catch (SQLException e) {
            if (cancelled) {
                throw cancelledError(e);
            }
            if (Duration.ofNanos(System.nanoTime() - started).compareTo(timeout) >= 0) {
                throw new WatershedException(ErrorCode.QUERY_TIMEOUT, "Cannot finish the query: it ran longer than query.timeout ("
                        + timeout.toSeconds() + "s) and was cancelled; narrow it with WHERE or LIMIT", e);
            }
            throw DuckDbSql.translate(e);
        }
    }

    private static WatershedException cancelledError(SQLException e) {
        return new WatershedException(ErrorCode.QUERY_TIMEOUT, "Cannot finish the query: it was cancelled", e);
    }

    /** One value as the plain Java type of its DuckDB type. */
    static Object value(ResultSet rows, int column, String type) throws SQLException {
        String t = type.toUpperCase(Locale.ROOT);
        Object value = switch (t) {
            case "BOOLEAN" -> rows.getBoolean(column);
            case "TINYINT", "SMALLINT", "UTINYINT" -> rows.getShort(column);
            case "INTEGER", "USMALLINT" -> rows.getInt(column);
            case "BIGINT", "UINTEGER" -> rows.getLong(column);
            case "FLOAT" -> rows.getFloat(column);
            case "DOUBLE" -> rows.getDouble(column);
            case "UBIGINT", "HUGEINT", "UHUGEINT" -> {
                Object o = rows.getObject(column);
                yield o == null ? null : o instanceof BigInteger b ? new BigDecimal(b) : new BigDecimal(o.toString());
            }
            case "DATE" -> rows.getObject(column, LocalDate.class);
            case "TIME" -> rows.getObject(column, LocalTime.class);
            case "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS" -> rows.getObject(column, LocalDateTime.class);
            case "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ" -> rows.getObject(column, OffsetDateTime.class);
            case "UUID" -> {
                Object o = rows.getObject(column);
                yield o == null ? null : o instanceof UUID u ? u : UUID.fromString(o.toString());
            }
            case "BLOB" -> rows.getBytes(column);
            default -> t.startsWith("DECIMAL") ? rows.getBigDecimal(column) : rows.getString(column);
        };
        return rows.wasNull() ? null : value;
    }

    @Override
    public List<String> tables() {
        return tables;
    }

    @Override
    public void cancel() {
        cancelled = true;
        try {
            statement.cancel();
        } catch (SQLException | RuntimeException e) {
            // it may have ended meanwhile; the flag stops the reader at its next row
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (rows != null) {
                rows.close();
            }
            statement.close();
            session.close();
        } catch (SQLException e) {
            // nothing is left to read from it either way
        } finally {
            release.run();
        }
    }
}
