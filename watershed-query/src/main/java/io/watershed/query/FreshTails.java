package io.watershed.query;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.LakeTableView;
import io.watershed.spi.LakeTail;
import io.watershed.spi.WatershedException;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.duckdb.DuckDBAppender;
import org.duckdb.DuckDBConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fresh tails of raw tables in DuckDB: per table, the events the bus holds past its snapshot's offsets,
 * kept in a DuckDB table ({@code _tail.raw__clicks}) that grows by appends while the tail's generation stays
 * and is replaced when it changes. Not thread-safe: {@link LakeViews} calls it while it syncs, one sync at a
 * time, and changes the tables only under its write lock.
 */
final class FreshTails {
    private static final Logger LOG = LoggerFactory.getLogger(FreshTails.class);
    /** Where the fresh tails of raw tables are kept, one DuckDB table each ({@code _tail.raw__clicks}). */
    static final String SCHEMA = "_tail";

    private final DuckDBConnection connection;
    private final Map<String, Long> generations = new HashMap<>();
    private final Map<String, Integer> held = new HashMap<>();

    FreshTails(DuckDBConnection connection) {
        this.connection = connection;
    }

    /** The DuckDB table of the tail of {@code qualifiedName}. */
    static String table(String qualifiedName) {
        return SCHEMA + "." + DuckDbSql.identifier(qualifiedName.replace(".", "__"));
    }

    /** Whether DuckDB holds a tail of the table. */
    boolean has(String qualifiedName) {
        return generations.containsKey(qualifiedName);
    }

    /** The tables DuckDB holds a tail of. */
    List<String> names() {
        return new ArrayList<>(generations.keySet());
    }

    boolean isEmpty() {
        return generations.isEmpty();
    }

    /** Asks for what the table's tail gained since what DuckDB holds. */
    LakeTail.Request request(LakeTableView table) {
        String name = table.qualifiedName();
        return new LakeTail.Request(table, generations.getOrDefault(name, 0L), held.getOrDefault(name, 0));
    }

    /** Whether any of these tails brings rows or a new generation. */
    boolean changed(List<LakeTail.Tail> tails) {
        for (LakeTail.Tail t : tails) {
            if (!t.rows().isEmpty() || !Long.valueOf(t.generation()).equals(generations.get(t.qualifiedName()))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Puts the tail's rows into the table's DuckDB tail table: appends them when they continue the rows
     * it holds, or replaces the table when the tail's generation changed. Returns whether the table was
     * replaced or dropped (the view over it is then rebuilt). Runs under the write lock.
     */
    boolean install(Statement s, LakeTail.Tail t) {
        String name = t.qualifiedName();
        boolean replace = !Long.valueOf(t.generation()).equals(generations.get(name));
        try {
            if (replace) {
                String columns = t.columns().stream().map(c -> DuckDbSql.identifier(c.name()) + " " + c.sqlType())
                        .collect(Collectors.joining(", "));
                s.execute("CREATE OR REPLACE TABLE " + table(name) + " (" + columns + ")");
            }
            if (!t.rows().isEmpty()) {
                try (DuckDBAppender appender = connection.createAppender(SCHEMA, name.replace(".", "__"))) {
                    DuckDbRows.appendAll(appender, t.rows());
                }
            }
            generations.put(name, t.generation());
            held.put(name, (replace ? 0 : held.getOrDefault(name, 0)) + t.rows().size());
            return replace;
        } catch (SQLException | RuntimeException e) {
            LOG.error("Cannot copy the fresh tail of {} into DuckDB; its queries see the committed snapshot until the next "
                    + "query copies it again: {}", name, e.toString());
            try {
                drop(s, name);
            } catch (SQLException dropFailed) {
                throw new WatershedException(ErrorCode.INTERNAL, "Cannot drop the fresh tail of " + name + ": "
                        + dropFailed.getMessage(), dropFailed);
            }
            return true;
        }
    }

    /** Drops the table's tail; its view then reads the snapshot alone. Runs under the write lock. */
    void drop(Statement s, String name) throws SQLException {
        s.execute("DROP TABLE IF EXISTS " + table(name));
        generations.remove(name);
        held.remove(name);
    }
}
