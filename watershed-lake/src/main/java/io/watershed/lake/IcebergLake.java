package io.watershed.lake;

import io.watershed.spi.FieldColumns;
import io.watershed.spi.LakeCatalog;
import io.watershed.spi.LakeTableView;
import io.watershed.spi.Settings;
import io.watershed.spi.StateDatabase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.CatalogProperties;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.exceptions.AlreadyExistsException;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.jdbc.JdbcCatalog;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.Types;

/**
 * The lake: an Iceberg JDBC catalog — on SQLite, or on the PostgreSQL of {@code metadata.url} — with a warehouse in a
 * local directory or on S3 (Iceberg's S3FileIO). Owns the catalog connection, serialises commits (SQLite takes one
 * writer at a time), and keeps, for the query engine, a view of every table at its current snapshot, refreshed after
 * each commit. The views name local files: a remote warehouse's data files are read through a {@link DataFileCache}.
 */
public final class IcebergLake implements LakeCatalog, AutoCloseable {
    public static final Namespace RAW = Namespace.of("raw");
    /** {@code raw.<stream>__dlq} holds the stream's dead letters. */
    public static final String DEAD_LETTER_SUFFIX = "__dlq";
    /** The column every raw and dead-letter table is partitioned by (day). */
    public static final String INGESTED_AT = "_ingested_at";

    /** The local directory the views' files are in: the warehouse, or the file cache of a remote one. */
    private final Path warehouse;
    /** Local copies of a remote warehouse's data files; null for a local warehouse. */
    private final DataFileCache cache;
    /** The handle of the S3 keys this lake registered, or null. */
    private final String credentials;
    private final JdbcCatalog catalog;
    /** The handle of the catalog's PostgreSQL password ({@link CatalogPassword}), or null. */
    private String passwordHandle;
    private final Object commitLock = new Object();
    private final Map<TableIdentifier, LakeTableView> views = new ConcurrentHashMap<>();
    /** Tables changed by other writers whose views are not rebuilt yet: that waits for the next {@link #tables()}. */
    private final Map<TableIdentifier, Table> changed = new ConcurrentHashMap<>();
    /** The catalog's name; a JDBC catalog keeps each name's tables apart, so every client must use this one. */
    public static final String CATALOG_NAME = "watershed";
    private final Map<String, String> catalogProperties;
    private volatile java.util.concurrent.ScheduledExecutorService refresher;
    /** Whether other instances share the catalog (PostgreSQL): then they write raw tables this one does not. */
    private final boolean sharedCatalog;
    private final SnapshotHolds holds = new SnapshotHolds();
    /** The sequence number and schema id of each table's view, so that an older snapshot's view never replaces a newer one. */
    private final Map<TableIdentifier, ViewVersion> viewVersion = new ConcurrentHashMap<>();

    private record ViewVersion(java.util.UUID table, long sequence, int schemaId) {}

    /** A lake with its catalog in {@code lakeDirectory}/catalog.db and its warehouse in {@code lakeDirectory}/warehouse. */
    public IcebergLake(Path lakeDirectory) {
        this(lakeDirectory, Settings.defaults().lake(), StateDatabase.local(lakeDirectory));
    }

