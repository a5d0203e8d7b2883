package io.watershed.ingest.jdbc;

import io.watershed.spi.StateDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What each jdbc source has imported — in {@code sources.db}, or in the shared PostgreSQL of {@code metadata.url}
 * ({@link StateDatabase}), so that another instance continues where this one stopped: the watermark of an incremental import (the
 * column value the last acknowledged batch ended at), when the last run finished, and for a keyed full import the
 * keys its last complete run published (to tell which rows were deleted at the source).
 */
final class ImportState implements AutoCloseable {
    /**
     * The schema, one migration per entry; append, never edit. Version 1 is the schema {@code sources.db} had before
     * migrations were counted ({@code IF NOT EXISTS} leaves it as it is).
     */
    static final List<String> MIGRATIONS = List.of("""
            CREATE TABLE IF NOT EXISTS jdbc_imports (source TEXT PRIMARY KEY, watermark TEXT, watermark_type TEXT, last_run BIGINT);
            CREATE TABLE IF NOT EXISTS jdbc_keys (source TEXT NOT NULL, key TEXT NOT NULL, run TEXT NOT NULL,
                PRIMARY KEY (source, key));
            """);

    private final StateDatabase.Store store;

    ImportState(StateDatabase database) {
        store = database.open("jdbc_import", "sources.db", MIGRATIONS);
    }

    private Connection connection() throws SQLException {
        return store.connection();
    }

    synchronized Optional<String> watermark(String source) {
        return text(source, "watermark");
    }

    synchronized Optional<String> watermarkType(String source) {
        return text(source, "watermark_type");
    }

    synchronized Optional<Instant> lastRun(String source) {
        try (PreparedStatement s = connection().prepareStatement("SELECT last_run FROM jdbc_imports WHERE source = ?")) {
            s.setString(1, source);
            try (ResultSet r = s.executeQuery()) {
                if (r.next()) {
                    long at = r.getLong(1);
                    return r.wasNull() ? Optional.empty() : Optional.of(Instant.ofEpochMilli(at));
                }
                return Optional.empty();
            }
        } catch (SQLException e) {
            throw store.failure("read the import state", e);
        }
    }

    private Optional<String> text(String source, String column) {
        try (PreparedStatement s = connection().prepareStatement("SELECT " + column + " FROM jdbc_imports WHERE source = ?")) {
            s.setString(1, source);
            try (ResultSet r = s.executeQuery()) {
                return r.next() ? Optional.ofNullable(r.getString(1)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw store.failure("read the import state", e);
        }
    }

    synchronized void watermark(String source, String watermark, String type) {
        update("INSERT INTO jdbc_imports (source, watermark, watermark_type) VALUES (?, ?, ?) "
                + "ON CONFLICT (source) DO UPDATE SET watermark = excluded.watermark, watermark_type = excluded.watermark_type",
                source, watermark, type);
    }

    synchronized void finished(String source, Instant at) {
        update("INSERT INTO jdbc_imports (source, last_run) VALUES (?, ?) ON CONFLICT (source) DO UPDATE SET last_run = excluded.last_run",
                source, at.toEpochMilli());
    }

    /** Records that the run published these keys. */
    synchronized void keys(String source, List<String> keys, String run) {
        try {
            connection().setAutoCommit(false);
            try (PreparedStatement s = connection().prepareStatement("INSERT INTO jdbc_keys (source, key, run) VALUES (?, ?, ?) "
                    + "ON CONFLICT (source, key) DO UPDATE SET run = excluded.run")) {
                for (String key : keys) {
                    s.setString(1, source);
                    s.setString(2, key);
                    s.setString(3, run);
                    s.addBatch();
                }
                s.executeBatch();
            }
            connection().commit();
        } catch (SQLException e) {
            throw store.failure("save the imported keys", e);
        } finally {
            try {
                connection().setAutoCommit(true);
            } catch (SQLException ignored) {
                // closing
            }
        }
    }

    /** Keys an earlier run published that this run did not. */
    synchronized List<String> keysNotIn(String source, String run) {
        List<String> keys = new ArrayList<>();
        try (PreparedStatement s = connection().prepareStatement("SELECT key FROM jdbc_keys WHERE source = ? AND run <> ?")) {
            s.setString(1, source);
            s.setString(2, run);
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    keys.add(r.getString(1));
                }
            }
        } catch (SQLException e) {
            throw store.failure("read the imported keys", e);
        }
        return keys;
    }

    synchronized void forgetKeysNotIn(String source, String run) {
        update("DELETE FROM jdbc_keys WHERE source = ? AND run <> ?", source, run);
    }

    private void update(String sql, Object... values) {
        try (PreparedStatement s = connection().prepareStatement(sql)) {
            for (int i = 0; i < values.length; i++) {
                s.setObject(i + 1, values[i]);
            }
            s.executeUpdate();
        } catch (SQLException e) {
            throw store.failure("save the import state", e);
        }
    }

    @Override
    public synchronized void close() {
        store.close();
    }
}
