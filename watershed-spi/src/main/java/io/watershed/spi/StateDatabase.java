package io.watershed.spi;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Where Watershed keeps its own state — users, grants and token hashes, the run history of models, the JDBC imports'
 * watermarks: a SQLite file per part in the data directory on one machine, or one PostgreSQL database ({@code metadata.url}) that every
 * instance of the project shares. A part opens its {@link Store} here by name and hands over its migrations, numbered
 * from 1 in list order: the ones not applied yet run at open, in order, each in its own transaction, and are recorded in
 * {@code watershed_migrations}. On PostgreSQL a transaction-scoped advisory lock lets two instances that start together
 * apply each migration once. Migrations are written in the SQL both databases take (text, bigint, {@code ON CONFLICT},
 * quoted {@code "user"}); {@link #dialect()} says which one runs, for the rare statement that differs.
 */
public final class StateDatabase {
    public enum Dialect { SQLITE, POSTGRESQL }

    private final Settings.Metadata settings;
    private final Path dataDirectory;

    private StateDatabase(Settings.Metadata settings, Path dataDirectory) {
        this.settings = settings;
        this.dataDirectory = dataDirectory;
    }

    /** The state database the settings choose; SQLite files go under {@code dataDirectory}. */
    public static StateDatabase of(Settings.Metadata settings, Path dataDirectory) {
        return new StateDatabase(settings, dataDirectory);
    }

    /** SQLite files in {@code dataDirectory}: the single-machine default, and what part tests use. */
    public static StateDatabase local(Path dataDirectory) {
        return of(Settings.defaults().metadata(), dataDirectory);
    }

    /**
     * This instance's name in the leases: {@code metadata.instance}, else on PostgreSQL the host name and a hash of the
     * data directory (stable across restarts, different for two data directories on one host), and on SQLite
     * {@code local}: the files are the data directory's, which one process at a time uses, whatever its host is called.
     */
    public String instance() {
        return settings.instance().orElseGet(() -> {
            if (dialect() == Dialect.SQLITE) {
                return "local";
            }
            String host;
            try {
                host = java.net.InetAddress.getLocalHost().getHostName();
            } catch (java.io.IOException e) {
                host = "localhost";
            }
            String directory = dataDirectory.toAbsolutePath().normalize().toString();
            return host + "-" + Integer.toHexString(directory.hashCode());
        });
    }

    /** The leases of this instance in this database ({@link Leases}), {@code metadata.lease_ttl} long; close them. */
    public Leases leases() {
        return new Leases(this, instance(), settings.leaseTtl());
    }

    public Dialect dialect() {
        return settings.url().isPresent() ? Dialect.POSTGRESQL : Dialect.SQLITE;
    }

    /**
     * How a client that connects by itself (Iceberg's JDBC catalog) reaches the PostgreSQL of {@code metadata.url}: its
     * URL, the user and schema as pgJDBC properties, and the password apart, as a secret. The schema exists once this
     * returns. Empty on SQLite, where each part keeps its own file.
     */
    public java.util.Optional<Remote> remote() {
        if (dialect() == Dialect.SQLITE) {
            return java.util.Optional.empty();
        }
        open("metadata", List.of()).close(); // creates the schema when it is missing
        Map<String, String> properties = new java.util.LinkedHashMap<>();
        settings.user().ifPresent(user -> properties.put("user", user));
        properties.put("currentSchema", settings.schema());
        properties.put("connectTimeout", "10");
        return java.util.Optional.of(new Remote(settings.url().orElseThrow(), Map.copyOf(properties), settings.password()));
    }

    /** A PostgreSQL connection for a client that opens its own: see {@link #remote()}. */
    public record Remote(String url, Map<String, String> properties, Secret password) {}

    /**
     * Opens a part's store, applying its migrations.
     *
     * @param part the part's name ({@code access}); on SQLite its file is {@code <data>/<part>.db}
     * @param migrations the part's schema changes, version 1 first; never edit one that has shipped, append a new one
     */
    public Store open(String part, List<String> migrations) {
        return open(part, part + ".db", migrations);
    }

    /**
     * The same, where on SQLite the part shares {@code sqliteFile} with other parts (as the sources' state shares
     * {@code sources.db}); each part's migrations are counted on their own.
     */
    public Store open(String part, String sqliteFile, List<String> migrations) {
        Store store = new Store(this, part, sqliteFile);
        try {
            migrate(store.connection(), part, migrations);
        } catch (SQLException e) {
            store.close();
            throw new IllegalStateException("Cannot prepare " + store.describe() + ": " + e.getMessage(), e);
        }
        return store;
    }

    /** The store as errors name it: "the access database access.db", "the access tables in PostgreSQL (schema watershed)". */
    String describe(String part, String sqliteFile) {
        return dialect() == Dialect.SQLITE ? "the " + part + " database " + dataDirectory.resolve(sqliteFile)
                : "the " + part + " tables in PostgreSQL (schema " + settings.schema() + ")";
    }

    private Connection connect(String part, String sqliteFile) throws SQLException {
        if (dialect() == Dialect.SQLITE) {
            Path file = dataDirectory.resolve(sqliteFile);
            boolean created;
            try {
                Files.createDirectories(dataDirectory);
                created = !Files.exists(file);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot create " + dataDirectory, e);
            }
            Connection connection = DriverManager.getConnection("jdbc:sqlite:" + file);
            if (created) {
                ownerOnly(file);
            }
            try (Statement s = connection.createStatement()) {
                s.execute("PRAGMA busy_timeout=10000");
                s.execute("PRAGMA journal_mode=WAL");
                s.execute("PRAGMA synchronous=FULL");
                s.execute("PRAGMA foreign_keys=ON");
            }
            return connection;
        }
        Properties p = new Properties();
        settings.user().ifPresent(user -> p.setProperty("user", user));
        if (!settings.password().isEmpty()) {
            p.setProperty("password", settings.password().reveal());
        }
        p.setProperty("connectTimeout", "10");
        p.setProperty("socketTimeout", "60");
        p.setProperty("ApplicationName", "watershed-" + part);
        Connection connection = DriverManager.getConnection(settings.url().orElseThrow(), p);
        try (Statement s = connection.createStatement()) {
            s.execute("SET search_path TO " + settings.schema()); // the schema may not exist yet: migrate() creates it
        } catch (SQLException e) {
            connection.close();
            throw e;
        }
        return connection;
    }

    private void migrate(Connection connection, String part, List<String> migrations) throws SQLException {
        boolean autoCommit = connection.getAutoCommit();
        connection.setAutoCommit(false);
        try {
            if (dialect() == Dialect.POSTGRESQL) {
                // one instance at a time creates the schema and the migrations table: two at once would collide
                lock(connection, "watershed_migrations");
                boolean exists;
                try (PreparedStatement q = connection.prepareStatement("SELECT 1 FROM pg_namespace WHERE nspname = ?")) {
                    q.setString(1, settings.schema());
                    try (ResultSet rs = q.executeQuery()) {
                        exists = rs.next();
                    }
                }
                if (!exists) { // a user may own a schema an administrator made without having CREATE on the database
                    try (Statement s = connection.createStatement()) {
                        s.execute("CREATE SCHEMA " + settings.schema());
                    }
                }
            }
            try (Statement s = connection.createStatement()) {
                s.execute("CREATE TABLE IF NOT EXISTS watershed_migrations (part TEXT NOT NULL, version INTEGER NOT NULL, "
                        + "applied_at TEXT NOT NULL, PRIMARY KEY (part, version))");
            }
            connection.commit();
            for (int version = 1; version <= migrations.size(); version++) {
                if (dialect() == Dialect.POSTGRESQL) {
                    lock(connection, "watershed_migrations." + part);
                }
                boolean applied;
                try (PreparedStatement q = connection.prepareStatement(
                        "SELECT 1 FROM watershed_migrations WHERE part = ? AND version = ?")) {
                    q.setString(1, part);
                    q.setInt(2, version);
                    try (ResultSet rs = q.executeQuery()) {
                        applied = rs.next();
                    }
                }
                if (!applied) {
                    try (Statement s = connection.createStatement()) {
                        for (String statement : migrations.get(version - 1).split(";\\s*(\\n|$)")) {
                            if (!statement.isBlank()) {
                                s.execute(statement);
                            }
                        }
                    }
                    try (PreparedStatement record = connection.prepareStatement(
                            "INSERT INTO watershed_migrations (part, version, applied_at) VALUES (?, ?, ?)")) {
                        record.setString(1, part);
                        record.setInt(2, version);
                        record.setString(3, java.time.Instant.now().toString());
                        record.executeUpdate();
                    }
                }
                connection.commit();
            }
        } catch (SQLException e) {
            try {
                connection.rollback();
            } catch (SQLException lost) {
                e.addSuppressed(lost);
            }
            throw e;
        } finally {
            try {
                connection.setAutoCommit(autoCommit);
            } catch (SQLException lost) {
                // the connection is gone; the caller closes it
            }
        }
    }

    /** A transaction-scoped advisory lock on {@code name}: held until the transaction ends. */
    private static void lock(Connection connection, String name) throws SQLException {
        try (PreparedStatement lock = connection.prepareStatement("SELECT pg_advisory_xact_lock(hashtext(?))")) {
            lock.setString(1, name);
            lock.execute();
        }
    }

    private static void ownerOnly(Path file) {
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException | UnsupportedOperationException e) {
            org.slf4j.LoggerFactory.getLogger(StateDatabase.class).warn("Cannot make {} readable by its owner only: {}", file,
                    e.toString());
        }
    }

    /**
     * One part's connection to the state database. After a failure that lost the connection (PostgreSQL restarted, the
     * network dropped), the next {@link #connection()} opens a new one: the request that met the failure gets a
     * retriable error ({@link #failure}), the ones after it work again. Not thread-safe: its owner serializes use.
     */
    public static final class Store implements AutoCloseable {
        private final StateDatabase database;
        private final String part;
        private final String sqliteFile;
        private Connection connection;
        private boolean closed;

        private Store(StateDatabase database, String part, String sqliteFile) {
            this.database = database;
            this.part = part;
            this.sqliteFile = sqliteFile;
        }

        /** The open connection, or a new one when the last was lost. */
        public Connection connection() throws SQLException {
            if (closed) {
                throw new SQLException(describe() + " is closed", dialect() == Dialect.POSTGRESQL ? "08003" : null);
            }
            if (connection == null || connection.isClosed()) {
                connection = database.connect(part, sqliteFile);
            }
            return connection;
        }

        /**
         * What a caller gets when {@code action} failed on this store ({@link StoreFailure}); a failure that lost the
         * connection makes the next use reconnect.
         */
        public WatershedException failure(String action, SQLException e) {
            if (lostConnection(e) && connection != null) {
                try {
                    connection.close();
                } catch (SQLException ignored) {
                    // already gone
                }
                connection = null;
            }
            return StoreFailure.of(action, describe(), e);
        }

        public String describe() {
            return database.describe(part, sqliteFile);
        }

        public Dialect dialect() {
            return database.dialect();
        }

        private static boolean lostConnection(SQLException e) {
            String state = e.getSQLState();
            return state != null && (state.startsWith("08") || state.startsWith("57P"));
        }

        @Override
        public void close() {
            closed = true;
            if (connection != null) {
                try {
                    connection.close();
                } catch (SQLException e) {
                    org.slf4j.LoggerFactory.getLogger(StateDatabase.class).warn("Cannot close {}: {}", describe(), e.getMessage());
                }
            }
        }
    }
}
