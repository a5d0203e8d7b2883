package io.watershed.query;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.LakeCatalog;
import io.watershed.spi.LakeTableView;
import io.watershed.spi.LakeTail;
import io.watershed.spi.LiveTableSource.LiveTable;
import io.watershed.spi.WatershedException;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.stream.Collectors;
import org.duckdb.DuckDBConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DuckDB kept up to the lake: each lake table is a view named like the table ({@code raw.clicks}) over the
 * Parquet files of its current Iceberg snapshot, rebuilt when the snapshot changes; a raw table's view also
 * reads its fresh tail ({@link FreshTails}), and {@code committed.raw.clicks} the snapshot alone; the live
 * tables are copied along ({@link LiveTableCopies}). Queries run under the read lock, changes are installed
 * under the write lock.
 */
final class LakeViews {
    private static final Logger LOG = LoggerFactory.getLogger(LakeViews.class);
    /** The DuckDB catalog whose views read committed snapshots only: {@code committed.raw.clicks}. */
    static final String COMMITTED = "committed";

    private final LakeCatalog lake;
    private final DuckDBConnection connection;
    private final ReentrantReadWriteLock viewLock;
    private final LiveTableCopies live;
    private final FreshTails tails;
    private final Map<String, Long> viewSnapshots = new ConcurrentHashMap<>();
    private final Set<String> schemas = new HashSet<>();
    /** Held while the views are brought up to the lake; guards {@link #tails} and {@link #schemas}. */
    private final Object syncLock = new Object();
    private volatile LakeTail tail;

    LakeViews(LakeCatalog lake, DuckDBConnection connection, ReentrantReadWriteLock viewLock, LiveTableCopies live) {
        this.lake = lake;
        this.connection = connection;
        this.viewLock = viewLock;
        this.live = live;
        this.tails = new FreshTails(connection);
    }

    /** Makes each raw table's view read its fresh tail from {@code source} too. */
    void setTail(LakeTail source) {
        this.tail = source;
    }

    /** Holds the snapshot of every installed view; runs under the read lock, so the views do not change meanwhile. */
    List<LakeCatalog.Hold> holdSnapshots() {
        List<LakeCatalog.Hold> holds = new ArrayList<>(viewSnapshots.size());
        viewSnapshots.forEach((qualified, snapshot) -> {
            if (snapshot >= 0) {
                int dot = qualified.indexOf('.');
                holds.add(lake.hold(qualified.substring(0, dot), qualified.substring(dot + 1), snapshot));
            }
        });
        return holds;
    }

    /**
     * Brings DuckDB up to the lake: rebuilds the views of tables whose snapshot changed, brings each raw
     * table's fresh tail up to the bus, and copies changed live tables. One sync runs at a time, and what
     * it changes is installed under the write lock, so a query sees each table's snapshot together with
     * the tail that begins exactly at that snapshot's offsets. Only the tails of the tables the query
     * names are brought up to the bus; another table's tail is dropped when its snapshot moves, until a
     * query names it again. A table whose view cannot be built is logged and left as it was; it does
     * not take the other tables down.
     *
     * @param named the tables the query names, lower-case {@code schema.table}
     */
    void sync(Set<String> named) {
        synchronized (syncLock) {
            List<LakeTableView> tables = lake.tables();
            List<LakeTail.Tail> fresh = List.of();
            boolean tailLost = false;
            Set<String> unread = new HashSet<>();
            LakeTail source = tail;
            if (source != null) {
                List<LakeTail.Request> requests = new ArrayList<>();
                for (LakeTableView table : tables) {
                    String name = table.qualifiedName();
                    if (named.contains(name.toLowerCase(Locale.ROOT))) {
                        requests.add(tails.request(table));
                    } else if (tails.has(name) && !Long.valueOf(table.snapshotId()).equals(viewSnapshots.get(name))) {
                        unread.add(name); // its tail would overlap the new snapshot
                    }
                }
                try {
                    fresh = source.read(requests);
                } catch (RuntimeException e) {
                    // a tail that cannot follow its snapshot must not stay: it could repeat rows the snapshot now holds
                    LOG.error("Cannot read the fresh tail of the raw tables; queries see committed snapshots only for now", e);
                    tailLost = !tails.isEmpty();
                }
            }
            List<LiveTable> liveTables = live.tables();
            Set<String> gone = new HashSet<>(viewSnapshots.keySet()); // dropped or renamed (through the REST catalog)
            tables.forEach(t -> gone.remove(t.qualifiedName()));
            if (gone.isEmpty() && !stale(tables) && !live.stale(liveTables) && !tails.changed(fresh) && !tailLost && unread.isEmpty()) {
                return;
            }
            viewLock.writeLock().lock();
            try (Statement s = connection.createStatement()) {
                Set<String> tailReplaced = new HashSet<>();
                for (String name : gone) {
                    drop(s, name);
                }
                for (String name : unread) {
                    tails.drop(s, name);
                    tailReplaced.add(name);
                }
                if (tailLost) {
                    for (String name : tails.names()) {
                        tails.drop(s, name);
                        tailReplaced.add(name);
                    }
                }
                for (LakeTail.Tail t : fresh) {
                    if (tails.install(s, t)) {
                        tailReplaced.add(t.qualifiedName());
                    }
                }
                for (LakeTableView table : tables) {
                    Long known = viewSnapshots.get(table.qualifiedName());
                    boolean current = known != null && known == table.snapshotId();
                    if (current && !tailReplaced.contains(table.qualifiedName())) {
                        continue;
                    }
                    install(s, table, current);
                }
                live.sync(s, liveTables);
            } catch (SQLException e) {
                throw new WatershedException(ErrorCode.INTERNAL, "Cannot refresh the lake views: " + e.getMessage(), e);
            } finally {
                viewLock.writeLock().unlock();
            }
        }
    }

