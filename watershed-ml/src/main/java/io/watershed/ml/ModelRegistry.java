package io.watershed.ml;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.StateDatabase;
import io.watershed.spi.WatershedException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntFunction;

/**
 * The versions of the ml models and their stages, in the platform's state database (the {@code ml} part: {@code ml.db}
 * on SQLite, table {@code ml_versions} in the shared PostgreSQL with {@code metadata.url}). At most one version of a model
 * is in production; promoting another archives it in the same transaction. Thread-safe.
 */
public final class ModelRegistry implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> MIGRATIONS = List.of("""
            CREATE TABLE ml_versions (model TEXT NOT NULL, version INTEGER NOT NULL, stage TEXT NOT NULL, created_at TEXT NOT NULL,
              stage_changed_at TEXT NOT NULL, algorithm TEXT NOT NULL, objective TEXT NOT NULL, parameters TEXT NOT NULL,
              metrics TEXT NOT NULL, training_rows BIGINT NOT NULL, test_rows BIGINT NOT NULL, features TEXT NOT NULL,
              label TEXT NOT NULL, snapshots TEXT NOT NULL, artifact TEXT NOT NULL, sha256 TEXT NOT NULL,
              training_ms BIGINT NOT NULL, sql_text TEXT NOT NULL, PRIMARY KEY (model, version))""");
    private static final String COLUMNS = "model, version, stage, created_at, stage_changed_at, algorithm, objective, parameters, "
            + "metrics, training_rows, test_rows, features, label, snapshots, artifact, sha256, training_ms, sql_text";

    private final StateDatabase.Store store;
    private final Clock clock;

    public ModelRegistry(StateDatabase database, Clock clock) {
        this.store = database.open("ml", MIGRATIONS);
        this.clock = clock;
    }

    /**
     * Records the next version of {@code model} as a candidate. {@code artifact} is called with its number, and writes its
     * file, before the row is committed; a failure on either side leaves no version.
     */
    public synchronized ModelVersion add(ModelVersion draft, IntFunction<Stored> artifact) {
        try {
            Connection c = store.connection();
            c.setAutoCommit(false);
            try {
                int version;
                try (PreparedStatement q = c.prepareStatement("SELECT COALESCE(MAX(version), 0) FROM ml_versions WHERE model = ?")) {
                    q.setString(1, draft.model());
                    try (ResultSet rs = q.executeQuery()) {
                        rs.next();
                        version = rs.getInt(1) + 1;
                    }
                }
                Stored stored = artifact.apply(version);
                Instant now = clock.instant();
                ModelVersion added = new ModelVersion(draft.model(), version, ModelVersion.CANDIDATE, now, now, draft.algorithm(),
                        draft.objective(), draft.parameters(), draft.metrics(), draft.trainingRows(), draft.testRows(),
                        draft.features(), draft.label(), draft.snapshots(), stored.path(), stored.sha256(), draft.trainingMillis(),
                        draft.sql());
                try (PreparedStatement insert = c.prepareStatement("INSERT INTO ml_versions (" + COLUMNS
                        + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                    insert.setString(1, added.model());
                    insert.setInt(2, added.version());
                    insert.setString(3, added.stage());
                    insert.setString(4, added.createdAt().toString());
                    insert.setString(5, added.stageChangedAt().toString());
                    insert.setString(6, added.algorithm());
                    insert.setString(7, added.objective());
                    insert.setString(8, json(added.parameters()));
                    insert.setString(9, json(added.metrics()));
                    insert.setLong(10, added.trainingRows());
                    insert.setLong(11, added.testRows());
                    insert.setString(12, json(added.features()));
                    insert.setString(13, added.label());
                    insert.setString(14, json(added.snapshots()));
                    insert.setString(15, added.artifact());
                    insert.setString(16, added.sha256());
                    insert.setLong(17, added.trainingMillis());
                    insert.setString(18, added.sql());
                    insert.executeUpdate();
                }
                c.commit();
                return added;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw store.failure("record a version of ml:" + draft.model(), e);
        }
    }

    /** Where a version's model file was written. */
    public record Stored(String path, String sha256) {}

    /** The versions of {@code model}, newest first. */
    public synchronized List<ModelVersion> versions(String model) {
        return select("WHERE model = ? ORDER BY version DESC", model);
    }

    public synchronized Optional<ModelVersion> version(String model, int version) {
        return select("WHERE model = ? AND version = " + version, model).stream().findFirst();
    }

    public synchronized Optional<ModelVersion> production(String model) {
        return select("WHERE model = ? AND stage = '" + ModelVersion.PRODUCTION + "'", model).stream().findFirst();
    }

    /**
     * Makes {@code version} the production version of {@code model}; the one in production before, if another, is archived.
     *
     * @throws WatershedException UNKNOWN_MODEL when there is no such version
     */
    public synchronized ModelVersion promote(String model, int version) {
        try {
            Connection c = store.connection();
            c.setAutoCommit(false);
            try {
                if (select(c, "WHERE model = ? AND version = " + version, model).isEmpty()) {
                    throw new WatershedException(ErrorCode.UNKNOWN_MODEL, "Cannot promote ml:" + model + " version " + version
                            + ": there is no such version; GET /v1/ml/" + model + "/versions lists them");
                }
                String now = clock.instant().toString();
                try (PreparedStatement archive = c.prepareStatement("UPDATE ml_versions SET stage = ?, stage_changed_at = ? "
                        + "WHERE model = ? AND stage = ? AND version <> ?")) {
                    archive.setString(1, ModelVersion.ARCHIVED);
                    archive.setString(2, now);
                    archive.setString(3, model);
                    archive.setString(4, ModelVersion.PRODUCTION);
                    archive.setInt(5, version);
                    archive.executeUpdate();
                }
                try (PreparedStatement promote = c.prepareStatement("UPDATE ml_versions SET stage = ?, stage_changed_at = ? "
                        + "WHERE model = ? AND version = ? AND stage <> ?")) {
                    promote.setString(1, ModelVersion.PRODUCTION);
                    promote.setString(2, now);
                    promote.setString(3, model);
                    promote.setInt(4, version);
                    promote.setString(5, ModelVersion.PRODUCTION);
                    promote.executeUpdate();
                }
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw store.failure("promote ml:" + model + " version " + version, e);
        }
        return version(model, version).orElseThrow();
    }

    private List<ModelVersion> select(String where, String model) {
        try {
            return select(store.connection(), where, model);
        } catch (SQLException e) {
            throw store.failure("read the versions of ml:" + model, e);
        }
    }

    private static List<ModelVersion> select(Connection c, String where, String model) throws SQLException {
        List<ModelVersion> versions = new ArrayList<>();
        try (PreparedStatement q = c.prepareStatement("SELECT " + COLUMNS + " FROM ml_versions " + where)) {
            q.setString(1, model);
            try (ResultSet rs = q.executeQuery()) {
                while (rs.next()) {
                    versions.add(new ModelVersion(rs.getString(1), rs.getInt(2), rs.getString(3), Instant.parse(rs.getString(4)),
                            Instant.parse(rs.getString(5)), rs.getString(6), rs.getString(7),
                            read(rs.getString(8), new TypeReference<LinkedHashMap<String, String>>() {}),
                            read(rs.getString(9), new TypeReference<LinkedHashMap<String, Double>>() {}), rs.getLong(10), rs.getLong(11),
                            read(rs.getString(12), new TypeReference<List<Feature>>() {}), rs.getString(13),
                            read(rs.getString(14), new TypeReference<LinkedHashMap<String, Long>>() {}), rs.getString(15),
                            rs.getString(16), rs.getLong(17), rs.getString(18)));
                }
            }
        }
        return versions;
    }

    private static String json(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static <T> T read(String text, TypeReference<T> type) {
        try {
            return JSON.readValue(text, type);
        } catch (JsonProcessingException e) {
            throw new WatershedException(ErrorCode.INTERNAL, "Cannot read a version of the ml registry: " + e.getOriginalMessage(), e);
        }
    }

    @Override
    public synchronized void close() {
        store.close();
    }
}
