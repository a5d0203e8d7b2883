package io.watershed.ingest.tail;

import io.watershed.spi.StateDatabase;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Where each tailed file was read up to, in SQLite ({@code sources.db} in the data directory, always: the files are this
 * machine's, so their offsets are too, whatever {@code metadata.url} says): per source and file
 * identity (device and inode), the offset just past the last record the bus acknowledged, a fingerprint of the
 * file's first bytes (to tell a reused inode or a rewritten file from the one read before) and a generation id
 * that names the file's batches for idempotent publishing. Written after every acknowledged batch.
 */
final class TailOffsets implements AutoCloseable {
    /** One file's saved state. */
    record State(String source, long device, long inode, String generation, String path, long offset, String fingerprint,
            int fingerprintLength, boolean skipToNewline) {}

    /** The schema, one migration per entry; append, never edit. */
    static final List<String> MIGRATIONS = List.of("CREATE TABLE IF NOT EXISTS tail_files (source TEXT NOT NULL, "
            + "device INTEGER NOT NULL, inode INTEGER NOT NULL, generation TEXT NOT NULL, path TEXT NOT NULL, offset INTEGER NOT NULL, "
            + "fingerprint TEXT NOT NULL, fingerprint_length INTEGER NOT NULL, skip_to_newline INTEGER NOT NULL, "
            + "updated_at INTEGER NOT NULL, PRIMARY KEY (source, device, inode))");

    private final StateDatabase.Store store;

    TailOffsets(Path database) {
        store = StateDatabase.local(database.getParent()).open("file_tail", database.getFileName().toString(), MIGRATIONS);
    }

    synchronized Optional<State> get(String source, long device, long inode) {
        try (PreparedStatement s = store.connection().prepareStatement("SELECT generation, path, offset, fingerprint, fingerprint_length, "
                + "skip_to_newline FROM tail_files WHERE source = ? AND device = ? AND inode = ?")) {
            s.setString(1, source);
            s.setLong(2, device);
            s.setLong(3, inode);
            try (ResultSet r = s.executeQuery()) {
                if (!r.next()) {
                    return Optional.empty();
                }
                return Optional.of(new State(source, device, inode, r.getString(1), r.getString(2), r.getLong(3), r.getString(4),
                        r.getInt(5), r.getInt(6) != 0));
            }
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot read the file-tail offsets: " + e.getMessage(), e);
        }
    }

    synchronized List<State> all(String source) {
        List<State> states = new ArrayList<>();
        try (PreparedStatement s = store.connection().prepareStatement("SELECT device, inode, generation, path, offset, fingerprint, "
                + "fingerprint_length, skip_to_newline FROM tail_files WHERE source = ?")) {
            s.setString(1, source);
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    states.add(new State(source, r.getLong(1), r.getLong(2), r.getString(3), r.getString(4), r.getLong(5),
                            r.getString(6), r.getInt(7), r.getInt(8) != 0));
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot read the file-tail offsets: " + e.getMessage(), e);
        }
        return states;
    }

    synchronized void put(State state) {
        try (PreparedStatement s = store.connection().prepareStatement("INSERT OR REPLACE INTO tail_files (source, device, inode, "
                + "generation, path, offset, fingerprint, fingerprint_length, skip_to_newline, updated_at) "
                + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            s.setString(1, state.source());
            s.setLong(2, state.device());
            s.setLong(3, state.inode());
            s.setString(4, state.generation());
            s.setString(5, state.path());
            s.setLong(6, state.offset());
            s.setString(7, state.fingerprint());
            s.setInt(8, state.fingerprintLength());
            s.setInt(9, state.skipToNewline() ? 1 : 0);
            s.setLong(10, System.currentTimeMillis());
            s.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot save the file-tail offset of " + state.path() + ": " + e.getMessage(), e);
        }
    }

    synchronized void remove(String source, long device, long inode) {
        try (PreparedStatement s = store.connection().prepareStatement("DELETE FROM tail_files WHERE source = ? AND device = ? AND inode = ?")) {
            s.setString(1, source);
            s.setLong(2, device);
            s.setLong(3, inode);
            s.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot forget a tailed file: " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized void close() {
        store.close();
    }
}
