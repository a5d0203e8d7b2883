package io.watershed.query;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.LakeCatalog;
import io.watershed.spi.LakeTableView;
import io.watershed.spi.LakeTail;
import io.watershed.spi.LiveTableSource;
import io.watershed.spi.QueryEngine;
import io.watershed.spi.ReadScope;
import io.watershed.spi.WatershedException;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.SQLTimeoutException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.duckdb.DuckDBConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SQL over the lake with DuckDB, sandboxed. Each lake table is a view named like the table
 * ({@code raw.clicks}) over the Parquet files of its current Iceberg snapshot, rebuilt when the
 * snapshot changes; a raw table's view also reads its fresh tail (see {@link #setTail}), and
 * {@code committed.raw.clicks} the snapshot alone. Each live table (a pipeline's live view) is a DuckDB table of the same name
 * ({@code live.search_rank}), copied again when it has changed. The sandbox: only one read-only SELECT per request (checked with DuckDB's own
 * parser before anything runs); no file outside the lake warehouse can be opened (DuckDB's
 * {@code enable_external_access=false} with the warehouse as the only allowed directory); no extension
 * can be installed or loaded; the configuration is locked; statements time out.
 *
 * <p>This class runs a query: parse and check, apply the user's grants, bring the views up to the lake, execute
 * with the views' snapshots held. The rest has its own home: {@link DuckDbSandbox} (opening DuckDB),
 * {@link DuckDbSql} (the parser, quoting, errors), {@link TableGrants} (what a user may read),
 * {@link ColumnGrantViews} (the views of column grants), {@link LakeViews} (the views of lake tables, with
 * {@link FreshTails} and {@link LiveTableCopies}) and {@link DuckDbRows} (values in and out).
 */
public final class DuckDbQueryEngine implements QueryEngine {
    private static final Logger LOG = LoggerFactory.getLogger(DuckDbQueryEngine.class);
    /** Cancels the statements that run past query.timeout. */
    private static final java.util.concurrent.ScheduledExecutorService TIMEOUTS = java.util.concurrent.Executors
            .newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "duckdb-query-timeouts");
                t.setDaemon(true);
                return t;
            });

    private final LakeCatalog lake;
    private final Duration timeout;
    private final DuckDBConnection connection;
    private final ReentrantReadWriteLock viewLock = new ReentrantReadWriteLock();
    private final LiveTableCopies live;
    private final LakeViews views;
    private final ColumnGrantViews grantViews;

    /**
     * @param tempDirectory DuckDB's spill directory, inside the data directory
     * @param memoryLimit DuckDB memory limit, e.g. {@code 1GB}
     */
    public DuckDbQueryEngine(LakeCatalog lake, Path tempDirectory, Duration timeout, String memoryLimit) {
        this.lake = lake;
        this.timeout = timeout;
        this.connection = DuckDbSandbox.open(lake, tempDirectory, memoryLimit);
        this.live = new LiveTableCopies(connection);
        this.views = new LakeViews(lake, connection, viewLock, live);
        this.grantViews = new ColumnGrantViews(lake, live, connection, viewLock);
    }

    /**
     * Serves the source's tables to SQL as well: each is copied into a DuckDB table of the same name
     * when a query comes and its version has changed since the last copy.
     */
    public void addLiveTables(LiveTableSource source) {
        live.add(source);
    }

    /**
     * Makes each raw table read its fresh tail too: {@code raw.clicks} is the snapshot's files plus the
     * events the bus holds past the snapshot's offsets. {@code committed.raw.clicks} keeps reading the
     * snapshot only.
     */
    public void setTail(LakeTail source) {
        views.setTail(source);
    }

    @Override
    public QueryResult query(String sql, int maxRows, ReadScope scope) {
        long started = System.nanoTime();
        Checked checked = check(sql, scope);
        sql = checked.sql();
        List<String> read = checked.tables();
        views.sync(checked.named());
        viewLock.readLock().lock();
        // the views' snapshots stay until the query ends: expiry keeps them and the files they read
        List<LakeCatalog.Hold> holds = views.holdSnapshots();
        java.util.concurrent.atomic.AtomicBoolean timedOut = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.ScheduledFuture<?> guard = null;
        try (DuckDBConnection session = (DuckDBConnection) connection.duplicate()) {
            try (Statement statement = session.createStatement()) {
                statement.setQueryTimeout((int) Math.max(1, timeout.toSeconds()));
                // JDBC's timeout covers a statement until its result set is open; the whole answer, rows included, must
                // come within query.timeout
                guard = TIMEOUTS.schedule(() -> {
                    timedOut.set(true);
                    try {
                        statement.cancel();
                    } catch (SQLException | RuntimeException e) {
                        LOG.debug("Cannot cancel a query past query.timeout: {}", e.toString());
                    }
                }, timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
                // the cap is applied inside DuckDB, so a huge result is never built only to be cut
                try (ResultSet rs = statement.executeQuery("SELECT * FROM (" + sql + "\n) LIMIT "
                        + ((long) maxRows + 1))) {
                    ResultSetMetaData meta = rs.getMetaData();
                    List<String> columns = new ArrayList<>();
                    List<String> types = new ArrayList<>();
                    for (int i = 1; i <= meta.getColumnCount(); i++) {
                        columns.add(meta.getColumnLabel(i));
                        types.add(meta.getColumnTypeName(i));
                    }
                    List<List<Object>> rows = new ArrayList<>();
                    boolean truncated = false;
                    while (rs.next()) {
                        if (rows.size() >= maxRows) {
                            truncated = true;
                            break;
                        }
                        List<Object> row = new ArrayList<>(columns.size());
                        for (int i = 1; i <= columns.size(); i++) {
                            row.add(DuckDbRows.plain(rs.getObject(i)));
                        }
                        rows.add(row);
                    }
                    return new QueryResult(columns, types, rows, truncated, (System.nanoTime() - started) / 1_000_000, read);
                }
            }
        } catch (SQLException e) {
            if (e instanceof SQLTimeoutException || timedOut.get()) {
                throw new WatershedException(ErrorCode.QUERY_TIMEOUT, "Cannot finish the query: it ran longer than query.timeout ("
                        + timeout.toSeconds() + "s) and was cancelled; narrow it with WHERE or LIMIT", e);
            }
            throw DuckDbSql.translate(e);
        } finally {
            if (guard != null) {
                guard.cancel(false);
            }
            holds.forEach(LakeCatalog.Hold::close);
            viewLock.readLock().unlock();
        }
    }

    /** A statement checked against the sandbox and the user's grants, rewritten to read the views of column grants. */
    record Checked(String sql, Set<String> named, List<String> tables) {}

    /**
     * Parses and checks {@code sql} as one read-only SELECT the user may run; a column-limited table is replaced by
     * the view of its granted columns.
     *
     * @throws WatershedException QUERY_INVALID, QUERY_FORBIDDEN
     */
    Checked check(String sql, ReadScope scope) {
        if (sql == null || sql.isBlank()) {
            throw new WatershedException(ErrorCode.QUERY_INVALID, "Cannot run an empty statement; send {\"sql\": \"SELECT ...\"}");
        }
        Set<String> named;
        List<String> read;
        try (DuckDBConnection parser = (DuckDBConnection) connection.duplicate()) {
            JsonNode parsed = DuckDbSql.checkSingleSelect(parser, sql);
            named = new HashSet<>();
            DuckDbSql.collectTables(parsed, named);
            read = new ArrayList<>(new TreeSet<>(named));
            if (!scope.unrestricted()) {
                Set<String> known = knownTables();
                TableGrants grants = new TableGrants(scope, known, grantViews.made());
                grants.check(parsed);
                read = List.copyOf(grants.tables);
                if (!grants.limited.isEmpty()) {
                    Map<String, String> replacements = grantViews.views(grants.limited);
                    Set<List<String>> strip = new HashSet<>();
                    TableGrants.rewrite(parsed, replacements, strip);
                    TableGrants.stripColumnReferences(parsed, strip);
                    sql = DuckDbSql.deserialize(parser, parsed);
                    TableGrants again = new TableGrants(scope, known, grantViews.made());
                    again.check(DuckDbSql.checkSingleSelect(parser, sql));
                    if (!again.limited.isEmpty()) {
                        throw new WatershedException(ErrorCode.QUERY_FORBIDDEN, "Cannot run the query: it reads "
                                + again.limited.keySet() + " in a way the column grants cannot be applied to; name the columns "
                                + "you may read in a plain SELECT");
                    }
                }
            }
        } catch (SQLException e) {
            throw DuckDbSql.translate(e);
        }
        return new Checked(DuckDbSql.stripTrailingSemicolons(sql), named, read);
    }

    @Override
    public Description describe(String sql, ReadScope scope) {
        Checked checked = check(sql, scope);
        views.sync(checked.named());
        viewLock.readLock().lock();
        try (DuckDBConnection session = (DuckDBConnection) connection.duplicate();
                PreparedStatement statement = session.prepareStatement(checked.sql())) {
            return DuckDbCursor.describe(statement, true);
        } catch (SQLException e) {
            throw DuckDbSql.translate(e);
        } finally {
            viewLock.readLock().unlock();
        }
    }

    @Override
    public Cursor open(String sql, List<Object> parameters, ReadScope scope) {
        Checked checked = check(sql, scope);
        views.sync(checked.named());
        // the views' snapshots stay until the cursor is closed (expiry keeps the files it reads); the read lock is held
        // while it prepares and while it starts running, as a whole query holds it, but not while the client reads
        viewLock.readLock().lock();
        try {
            List<LakeCatalog.Hold> holds = views.holdSnapshots();
            try {
                return DuckDbCursor.open((DuckDBConnection) connection.duplicate(), checked.sql(), parameters, timeout,
                        checked.tables(), viewLock.readLock(), () -> holds.forEach(LakeCatalog.Hold::close));
            } catch (SQLException | RuntimeException e) {
                holds.forEach(LakeCatalog.Hold::close);
                throw e instanceof SQLException failed ? DuckDbSql.translate(failed) : (RuntimeException) e;
            }
        } finally {
            viewLock.readLock().unlock();
        }
    }

    @Override
    public Catalog catalog(ReadScope scope) {
        return new CatalogMirror(() -> readableTables(scope), timeout);
    }

    /** The lake and live tables {@code scope} may read, each with the columns it may read and their types. */
    private List<CatalogMirror.Table> readableTables(ReadScope scope) {
        List<CatalogMirror.Table> tables = new ArrayList<>();
        for (LakeTableView t : lake.tables()) {
            readable(scope, t.namespace(), t.name(), t.columns().stream().map(c -> new CatalogMirror.Column(c.name(), c.sqlType())).toList())
                    .ifPresent(tables::add);
        }
        for (LiveTableSource.LiveTable t : live.tables()) {
            readable(scope, t.namespace(), t.name(), t.columns().stream().map(c -> new CatalogMirror.Column(c.name(), c.sqlType())).toList())
                    .ifPresent(tables::add);
        }
        return tables;
    }

    private static java.util.Optional<CatalogMirror.Table> readable(ReadScope scope, String schema, String name,
            List<CatalogMirror.Column> columns) {
        if (schema.startsWith("_")) {
            return java.util.Optional.empty();
        }
        java.util.Optional<Set<String>> granted = scope.columns((schema + "." + name).toLowerCase(Locale.ROOT));
        if (granted.isEmpty()) {
            return java.util.Optional.empty();
        }
        List<CatalogMirror.Column> shown = granted.get().isEmpty() ? columns
                : columns.stream().filter(c -> granted.get().contains(c.name().toLowerCase(Locale.ROOT))).toList();
        return shown.isEmpty() ? java.util.Optional.empty() : java.util.Optional.of(new CatalogMirror.Table(schema, name, shown));
    }

    /** Every lake and live table, lower-case {@code schema.table}. */
    private Set<String> knownTables() {
        Set<String> known = new HashSet<>();
        lake.tables().forEach(t -> known.add(t.qualifiedName().toLowerCase(Locale.ROOT)));
        live.tables().forEach(t -> known.add(t.qualifiedName().toLowerCase(Locale.ROOT)));
        return known;
    }

    @Override
    public void close() {
        try {
            connection.close();
        } catch (SQLException e) {
            LOG.warn("Cannot close DuckDB cleanly", e);
        }
    }
}