    /**
     * A lake with its warehouse where {@code settings} say — the local {@code lakeDirectory}/warehouse, or
     * {@code lake.warehouse} on S3 with a file cache in {@code lakeDirectory}/cache — and its catalog in the PostgreSQL of
     * {@code metadata.url} when {@code state} is there (in its schema, the password by a {@link CatalogPassword}
     * handle), else in {@code lakeDirectory}/catalog.db.
     */
    public IcebergLake(Path lakeDirectory, Settings.Lake settings, StateDatabase state) {
        Map<String, String> properties = new HashMap<>();
        java.util.Optional<StateDatabase.Remote> shared = state.remote();
        this.sharedCatalog = shared.isPresent();
        if (shared.isPresent()) {
            if (Files.exists(lakeDirectory.resolve("catalog.db"))) {
                // a new, empty catalog would leave the local one's files unreferenced, and orphan cleanup would remove them
                throw new IllegalStateException("Cannot keep the lake's catalog in PostgreSQL (metadata.url): "
                        + lakeDirectory.resolve("catalog.db") + " holds this data directory's own catalog, whose tables "
                        + "PostgreSQL does not know. Start with another --data-dir, or move " + lakeDirectory + " aside first");
            }
            // Iceberg creates its tables in the schema (jdbc.currentSchema); its set-up looks for them in every schema of
            // the database, so the database must hold no other Iceberg JDBC catalog (apache/iceberg#11862)
            properties.put(CatalogProperties.URI, shared.get().url());
            shared.get().properties().forEach((key, value) -> properties.put("jdbc." + key, value));
            properties.put(CatalogProperties.CLIENT_POOL_SIZE, "2");
        } else {
            properties.put(CatalogProperties.URI, "jdbc:sqlite:" + lakeDirectory.resolve("catalog.db").toAbsolutePath()
                    + "?journal_mode=WAL&busy_timeout=30000");
            properties.put(CatalogProperties.CLIENT_POOL_SIZE, "1");
        }
        properties.put("jdbc.schema-version", "V1");
        if (settings.remote()) {
            this.cache = new DataFileCache(lakeDirectory.resolve("cache"), settings.cacheSize());
            this.warehouse = cache.directory();
            this.credentials = settings.s3AccessKeyId().isEmpty() ? null
                    : S3Credentials.register(settings.s3AccessKeyId().reveal(), settings.s3SecretAccessKey().reveal());
            properties.putAll(s3Properties(settings, credentials));
        } else {
            this.cache = null;
            this.credentials = null;
            this.warehouse = lakeDirectory.resolve("warehouse").toAbsolutePath();
            try {
                Files.createDirectories(warehouse);
            } catch (IOException e) {
                forgetCredentials();
                throw new UncheckedIOException("Cannot create the lake warehouse " + warehouse, e);
            }
            properties.put(CatalogProperties.WAREHOUSE_LOCATION, warehouse.toUri().toString());
        }
        if (shared.isPresent() && !shared.get().password().isEmpty()) { // last: nothing above can fail with it registered
            passwordHandle = CatalogPassword.register(shared.get().password().reveal());
            properties.put("jdbc.authenticationPluginClassName", CatalogPassword.class.getName());
            properties.put("jdbc." + CatalogPassword.HANDLE, passwordHandle);
        }
        this.catalogProperties = Map.copyOf(properties);
        this.catalog = new JdbcCatalog();
        catalog.setConf(hadoopConfiguration());
        try {
            catalog.initialize(CATALOG_NAME, properties);
            openViews();
        } catch (RuntimeException e) {
            try {
                catalog.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            forgetCredentials();
            throw e;
        }
    }

    private void openViews() {
        if (!catalog.namespaceExists(RAW)) {
            try {
                catalog.createNamespace(RAW);
            } catch (AlreadyExistsException ignored) {
                // created concurrently
            }
        }
        for (Namespace namespace : catalog.listNamespaces()) {
            if (hidden(namespace)) {
                continue;
            }
            for (TableIdentifier id : catalog.listTables(namespace)) {
                refreshView(catalog.loadTable(id));
            }
        }
    }

    /**
     * The catalog properties of a warehouse on S3: Iceberg's S3FileIO with the endpoint, region and addressing of
     * {@code settings}; the keys, when set, by the handle {@link S3Credentials} keeps them under, never by value.
     */
    static Map<String, String> s3Properties(Settings.Lake settings, String credentialsHandle) {
        Map<String, String> properties = new HashMap<>();
        String warehouse = settings.warehouse().orElseThrow();
        properties.put(CatalogProperties.WAREHOUSE_LOCATION, warehouse.endsWith("/") ? warehouse.substring(0, warehouse.length() - 1)
                : warehouse);
        properties.put(CatalogProperties.FILE_IO_IMPL, "org.apache.iceberg.aws.s3.S3FileIO");
        settings.s3Endpoint().ifPresent(endpoint -> properties.put("s3.endpoint", endpoint));
        properties.put("s3.path-style-access", String.valueOf(settings.s3PathStyle()));
        properties.put("client.region", settings.s3Region());
        if (credentialsHandle != null) {
            properties.put("client.credentials-provider", S3Credentials.class.getName());
            properties.put("client.credentials-provider." + S3Credentials.HANDLE, credentialsHandle);
        }
        return properties;
    }

    /** The warehouse is on S3: queries read its data files through the local file cache. */
    public boolean remote() {
        return cache != null;
    }

    /** Drops the S3 keys and the catalog's password this lake registered. */
    private void forgetCredentials() {
        if (credentials != null) {
            S3Credentials.unregister(credentials);
        }
        if (passwordHandle != null) {
            CatalogPassword.unregister(passwordHandle);
        }
    }

    /** Hadoop's settings for the lake's file IO: the local file system without a {@code chmod} process per file. */
    public static Configuration hadoopConfiguration() {
        Configuration conf = new Configuration();
        conf.set("fs.file.impl", NioLocalFileSystem.class.getName());
        return conf;
    }

    /** Namespaces of the platform's own bookkeeping ({@code _staging} of model builds): no query sees them. */
    static boolean hidden(Namespace namespace) {
        return namespace.level(0).startsWith("_");
    }

    @Override
    public void refresh(String namespace, String table) {
        TableIdentifier id = TableIdentifier.of(Namespace.of(namespace), table);
        if (catalog.tableExists(id)) {
            changed.put(id, catalog.loadTable(id));
        } else {
            forget(id);
        }
    }

    /** A table dropped or renamed (by an outside engine, through the REST catalog): queries no longer see it. */
    private void forget(TableIdentifier id) {
        synchronized (changed) {
            changed.remove(id);
            synchronized (viewVersion) {
                views.remove(id);
                viewVersion.remove(id);
            }
        }
        if (cache != null) {
            cache.release(id);
        }
    }

    /** What another Iceberg client (Flink's catalog) needs to open this catalog: catalog-impl, uri, warehouse, ... */
    public Map<String, String> catalogProperties() {
        Map<String, String> p = new HashMap<>(catalogProperties);
        p.put(CatalogProperties.CATALOG_IMPL, JdbcCatalog.class.getName());
        return p;
    }

    /**
     * Reloads, every {@code interval}, the tables other writers (pipelines) commit to, so that queries
     * see their new snapshots. Only the metadata is read here; listing a changed table's files waits
     * for the next query, so a pipeline committing every second costs nothing while nobody queries.
     * The raw tables are refreshed by their lake writer at each commit; in a catalog other instances share, where
     * another instance's lake writer may own them, they are reloaded here too.
     */
    public synchronized void refreshTablesWrittenElsewhere(java.time.Duration interval) {
        if (refresher != null) {
            return;
        }
        java.util.concurrent.ScheduledExecutorService executor = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "watershed-lake-refresh");
            t.setDaemon(true);
            return t;
        });
        refresher = executor;
        executor.scheduleWithFixedDelay(() -> {
            try {
                for (Namespace namespace : catalog.listNamespaces()) {
                    if ((namespace.equals(RAW) && !sharedCatalog) || hidden(namespace)) {
                        continue;
                    }
                    for (TableIdentifier id : catalog.listTables(namespace)) {
                        Table table = catalog.loadTable(id);
                        Table pending = changed.get(id);
                        LakeTableView view = views.get(id);
                        long snapshot = table.currentSnapshot() == null ? -1 : table.currentSnapshot().snapshotId();
                        long known = pending != null ? (pending.currentSnapshot() == null ? -1 : pending.currentSnapshot().snapshotId())
                                : view != null ? view.snapshotId() : Long.MIN_VALUE;
                        int knownColumns = pending != null ? pending.schema().columns().size()
                                : view != null ? view.columns().size() : -1;
                        if (known != snapshot || knownColumns != table.schema().columns().size()) {
                            changed.put(id, table);
                        }
                    }
                }
            } catch (RuntimeException e) {
                org.slf4j.LoggerFactory.getLogger(IcebergLake.class).warn("Cannot refresh the lake's tables: {}", e.toString());
            }
        }, 0, interval.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /** The identifier of an existing, visible table named {@code namespace.table}; a precise error otherwise. */
    public TableIdentifier resolve(String qualifiedName) {
        TableIdentifier id;
        try {
            id = TableIdentifier.parse(qualifiedName);
        } catch (IllegalArgumentException e) {
            id = null;
        }
        if (id == null || !id.hasNamespace() || hidden(id.namespace()) || !catalog().tableExists(id)) {
            throw new io.watershed.spi.WatershedException(io.watershed.spi.ErrorCode.UNKNOWN_TABLE, "Cannot find table '" + qualifiedName
                    + "'; name it as namespace.table, e.g. raw.clicks (see `watershed tables`)");
        }
        return id;
    }

    public JdbcCatalog catalog() {
        return catalog;
    }

    /** Runs a catalog commit while no other commit of this process runs. */
    public <T> T commit(java.util.function.Supplier<T> action) {
        synchronized (commitLock) {
            return action.get();
        }
    }

    @Override
    public Path warehouse() {
        return warehouse;
    }

    @Override
    public List<LakeTableView> tables() {
        return LakeFailure.guard("read the lake's tables", () -> {
            synchronized (changed) { // one caller at a time, so an older snapshot's view never replaces a newer one
                changed.forEach((id, table) -> {
                    install(id, table);
                    changed.remove(id, table);
                });
            }
            return List.copyOf(views.values());
        });
    }

    /** Recomputes the query view of a table after it changed. */
    public void refreshView(Table table) {
        try {
            install(idOf(table), table);
        } catch (RuntimeException e) {
            if (!remote()) {
                throw e;
            }
            // the commit happened; only its local copies are missing. The view stays at the snapshot before, whose
            // fresh tail still covers the new rows, and the next commit or refresh fetches them again
            org.slf4j.LoggerFactory.getLogger(IcebergLake.class).warn("Cannot bring the view of {} up to its new snapshot "
                    + "yet (the data files could not be fetched from the object store): {}", idOf(table), e.toString());
        }
    }

    /** A loaded table's identifier in this catalog ({@code table.name()} is {@code catalog.namespace.table}). */
    static TableIdentifier idOf(Table table) {
        return TableIdentifier.parse(table.name().substring(table.name().indexOf('.') + 1));
    }

    /** Several threads commit to one table (its writer, upkeep): the view follows the newest snapshot only. */
    private void install(TableIdentifier id, Table table) {
        long sequence = table.currentSnapshot() == null ? -1 : table.currentSnapshot().sequenceNumber();
        int schemaId = table.schema().schemaId();
        synchronized (viewVersion) {
            ViewVersion known = viewVersion.get(id);
            if (known != null && known.table().equals(table.uuid())
                    && (sequence < known.sequence() || sequence == known.sequence() && schemaId == known.schemaId())) {
                return;
            }
            try {
                views.put(id, viewOf(id, table));
            } catch (ForeignFiles e) {
                // written from outside (the REST catalog) to read files of another place: SQL does not see the table
                views.remove(id);
                org.slf4j.LoggerFactory.getLogger(IcebergLake.class).warn("{}: not queryable: {}", id, e.getMessage());
            }
            viewVersion.put(id, new ViewVersion(table.uuid(), sequence, schemaId));
        }
    }

    @Override
    public Hold hold(String namespace, String table, long snapshotId) {
        return holds.hold(TableIdentifier.of(Namespace.of(namespace), table), snapshotId);
    }

    SnapshotHolds holds() {
        return holds;
    }

    private LakeTableView viewOf(TableIdentifier id, Table table) {
        if (cache == null) {
            return viewOf(id, table, location -> localPath(location.location()));
        }
        // the copies of the view being built, then of the view installed, stay in the cache while queries may read them
        Object build = new Object();
        Set<Path> copies = ConcurrentHashMap.newKeySet();
        cache.retain(build, copies);
        try {
            LakeTableView view = viewOf(id, table, file -> {
                Path copy = cache.get(table.io(), file.location(), file.fileSizeInBytes());
                copies.add(copy);
                return copy.toString();
            });
            cache.retain(id, copies);
            return view;
        } finally {
            cache.release(build);
        }
    }

    /** The view of a table's current snapshot, each data file named by {@code local}. */
    static LakeTableView viewOf(TableIdentifier id, Table table, java.util.function.Function<DataFile, String> local) {
        List<LakeTableView.Column> columns = new ArrayList<>();
        for (Types.NestedField field : table.schema().columns()) {
            columns.add(column(field));
        }
        List<LakeTableView.DataFile> files = new ArrayList<>();
        Snapshot current = table.currentSnapshot();
        String own = normalized(table.location());
        if (current != null) {
            try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
                for (FileScanTask task : tasks) {
                    // SQL reads a table's files as the server does: never one outside the table's own directory
                    if (!normalized(task.file().location()).startsWith(own + "/")) {
                        throw new ForeignFiles("its data file " + task.file().location() + " is outside its location "
                                + table.location());
                    }
                    files.add(new LakeTableView.DataFile(local.apply(task.file()), task.file().recordCount()));
                }
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot list the files of " + id, e);
            }
        }
        return new LakeTableView(id.namespace().toString(), id.name(), current == null ? -1 : current.snapshotId(),
                columns, files, CommittedOffsets.of(table));
    }

    /** A table whose data files are not all below its own location. */
    static final class ForeignFiles extends IllegalStateException {
        ForeignFiles(String message) {
            super(message);
        }
    }

    /** A location with its percent-escapes decoded and its {@code .} and {@code ..} steps resolved, without a trailing slash. */
    static String normalized(String location) {
        String path;
        try {
            java.net.URI uri = java.net.URI.create(location);
            String decoded = Path.of(uri.getPath()).normalize().toString(); // decoded first, so %2e%2e is a step up too
            path = uri.getScheme() == null || uri.getScheme().equals("file") ? decoded
                    : uri.getScheme() + "://" + uri.getAuthority() + decoded;
        } catch (IllegalArgumentException e) {
            path = Path.of(location).normalize().toString();
        }
        return path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    }

    private static String localPath(String location) {
        return location.startsWith("file:") ? java.net.URI.create(location).getPath() : location;
    }

    /** The view of a column, with the event field it holds (named by its doc when it is not its name). */
    static LakeTableView.Column column(Types.NestedField field) {
        return new LakeTableView.Column(field.fieldId(), field.name(), duckDbType(field.type()),
                FieldColumns.field(field.name(), field.doc()));
    }

    static String duckDbType(Type type) {
        return switch (type.typeId()) {
            case INTEGER -> "INTEGER";
            case LONG -> "BIGINT";
            case FLOAT -> "FLOAT";
            case DOUBLE -> "DOUBLE";
            case BOOLEAN -> "BOOLEAN";
            case DATE -> "DATE";
            case TIMESTAMP -> ((Types.TimestampType) type).shouldAdjustToUTC() ? "TIMESTAMPTZ" : "TIMESTAMP";
            case DECIMAL -> "DECIMAL(" + ((Types.DecimalType) type).precision() + "," + ((Types.DecimalType) type).scale() + ")";
            default -> "VARCHAR";
        };
    }

    @Override
    public void close() {
        if (refresher != null) {
            refresher.shutdownNow();
        }
        try {
            catalog.close();
        } finally {
            forgetCredentials();
        }
    }
}
