package io.watershed.query;

import io.watershed.spi.LiveTableSource;
import io.watershed.spi.LiveTableSource.LiveTable;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.duckdb.DuckDBAppender;
import org.duckdb.DuckDBConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live tables (pipelines' live views) in DuckDB: each is copied into a DuckDB table of the same name
 * ({@code live.search_rank}) when its version has changed since the last copy, and dropped when it is no
 * longer served. {@link #sync} runs under {@link LakeViews}' write lock.
 */
final class LiveTableCopies {
    private static final Logger LOG = LoggerFactory.getLogger(LiveTableCopies.class);

    private final DuckDBConnection connection;
    private final List<LiveTableSource> sources = new CopyOnWriteArrayList<>();
    private final Map<String, Long> versions = new ConcurrentHashMap<>();
    private final Set<String> schemas = new HashSet<>();

    LiveTableCopies(DuckDBConnection connection) {
        this.connection = connection;
    }

    void add(LiveTableSource source) {
        sources.add(source);
    }

    /** Every live table the sources serve now. */
    List<LiveTable> tables() {
        List<LiveTable> tables = new ArrayList<>();
        for (LiveTableSource source : sources) {
            tables.addAll(source.liveTables());
        }
        return tables;
    }

    /** Whether DuckDB's copies differ from these tables (one changed, came or went). */
    boolean stale(List<LiveTable> tables) {
        if (tables.size() != versions.size()) {
            return true;
        }
        for (LiveTable table : tables) {
            Long known = versions.get(table.qualifiedName());
            if (known == null || known != table.version()) {
                return true;
            }
        }
        return false;
    }

    /** Copies each changed live table into DuckDB, and drops those no longer served. Runs under the write lock. */
    void sync(Statement s, List<LiveTable> tables) throws SQLException {
        Set<String> current = new HashSet<>();
        for (LiveTable table : tables) {
            current.add(table.qualifiedName());
            Long known = versions.get(table.qualifiedName());
            if (known != null && known == table.version()) {
                continue;
            }
            // the version is read before the rows: a change in between makes the next query copy again
            long version = table.version();
            try {
                List<Object[]> rows = table.rows().get();
                if (schemas.add(table.namespace())) {
                    s.execute("CREATE SCHEMA IF NOT EXISTS " + DuckDbSql.identifier(table.namespace()));
                }
                String columns = table.columns().stream().map(c -> DuckDbSql.identifier(c.name()) + " " + c.sqlType())
                        .collect(Collectors.joining(", "));
                s.execute("CREATE OR REPLACE TABLE " + DuckDbSql.identifier(table.namespace()) + "." + DuckDbSql.identifier(table.name())
                        + " (" + columns + ")");
                try (DuckDBAppender appender = connection.createAppender(table.namespace(), table.name())) {
                    DuckDbRows.appendAll(appender, rows);
                }
            } catch (SQLException | RuntimeException e) {
                // one table that cannot be copied does not take the others down; it is tried again at its next change
                LOG.error("Cannot copy live table {} (version {}) into DuckDB: {}", table.qualifiedName(), version, e.toString());
            }
            versions.put(table.qualifiedName(), version);
        }
        for (String gone : new ArrayList<>(versions.keySet())) {
            if (!current.contains(gone)) {
                int dot = gone.indexOf('.');
                s.execute("DROP TABLE IF EXISTS " + DuckDbSql.identifier(gone.substring(0, dot)) + "."
                        + DuckDbSql.identifier(gone.substring(dot + 1)));
                versions.remove(gone);
            }
        }
    }
}
