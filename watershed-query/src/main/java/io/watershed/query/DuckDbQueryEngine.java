package io.watershed.query;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.LakeCatalog;
import io.watershed.spi.LakeTableView;
import io.watershed.spi.LakeTail;
import io.watershed.spi.LiveTableSource;
import io.watershed.spi.LiveTableSource.LiveTable;
import io.watershed.spi.QueryEngine;
import io.watershed.spi.ReadScope;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.SQLTimeoutException;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.stream.Collectors;
import org.duckdb.DuckDBAppender;
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
 */
public final class DuckDbQueryEngine implements QueryEngine {
    private static final Logger LOG = LoggerFactory.getLogger(DuckDbQueryEngine.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final LakeCatalog lake;
    private final Duration timeout;
    private final DuckDBConnection connection;
    private final Map<String, Long> viewSnapshots = new java.util.concurrent.ConcurrentHashMap<>();
    /** The views of column grants made so far: name in {@code _grant} -> definition. */
    private final Map<String, String> grantViews = new java.util.concurrent.ConcurrentHashMap<>();
    private final Set<String> schemas = new HashSet<>();
    private final ReentrantReadWriteLock viewLock = new ReentrantReadWriteLock();
    private final List<LiveTableSource> liveSources = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final Map<String, Long> liveVersions = new java.util.concurrent.ConcurrentHashMap<>();
    /** Held while the views are brought up to the lake; guards the tail maps below. */
    private final Object syncLock = new Object();
    private volatile LakeTail tail;
    private final Map<String, Long> tailGenerations = new HashMap<>();
    private final Map<String, Integer> tailHeld = new HashMap<>();
    /** The DuckDB catalog whose views read committed snapshots only: {@code committed.raw.clicks}. */
    static final String COMMITTED = "committed";
    /** Where the fresh tails of raw tables are kept, one DuckDB table each ({@code _tail.raw__clicks}). */
    static final String TAIL_SCHEMA = "_tail";

    /**
     * @param tempDirectory DuckDB's spill directory, inside the data directory
     * @param memoryLimit DuckDB memory limit, e.g. {@code 1GB}
     */
    public DuckDbQueryEngine(LakeCatalog lake, Path tempDirectory, Duration timeout, String memoryLimit) {
        this.lake = lake;
        this.timeout = timeout;
        try {
            Files.createDirectories(tempDirectory);
            Properties properties = new Properties();
            properties.setProperty("memory_limit", memoryLimit);
            properties.setProperty("autoinstall_known_extensions", "false");
            properties.setProperty("autoload_known_extensions", "false");
            this.connection = (DuckDBConnection) DriverManager.getConnection("jdbc:duckdb:", properties);
            removeExtractedLibrary();
            try (Statement s = connection.createStatement()) {
                sandbox(s, tempDirectory, lake);
            } catch (SQLException e) {
                connection.close();
                throw e;
            }
        } catch (SQLException e) {
            throw new WatershedException(ErrorCode.INTERNAL, "Cannot start DuckDB: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create DuckDB's temp directory " + tempDirectory, e);
        }
    }

    /**
     * DuckDB's driver copies its 70 MB native library to the temp directory and deletes it at a normal
     * exit only; every {@code kill -9} would leave one behind. Once loaded, the file is no longer needed
     * (Linux keeps the mapping), so it is removed now. Where {@code /proc/self/maps} does not exist, the
     * driver's own clean-up at exit stays in charge.
     */
    private static void removeExtractedLibrary() {
        Path maps = Path.of("/proc/self/maps");
        if (!Files.isReadable(maps)) {
            return;
        }
        try (java.util.stream.Stream<String> lines = Files.lines(maps)) {
            lines.map(line -> line.substring(line.lastIndexOf(' ') + 1))
                    .filter(path -> path.contains("libduckdb_java") && path.startsWith("/"))
                    .distinct()
                    .forEach(path -> {
                        try {
                            Files.deleteIfExists(Path.of(path));
                        } catch (IOException e) {
                            LOG.debug("Cannot remove DuckDB's extracted library {}: {}", path, e.toString());
                        }
                    });
        } catch (IOException | UncheckedIOException e) {
            LOG.debug("Cannot read /proc/self/maps: {}", e.toString());
        }
    }

    /** Order matters: the allow-list and directories must be set before external access is turned off. */
    private static void sandbox(Statement s, Path tempDirectory, LakeCatalog lake) throws SQLException {
        s.execute("ATTACH ':memory:' AS " + COMMITTED);
        s.execute("CREATE SCHEMA " + TAIL_SCHEMA);
        s.execute("CREATE SCHEMA " + TableGrants.GRANT_SCHEMA);
        s.execute("SET temp_directory = " + literal(tempDirectory.toAbsolutePath().toString()));
        s.execute("SET extension_directory = " + literal(tempDirectory.resolve("extensions").toAbsolutePath().toString()));
        s.execute("SET allowed_directories = [" + literal(lake.warehouse().toAbsolutePath() + "/") + "]");
        s.execute("SET enable_external_access = false");
        s.execute("SET allow_community_extensions = false");
        s.execute("SET lock_configuration = true");
    }

    /**
     * Serves the source's tables to SQL as well: each is copied into a DuckDB table of the same name
     * when a query comes and its version has changed since the last copy.
     */
    public void addLiveTables(LiveTableSource source) {
        liveSources.add(source);
    }

    /**
     * Makes each raw table read its fresh tail too: {@code raw.clicks} is the snapshot's files plus the
     * events the bus holds past the snapshot's offsets. {@code committed.raw.clicks} keeps reading the
     * snapshot only.
     */
    public void setTail(LakeTail source) {
        this.tail = source;
    }

    @Override
    public QueryResult query(String sql, int maxRows, ReadScope scope) {
        if (sql == null || sql.isBlank()) {
            throw new WatershedException(ErrorCode.QUERY_INVALID, "Cannot run an empty statement; send {\"sql\": \"SELECT ...\"}");
        }
        long started = System.nanoTime();
        Set<String> named;
        List<String> read;
        try (DuckDBConnection parser = (DuckDBConnection) connection.duplicate()) {
            JsonNode parsed = checkSingleSelect(parser, sql);
            named = new HashSet<>();
            collectTables(parsed, named);
            read = new ArrayList<>(new java.util.TreeSet<>(named));
            if (!scope.unrestricted()) {
                Set<String> known = knownTables();
                TableGrants grants = new TableGrants(scope, known, grantViews);
                grants.check(parsed);
                read = List.copyOf(grants.tables);
                if (!grants.limited.isEmpty()) {
                    Map<String, String> views = grantViews(grants.limited);
                    Set<List<String>> strip = new HashSet<>();
                    TableGrants.rewrite(parsed, views, strip);
                    TableGrants.stripColumnReferences(parsed, strip);
                    sql = deserialize(parser, parsed);
                    TableGrants again = new TableGrants(scope, known, grantViews);
                    again.check(checkSingleSelect(parser, sql));
                    if (!again.limited.isEmpty()) {
                        throw new WatershedException(ErrorCode.QUERY_FORBIDDEN, "Cannot run the query: it reads "
                                + again.limited.keySet() + " in a way the column grants cannot be applied to; name the columns "
                                + "you may read in a plain SELECT");
                    }
                }
            }
        } catch (SQLException e) {
            throw translate(e);
        }
        syncViews(named);
        viewLock.readLock().lock();
        // the views' snapshots stay until the query ends: expiry keeps them and the files they read
        List<LakeCatalog.Hold> holds = holdViewSnapshots();
        try (DuckDBConnection session = (DuckDBConnection) connection.duplicate()) {
            try (Statement statement = session.createStatement()) {
                statement.setQueryTimeout((int) Math.max(1, timeout.toSeconds()));
                // the cap is applied inside DuckDB, so a huge result is never built only to be cut
                try (ResultSet rs = statement.executeQuery("SELECT * FROM (" + stripTrailingSemicolons(sql) + "\n) LIMIT "
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
                            row.add(plain(rs.getObject(i)));
                        }
                        rows.add(row);
                    }
                    return new QueryResult(columns, types, rows, truncated, (System.nanoTime() - started) / 1_000_000, read);
                }
            }
        } catch (SQLTimeoutException e) {
            throw new WatershedException(ErrorCode.QUERY_TIMEOUT, "Cannot finish the query: it ran longer than query.timeout ("
                    + timeout.toSeconds() + "s) and was cancelled; narrow it with WHERE or LIMIT", e);
        } catch (SQLException e) {
            throw translate(e);
        } finally {
            holds.forEach(LakeCatalog.Hold::close);
            viewLock.readLock().unlock();
        }
    }