    /** (Re)creates the table's views; {@code current}: its committed view already reads this snapshot. */
    private void install(Statement s, LakeTableView table, boolean current) {
        try {
            String name = DuckDbSql.identifier(table.namespace()) + "." + DuckDbSql.identifier(table.name());
            if (schemas.add(COMMITTED + "." + table.namespace())) {
                s.execute("CREATE SCHEMA IF NOT EXISTS " + DuckDbSql.identifier(table.namespace()));
                s.execute("CREATE SCHEMA IF NOT EXISTS " + COMMITTED + "." + DuckDbSql.identifier(table.namespace()));
            }
            String snapshot = viewQuery(table);
            if (!current) {
                s.execute("CREATE OR REPLACE VIEW " + COMMITTED + "." + name + " AS " + snapshot);
            }
            String fresh = tails.has(table.qualifiedName())
                    ? snapshot + " UNION ALL BY NAME SELECT * FROM " + FreshTails.table(table.qualifiedName()) : snapshot;
            s.execute("CREATE OR REPLACE VIEW " + name + " AS " + fresh);
            viewSnapshots.put(table.qualifiedName(), table.snapshotId());
        } catch (SQLException e) {
            LOG.error("Cannot refresh the view of {} (snapshot {}); queries see its previous snapshot: {}",
                    table.qualifiedName(), table.snapshotId(), e.getMessage());
            viewSnapshots.put(table.qualifiedName(), table.snapshotId());
        }
    }

    /** Drops the views of a table the lake no longer has. */
    private void drop(Statement s, String qualifiedName) throws SQLException {
        int dot = qualifiedName.indexOf('.');
        String name = DuckDbSql.identifier(qualifiedName.substring(0, dot)) + "." + DuckDbSql.identifier(qualifiedName.substring(dot + 1));
        if (tails.has(qualifiedName)) {
            tails.drop(s, qualifiedName);
        }
        s.execute("DROP VIEW IF EXISTS " + name);
        s.execute("DROP VIEW IF EXISTS " + COMMITTED + "." + name);
        viewSnapshots.remove(qualifiedName);
    }

    private boolean stale(List<LakeTableView> tables) {
        for (LakeTableView table : tables) {
            Long known = viewSnapshots.get(table.qualifiedName());
            if (known == null || known != table.snapshotId()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Reads the table's files by Iceberg field id, not by name: Iceberg stores non-Avro-safe names
     * ({@code user-id}) under escaped Parquet names, and files written before a column was added or
     * widened hold it under another type or not at all (DuckDB fills the default, NULL).
     */
    static String viewQuery(LakeTableView table) {
        if (table.files().isEmpty()) {
            return "SELECT " + table.columns().stream()
                    .map(c -> "CAST(NULL AS " + c.sqlType() + ") AS " + DuckDbSql.identifier(c.name()))
                    .collect(Collectors.joining(", ")) + " WHERE false";
        }
        String schema = table.columns().stream()
                .map(c -> c.id() + ": {name: " + DuckDbSql.literal(c.name()) + ", type: " + DuckDbSql.literal(c.sqlType())
                        + ", default_value: NULL}")
                .collect(Collectors.joining(", "));
        String files = table.files().stream().map(f -> DuckDbSql.literal(f.path())).collect(Collectors.joining(", "));
        return "SELECT * FROM read_parquet([" + files + "], schema = MAP {" + schema + "})";
    }
}
