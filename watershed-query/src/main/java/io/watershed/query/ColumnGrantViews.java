package io.watershed.query;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.LakeCatalog;
import io.watershed.spi.LakeTableView;
import io.watershed.spi.LiveTableSource.LiveTable;
import io.watershed.spi.WatershedException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.stream.Collectors;
import org.duckdb.DuckDBConnection;

/**
 * The views of column grants, {@code _grant.g_<hash>}: for a table a user may read in some columns only, a view
 * selecting those of them the table has now, made on first use (under the write lock) and named by a hash of
 * its definition; {@link TableGrants} rewrites the query to read it instead of the table.
 */
final class ColumnGrantViews {
    private final LakeCatalog lake;
    private final LiveTableCopies live;
    private final DuckDBConnection connection;
    private final ReentrantReadWriteLock viewLock;
    /** The views made so far: name in {@code _grant} -> definition. */
    private final Map<String, String> made = new ConcurrentHashMap<>();

    ColumnGrantViews(LakeCatalog lake, LiveTableCopies live, DuckDBConnection connection, ReentrantReadWriteLock viewLock) {
        this.lake = lake;
        this.live = live;
        this.connection = connection;
        this.viewLock = viewLock;
    }

    /** The views made so far, by their name in {@value TableGrants#GRANT_SCHEMA}: definition. */
    Map<String, String> made() {
        return made;
    }

    /**
     * For each {@code catalog.schema.table} and its readable columns, the name of the view of those columns
     * (made now when new).
     *
     * @throws WatershedException QUERY_FORBIDDEN when none of the granted columns exist in the table
     */
    Map<String, String> views(Map<String, Set<String>> limited) throws SQLException {
        Map<String, String> views = new HashMap<>();
        for (Map.Entry<String, Set<String>> e : limited.entrySet()) {
            String qualified = e.getKey();
            String[] parts = qualified.split("\\.", 3);
            String table = parts[1] + "." + parts[2];
            List<String> columns = new ArrayList<>();
            for (String column : columnsOf(table)) {
                if (e.getValue().contains(column.toLowerCase(Locale.ROOT))) {
                    columns.add(column);
                }
            }
            if (columns.isEmpty()) {
                throw new WatershedException(ErrorCode.QUERY_FORBIDDEN, "Cannot read " + table + ": none of the columns granted ("
                        + String.join(", ", new TreeSet<>(e.getValue())) + ") exist in it");
            }
            String source = (parts[0].equals(LakeViews.COMMITTED) ? LakeViews.COMMITTED + "." : "") + DuckDbSql.identifier(parts[1])
                    + "." + DuckDbSql.identifier(parts[2]);
            String definition = "SELECT " + columns.stream().map(DuckDbSql::identifier).collect(Collectors.joining(", "))
                    + " FROM " + source;
            String name = "g_" + sha256(definition).substring(0, 20);
            if (!definition.equals(made.get(name))) {
                viewLock.writeLock().lock();
                try (Statement s = connection.createStatement()) {
                    s.execute("CREATE OR REPLACE VIEW " + TableGrants.GRANT_SCHEMA + "." + DuckDbSql.identifier(name) + " AS "
                            + definition);
                    made.put(name, definition);
                } finally {
                    viewLock.writeLock().unlock();
                }
            }
            views.put(qualified, name);
        }
        return views;
    }

    private List<String> columnsOf(String table) {
        for (LakeTableView t : lake.tables()) {
            if (t.qualifiedName().equalsIgnoreCase(table)) {
                return t.columns().stream().map(LakeTableView.Column::name).toList();
            }
        }
        for (LiveTable t : live.tables()) {
            if (t.qualifiedName().equalsIgnoreCase(table)) {
                return t.columns().stream().map(c -> c.name()).toList();
            }
        }
        return List.of();
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
