package io.watershed.access;

import io.watershed.spi.StoreFailure;
import io.watershed.spi.WatershedException;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SQLite file that holds users, roles, grants, memberships and tokens ({@code access.db}, readable by its owner
 * only): its schema, the statements the other access classes share, and how its failures reach a caller
 * ({@link StoreFailure}: unavailable and retriable, unless the statement itself is wrong). Not thread-safe:
 * {@link AccessStore} holds its lock around every use.
 */
final class AccessDatabase implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AccessDatabase.class);

    private final Path file;
    private final Connection db;

    AccessDatabase(Path file) {
        this.file = file;
        try {
            Files.createDirectories(file.getParent());
            boolean created = !Files.exists(file);
            this.db = DriverManager.getConnection("jdbc:sqlite:" + file);
            if (created) {
                ownerOnly(file);
            }
            try (Statement s = db.createStatement()) {
                s.execute("PRAGMA busy_timeout=10000");
                s.execute("PRAGMA journal_mode=WAL");
                s.execute("PRAGMA synchronous=FULL");
                s.execute("PRAGMA foreign_keys=ON");
                s.execute("CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, kind TEXT NOT NULL, created_at INTEGER NOT NULL)");
                s.execute("CREATE TABLE IF NOT EXISTS roles (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL)");
                s.execute("CREATE TABLE IF NOT EXISTS grants (role TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE, "
                        + "privilege TEXT NOT NULL, object TEXT NOT NULL, columns TEXT NOT NULL, created_at INTEGER NOT NULL, "
                        + "PRIMARY KEY (role, privilege, object))");
                s.execute("CREATE TABLE IF NOT EXISTS members (user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE, "
                        + "role TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE, PRIMARY KEY (user, role))");
                s.execute("CREATE TABLE IF NOT EXISTS tokens (id TEXT PRIMARY KEY, user TEXT NOT NULL, name TEXT NOT NULL, "
                        + "secret_sha256 TEXT NOT NULL, stream TEXT, rate_per_second INTEGER, created_at INTEGER NOT NULL, "
                        + "expires_at INTEGER, revoked_at INTEGER, last_used_at INTEGER)");
            }
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot open the access database " + file + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create " + file.getParent(), e);
        }
    }

    PreparedStatement prepare(String sql) throws SQLException {
        return db.prepareStatement(sql);
    }

    boolean exists(String sql, String arg) throws SQLException {
        try (PreparedStatement s = db.prepareStatement(sql)) {
            s.setString(1, arg);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** Runs an INSERT, UPDATE or DELETE; returns the rows it changed. */
    int update(String sql, Object... args) throws SQLException {
        try (PreparedStatement s = db.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                s.setObject(i + 1, args[i]);
            }
            return s.executeUpdate();
        }
    }

    /** What a caller gets when {@code action} failed on this database. */
    WatershedException failure(String action, SQLException e) {
        return StoreFailure.of(action, "the access database " + file, e);
    }

    private static void ownerOnly(Path file) {
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException | UnsupportedOperationException e) {
            LOG.warn("Cannot make {} readable by its owner only: {}", file, e.toString());
        }
    }

    @Override
    public void close() {
        try {
            db.close();
        } catch (SQLException e) {
            LOG.warn("Cannot close the access database: {}", e.getMessage());
        }
    }
}
