package io.watershed.access;

import io.watershed.spi.StateDatabase;
import io.watershed.spi.WatershedException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;

/**
 * The tables that hold users, roles, grants, memberships and tokens — in {@code access.db} (readable by its owner only)
 * or in the shared PostgreSQL of {@code metadata.url} ({@link StateDatabase}) — their migrations, the statements the
 * other access classes share, and how failures reach a caller (unavailable and retriable, unless the statement itself
 * is wrong). Not thread-safe: {@link AccessStore} holds its lock around every use.
 */
final class AccessDatabase implements AutoCloseable {
    /**
     * The schema, one migration per entry; append, never edit. Times are epoch milliseconds; {@code "user"} is quoted,
     * as PostgreSQL reserves the word. Version 1 is the schema SQLite files had before migrations were counted: its
     * {@code IF NOT EXISTS} leaves such a file as it is.
     */
    static final List<String> MIGRATIONS = List.of("""
            CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, kind TEXT NOT NULL, created_at BIGINT NOT NULL);
            CREATE TABLE IF NOT EXISTS roles (name TEXT PRIMARY KEY, created_at BIGINT NOT NULL);
            CREATE TABLE IF NOT EXISTS grants (role TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE,
                privilege TEXT NOT NULL, object TEXT NOT NULL, columns TEXT NOT NULL, created_at BIGINT NOT NULL,
                PRIMARY KEY (role, privilege, object));
            CREATE TABLE IF NOT EXISTS members ("user" TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
                role TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE, PRIMARY KEY ("user", role));
            CREATE TABLE IF NOT EXISTS tokens (id TEXT PRIMARY KEY, "user" TEXT NOT NULL, name TEXT NOT NULL,
                secret_sha256 TEXT NOT NULL, stream TEXT, rate_per_second INTEGER, created_at BIGINT NOT NULL,
                expires_at BIGINT, revoked_at BIGINT, last_used_at BIGINT);
            """);

    private final StateDatabase.Store store;

    AccessDatabase(StateDatabase database) {
        this.store = database.open("access", MIGRATIONS);
    }

    PreparedStatement prepare(String sql) throws SQLException {
        return store.connection().prepareStatement(sql);
    }

    boolean exists(String sql, String arg) throws SQLException {
        try (PreparedStatement s = prepare(sql)) {
            s.setString(1, arg);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** Runs an INSERT, UPDATE or DELETE; returns the rows it changed. */
    int update(String sql, Object... args) throws SQLException {
        try (PreparedStatement s = prepare(sql)) {
            for (int i = 0; i < args.length; i++) {
                s.setObject(i + 1, args[i]);
            }
            return s.executeUpdate();
        }
    }

    /** What a caller gets when {@code action} failed on this database. */
    WatershedException failure(String action, SQLException e) {
        return store.failure(action, e);
    }

    /** The database as messages name it. */
    String describe() {
        return store.describe();
    }

    @Override
    public void close() {
        store.close();
    }
}