    /** Holds the snapshot of every installed view; runs under the read lock, so the views do not change meanwhile. */
    private List<LakeCatalog.Hold> holdViewSnapshots() {
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
     * Parses with DuckDB's own parser: exactly one statement, and a SELECT (json_serialize_sql only
     * serialises SELECTs). Returns the parse tree.
     */
    private static JsonNode checkSingleSelect(Connection session, String sql) throws SQLException {
        try (PreparedStatement check = session.prepareStatement("SELECT json_serialize_sql(?::VARCHAR)")) {
            check.setString(1, sql);
            try (ResultSet rs = check.executeQuery()) {
                rs.next();
                JsonNode parsed = JSON.readTree(rs.getString(1));
                if (parsed.path("error").asBoolean(false)) {
                    String type = parsed.path("error_type").asText();
                    String message = parsed.path("error_message").asText();
                    if (type.equals("not implemented")) {
                        throw new WatershedException(ErrorCode.QUERY_FORBIDDEN, "Cannot run this statement: only read-only "
                                + "SELECT queries run here (COPY, ATTACH, INSTALL, LOAD, SET, PRAGMA, CREATE and other "
                                + "statements are refused)");
                    }
                    throw new WatershedException(ErrorCode.QUERY_INVALID, "Cannot parse the query: " + message);
                }
                if (parsed.path("statements").size() != 1) {
                    throw new WatershedException(ErrorCode.QUERY_INVALID, "Cannot run " + parsed.path("statements").size()
                            + " statements at once: send exactly one SELECT per request");
                }
                return parsed;
            } catch (IOException e) {
                throw new WatershedException(ErrorCode.INTERNAL, "Cannot read DuckDB's parse of the query", e);
            }
        }
    }

    /** Prints a (rewritten) parse tree back as SQL, with DuckDB's own printer. */
    private static String deserialize(Connection session, JsonNode parsed) throws SQLException {
        try (PreparedStatement print = session.prepareStatement("SELECT json_deserialize_sql(?::JSON)")) {
            print.setString(1, parsed.toString());
            try (ResultSet rs = print.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }

    /** Every lake and live table, lower-case {@code schema.table}. */
    private Set<String> knownTables() {
        Set<String> known = new HashSet<>();
        lake.tables().forEach(t -> known.add(t.qualifiedName().toLowerCase(java.util.Locale.ROOT)));
        liveTables().forEach(t -> known.add(t.qualifiedName().toLowerCase(java.util.Locale.ROOT)));
        return known;
    }

    /**
     * The views of column grants, {@code _grant.g_<hash>}: for each {@code catalog.schema.table} and its readable columns,
     * a view selecting those of them the table has now; made on first use. Returns the view name per table.
     */
    private Map<String, String> grantViews(Map<String, Set<String>> limited) throws SQLException {
        Map<String, String> views = new HashMap<>();
        for (Map.Entry<String, Set<String>> e : limited.entrySet()) {
            String qualified = e.getKey();
            String[] parts = qualified.split("\\.", 3);
            String table = parts[1] + "." + parts[2];
            List<String> columns = new ArrayList<>();
            for (String column : columnsOf(table)) {
                if (e.getValue().contains(column.toLowerCase(java.util.Locale.ROOT))) {
                    columns.add(column);
                }
            }
            if (columns.isEmpty()) {
                throw new WatershedException(ErrorCode.QUERY_FORBIDDEN, "Cannot read " + table + ": none of the columns granted ("
                        + String.join(", ", new java.util.TreeSet<>(e.getValue())) + ") exist in it");
            }
            String source = (parts[0].equals(COMMITTED) ? COMMITTED + "." : "") + identifier(parts[1]) + "." + identifier(parts[2]);
            String definition = "SELECT " + columns.stream().map(DuckDbQueryEngine::identifier).collect(Collectors.joining(", "))
                    + " FROM " + source;
            String name = "g_" + sha256(definition).substring(0, 20);
            if (!definition.equals(grantViews.get(name))) {
                viewLock.writeLock().lock();
                try (Statement s = connection.createStatement()) {
                    s.execute("CREATE OR REPLACE VIEW " + TableGrants.GRANT_SCHEMA + "." + identifier(name) + " AS " + definition);
                    grantViews.put(name, definition);
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
        for (LiveTable t : liveTables()) {
            if (t.qualifiedName().equalsIgnoreCase(table)) {
                return t.columns().stream().map(c -> c.name()).toList();
            }
        }
        return List.of();
    }

    private static String sha256(String text) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void collectTables(JsonNode node, Set<String> named) {
        if (node.isObject() && "BASE_TABLE".equals(node.path("type").asText()) && node.path("catalog_name").asText().isEmpty()
                && !node.path("schema_name").asText().isEmpty()) {
            named.add((node.path("schema_name").asText() + "." + node.path("table_name").asText()).toLowerCase(java.util.Locale.ROOT));
        }
        for (JsonNode child : node) {
            collectTables(child, named);
        }
    }

    private static String stripTrailingSemicolons(String sql) {
        String trimmed = sql.strip();
        while (trimmed.endsWith(";")) {
            trimmed = trimmed.substring(0, trimmed.length() - 1).strip();
        }
        return trimmed;
    }

    private static WatershedException translate(SQLException e) {
        String message = e.getMessage() == null ? e.toString() : e.getMessage();
        if (message.contains("Permission Error") || message.contains("disabled by configuration")
                || message.contains("has been locked")) {
            return new WatershedException(ErrorCode.QUERY_FORBIDDEN, "Cannot run the query: it reaches outside the lake ("
                    + firstLine(message) + "). Queries may read lake tables by name, e.g. SELECT * FROM raw.clicks", e);
        }
        if (message.contains("INTERRUPT") || message.contains("Interrupted")) {
            return new WatershedException(ErrorCode.QUERY_TIMEOUT, "Cannot finish the query: it was cancelled", e);
        }
        return new WatershedException(ErrorCode.QUERY_INVALID, "Cannot run the query: " + firstLine(message), e);
    }

    private static String firstLine(String message) {
        String trimmed = message.strip();
        int newline = trimmed.indexOf('\n');
        return newline < 0 ? trimmed : trimmed.substring(0, newline) + " " + trimmed.substring(newline + 1).strip().split("\n")[0];
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
    private void syncViews(Set<String> named) {
        synchronized (syncLock) {
            List<LakeTableView> tables = lake.tables();
            List<LakeTail.Tail> tails = List.of();
            boolean tailLost = false;
            Set<String> unread = new HashSet<>();
            LakeTail source = tail;
            if (source != null) {
                List<LakeTail.Request> requests = new ArrayList<>();
                for (LakeTableView table : tables) {
                    String name = table.qualifiedName();
                    if (named.contains(name.toLowerCase(java.util.Locale.ROOT))) {
                        requests.add(new LakeTail.Request(table, tailGenerations.getOrDefault(name, 0L), tailHeld.getOrDefault(name, 0)));
                    } else if (tailGenerations.containsKey(name) && !Long.valueOf(table.snapshotId()).equals(viewSnapshots.get(name))) {
                        unread.add(name); // its tail would overlap the new snapshot
                    }
                }
                try {
                    tails = source.read(requests);
                } catch (RuntimeException e) {
                    // a tail that cannot follow its snapshot must not stay: it could repeat rows the snapshot now holds
                    LOG.error("Cannot read the fresh tail of the raw tables; queries see committed snapshots only for now", e);
                    tailLost = !tailGenerations.isEmpty();
                }
            }
            List<LiveTable> live = liveTables();
            if (!stale(tables) && !liveStale(live) && !tailsChanged(tails) && !tailLost && unread.isEmpty()) {
                return;
            }
            viewLock.writeLock().lock();
            try (Statement s = connection.createStatement()) {
                Set<String> tailReplaced = new HashSet<>();
                for (String name : unread) {
                    dropTail(s, name);
                    tailReplaced.add(name);
                }
                if (tailLost) {
                    for (String name : new ArrayList<>(tailGenerations.keySet())) {
                        dropTail(s, name);
                        tailReplaced.add(name);
                    }
                }
                for (LakeTail.Tail t : tails) {
                    if (installTail(s, t)) {
                        tailReplaced.add(t.qualifiedName());
                    }
                }
                for (LakeTableView table : tables) {
                    Long known = viewSnapshots.get(table.qualifiedName());
                    boolean current = known != null && known == table.snapshotId();
                    if (current && !tailReplaced.contains(table.qualifiedName())) {
                        continue;
                    }
                    try {
                        String name = identifier(table.namespace()) + "." + identifier(table.name());
                        if (schemas.add(COMMITTED + "." + table.namespace())) {
                            s.execute("CREATE SCHEMA IF NOT EXISTS " + identifier(table.namespace()));
                            s.execute("CREATE SCHEMA IF NOT EXISTS " + COMMITTED + "." + identifier(table.namespace()));
                        }
                        String snapshot = viewQuery(table);
                        if (!current) {
                            s.execute("CREATE OR REPLACE VIEW " + COMMITTED + "." + name + " AS " + snapshot);
                        }
                        String fresh = tailGenerations.containsKey(table.qualifiedName())
                                ? snapshot + " UNION ALL BY NAME SELECT * FROM " + tailTable(table.qualifiedName()) : snapshot;
                        s.execute("CREATE OR REPLACE VIEW " + name + " AS " + fresh);
                        viewSnapshots.put(table.qualifiedName(), table.snapshotId());
                    } catch (SQLException e) {
                        LOG.error("Cannot refresh the view of {} (snapshot {}); queries see its previous snapshot: {}",
                                table.qualifiedName(), table.snapshotId(), e.getMessage());
                        viewSnapshots.put(table.qualifiedName(), table.snapshotId());
                    }
                }
                syncLiveTables(s, live);
            } catch (SQLException e) {
                throw new WatershedException(ErrorCode.INTERNAL, "Cannot refresh the lake views: " + e.getMessage(), e);
            } finally {
                viewLock.writeLock().unlock();
            }
        }
    }

    private boolean tailsChanged(List<LakeTail.Tail> tails) {
        for (LakeTail.Tail t : tails) {
            if (!t.rows().isEmpty() || !Long.valueOf(t.generation()).equals(tailGenerations.get(t.qualifiedName()))) {
                return true;
            }
        }
        return false;
    }

    private static String tailTable(String qualifiedName) {
        return TAIL_SCHEMA + "." + identifier(qualifiedName.replace(".", "__"));
    }

    /**
     * Puts the tail's rows into the table's DuckDB tail table: appends them when they continue the rows
     * it holds, or replaces the table when the tail's generation changed. Returns whether the table was
     * replaced or dropped (the view over it is then rebuilt). Runs under the write lock.
     */
    private boolean installTail(Statement s, LakeTail.Tail t) {
        String name = t.qualifiedName();
        boolean replace = !Long.valueOf(t.generation()).equals(tailGenerations.get(name));
        try {
            if (replace) {
                String columns = t.columns().stream().map(c -> identifier(c.name()) + " " + c.sqlType())
                        .collect(Collectors.joining(", "));
                s.execute("CREATE OR REPLACE TABLE " + tailTable(name) + " (" + columns + ")");
            }
            if (!t.rows().isEmpty()) {
                try (DuckDBAppender appender = connection.createAppender(TAIL_SCHEMA, name.replace(".", "__"))) {
                    for (Object[] row : t.rows()) {
                        appender.beginRow();
                        for (Object value : row) {
                            append(appender, value);
                        }
                        appender.endRow();
                    }
                }
            }
            tailGenerations.put(name, t.generation());
            tailHeld.put(name, (replace ? 0 : tailHeld.getOrDefault(name, 0)) + t.rows().size());
            return replace;
        } catch (SQLException | RuntimeException e) {
            LOG.error("Cannot copy the fresh tail of {} into DuckDB; its queries see the committed snapshot until the next "
                    + "query copies it again: {}", name, e.toString());
            try {
                dropTail(s, name);
            } catch (SQLException dropFailed) {
                throw new WatershedException(ErrorCode.INTERNAL, "Cannot drop the fresh tail of " + name + ": "
                        + dropFailed.getMessage(), dropFailed);
            }
            return true;
        }
    }

    private void dropTail(Statement s, String name) throws SQLException {
        s.execute("DROP TABLE IF EXISTS " + tailTable(name));
        tailGenerations.remove(name);
        tailHeld.remove(name);
    }

    private List<LiveTable> liveTables() {
        List<LiveTable> tables = new ArrayList<>();
        for (LiveTableSource source : liveSources) {
            tables.addAll(source.liveTables());
        }
        return tables;
    }

    private boolean liveStale(List<LiveTable> tables) {
        if (tables.size() != liveVersions.size()) {
            return true;
        }
        for (LiveTable table : tables) {
            Long known = liveVersions.get(table.qualifiedName());
            if (known == null || known != table.version()) {
                return true;
            }
        }
        return false;
    }

    /** Copies each changed live table into DuckDB, and drops those no longer served. Runs under the write lock. */
    private void syncLiveTables(Statement s, List<LiveTable> tables) throws SQLException {
        Set<String> current = new HashSet<>();
        for (LiveTable table : tables) {
            current.add(table.qualifiedName());
            Long known = liveVersions.get(table.qualifiedName());
            if (known != null && known == table.version()) {
                continue;
            }
            // the version is read before the rows: a change in between makes the next query copy again
            long version = table.version();
            try {
                List<Object[]> rows = table.rows().get();
                if (schemas.add(table.namespace())) {
                    s.execute("CREATE SCHEMA IF NOT EXISTS " + identifier(table.namespace()));
                }
                String columns = table.columns().stream().map(c -> identifier(c.name()) + " " + c.sqlType())
                        .collect(Collectors.joining(", "));
                s.execute("CREATE OR REPLACE TABLE " + identifier(table.namespace()) + "." + identifier(table.name())
                        + " (" + columns + ")");
                try (DuckDBAppender appender = connection.createAppender(table.namespace(), table.name())) {
                    for (Object[] row : rows) {
                        appender.beginRow();
                        for (Object value : row) {
                            append(appender, value);
                        }
                        appender.endRow();
                    }
                }
            } catch (SQLException | RuntimeException e) {
                // one table that cannot be copied does not take the others down; it is tried again at its next change
                LOG.error("Cannot copy live table {} (version {}) into DuckDB: {}", table.qualifiedName(), version, e.toString());
            }
            liveVersions.put(table.qualifiedName(), version);
        }
        for (String gone : new ArrayList<>(liveVersions.keySet())) {
            if (!current.contains(gone)) {
                int dot = gone.indexOf('.');
                s.execute("DROP TABLE IF EXISTS " + identifier(gone.substring(0, dot)) + "." + identifier(gone.substring(dot + 1)));
                liveVersions.remove(gone);
            }
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
                    .map(c -> "CAST(NULL AS " + c.sqlType() + ") AS " + identifier(c.name()))
                    .collect(Collectors.joining(", ")) + " WHERE false";
        }
        String schema = table.columns().stream()
                .map(c -> c.id() + ": {name: " + literal(c.name()) + ", type: " + literal(c.sqlType()) + ", default_value: NULL}")
                .collect(Collectors.joining(", "));
        String files = table.files().stream().map(f -> literal(f.path())).collect(Collectors.joining(", "));
        return "SELECT * FROM read_parquet([" + files + "], schema = MAP {" + schema + "})";
    }

    private static Object plain(Object value) throws SQLException {
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

    static String identifier(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    static String literal(String text) {
        return "'" + text.replace("'", "''") + "'";
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
