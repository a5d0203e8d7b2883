package io.watershed.schedule;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.watershed.schedule.Runs.CheckResult;
import io.watershed.schedule.Runs.Run;
import io.watershed.schedule.Runs.Step;
import io.watershed.spi.StoreFailure;
import io.watershed.spi.WatershedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Run history in SQLite ({@code schedule.db} in the data directory): runs, their steps with attempts,
 * rows, errors and check results, and the last time each schedule fired. It outlives restarts; every
 * change is committed before the scheduler acts on it.
 */
final class RunStore implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path file;
    private final Connection db;

    RunStore(Path file) {
        this.file = file;
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            db = DriverManager.getConnection("jdbc:sqlite:" + file.toAbsolutePath() + "?journal_mode=WAL&busy_timeout=30000&synchronous=FULL");
            try (Statement s = db.createStatement()) {
                s.executeUpdate("CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY AUTOINCREMENT, trigger TEXT NOT NULL, "
                        + "selection TEXT NOT NULL, logical_time TEXT NOT NULL, state TEXT NOT NULL, created_at TEXT NOT NULL, "
                        + "started_at TEXT, ended_at TEXT, error TEXT)");
                s.executeUpdate("CREATE TABLE IF NOT EXISTS steps (run_id INTEGER NOT NULL REFERENCES runs(id), position INTEGER NOT NULL, "
                        + "model TEXT NOT NULL, range_start TEXT NOT NULL, range_end TEXT NOT NULL, state TEXT NOT NULL, "
                        + "attempts INTEGER NOT NULL, started_at TEXT, ended_at TEXT, rows INTEGER, error TEXT, checks TEXT, "
                        + "next_attempt_at TEXT, PRIMARY KEY (run_id, model, range_start))");
                s.executeUpdate("CREATE INDEX IF NOT EXISTS steps_model ON steps (model, run_id)");
                s.executeUpdate("CREATE TABLE IF NOT EXISTS run_log (run_id INTEGER NOT NULL, at TEXT NOT NULL, level TEXT NOT NULL, "
                        + "model TEXT, message TEXT NOT NULL)");
                s.executeUpdate("CREATE INDEX IF NOT EXISTS run_log_run ON run_log (run_id)");
                s.executeUpdate("CREATE TABLE IF NOT EXISTS schedule_fires (schedule TEXT PRIMARY KEY, last_fire TEXT NOT NULL)");
            }
        } catch (Exception e) {
            throw new IllegalStateException("Cannot open the run history " + file + ": " + e.getMessage(), e);
        }
    }

    /** What a caller (the API, the scheduler's loop) gets when the run history cannot be read or written. */
    private WatershedException failure(String action, SQLException e) {
        return StoreFailure.of(action, "the run history " + file, e);
    }

    /** Stores a new run and its steps; returns it with its id. */
    synchronized Run insert(Run run) {
        try {
            db.setAutoCommit(false);
            long id;
            try (PreparedStatement p = db.prepareStatement("INSERT INTO runs (trigger, selection, logical_time, state, created_at) "
                    + "VALUES (?, ?, ?, ?, ?)", Statement.RETURN_GENERATED_KEYS)) {
                p.setString(1, run.trigger());
                p.setString(2, String.join(" ", run.selection()));
                p.setString(3, run.logicalTime().toString());
                p.setString(4, run.state());
                p.setString(5, run.createdAt().toString());
                p.executeUpdate();
                try (ResultSet keys = p.getGeneratedKeys()) {
                    keys.next();
                    id = keys.getLong(1);
                }
            }
            int position = 0;
            for (Step step : run.steps()) {
                try (PreparedStatement p = db.prepareStatement("INSERT INTO steps (run_id, position, model, range_start, range_end, "
                        + "state, attempts) VALUES (?, ?, ?, ?, ?, ?, 0)")) {
                    p.setLong(1, id);
                    p.setInt(2, position++);
                    p.setString(3, step.model());
                    p.setString(4, step.start().toString());
                    p.setString(5, step.end().toString());
                    p.setString(6, step.state());
                    p.executeUpdate();
                }
            }
            db.commit();
            log(id, "INFO", null, "Run " + id + " created (" + run.trigger() + ": " + String.join(" ", run.selection()) + "), "
                    + run.steps().size() + " step(s), logical time " + run.logicalTime());
            return new Run(id, run.trigger(), run.selection(), run.logicalTime(), run.state(), run.createdAt(), run.startedAt(),
                    run.endedAt(), run.error(), run.steps());
        } catch (SQLException e) {
            rollback();
            throw failure("store a run in the run history", e);
        } finally {
            autoCommit();
        }
    }

    synchronized void updateRun(long id, String state, Optional<Instant> startedAt, Optional<Instant> endedAt, Optional<String> error) {
        log(id, state.equals(Runs.FAILED) ? "ERROR" : "INFO", null, "Run " + id + " " + state + error.map(e -> ": " + e).orElse(""));
        execute("UPDATE runs SET state = ?, started_at = ?, ended_at = ?, error = ? WHERE id = ?", state,
                startedAt.map(Instant::toString).orElse(null), endedAt.map(Instant::toString).orElse(null), error.orElse(null), id);
    }

    synchronized void updateStep(long runId, Step step) {
        log(runId, step.state().equals(Runs.FAILED) ? "ERROR" : step.error().isPresent() ? "WARN" : "INFO", step.model(), describe(step));
        String checks;
        try {
            checks = step.checks().isEmpty() ? null : JSON.writeValueAsString(step.checks());
        } catch (Exception e) {
            throw new IllegalStateException("Cannot write check results: " + e.getMessage(), e);
        }
        execute("UPDATE steps SET state = ?, attempts = ?, started_at = ?, ended_at = ?, rows = ?, error = ?, checks = ?, "
                + "next_attempt_at = ? WHERE run_id = ? AND model = ? AND range_start = ?", step.state(), step.attempts(),
                step.startedAt().map(Instant::toString).orElse(null), step.endedAt().map(Instant::toString).orElse(null),
                step.rows().isPresent() ? step.rows().getAsLong() : null, step.error().orElse(null), checks,
                step.nextAttemptAt().map(Instant::toString).orElse(null), runId, step.model(), step.start().toString());
    }

    /** What happened in a run, oldest first: each change of the run's and its steps' state as it was stored. */
    synchronized List<Runs.LogLine> log(long runId) {
        List<Runs.LogLine> lines = new ArrayList<>();
        try (PreparedStatement p = db.prepareStatement("SELECT at, level, model, message FROM run_log WHERE run_id = ? ORDER BY rowid")) {
            p.setLong(1, runId);
            try (ResultSet r = p.executeQuery()) {
                while (r.next()) {
                    lines.add(new Runs.LogLine(Instant.parse(r.getString(1)), r.getString(2), Optional.ofNullable(r.getString(3)),
                            r.getString(4)));
                }
            }
        } catch (SQLException e) {
            throw failure("read the run log", e);
        }
        return lines;
    }

    private void log(long runId, String level, String model, String message) {
        execute("INSERT INTO run_log (run_id, at, level, model, message) VALUES (?, ?, ?, ?, ?)", runId, Instant.now().toString(), level,
                model, message);
    }

    private static String describe(Step step) {
        StringBuilder m = new StringBuilder("Model '").append(step.model()).append("' [").append(step.start()).append(", ")
                .append(step.end()).append(") ").append(step.state());
        if (step.attempts() > 1) {
            m.append(", attempt ").append(step.attempts());
        }
        if (step.startedAt().isPresent() && step.endedAt().isPresent()) {
            m.append(" in ").append(java.time.Duration.between(step.startedAt().get(), step.endedAt().get()).toMillis()).append(" ms");
        }
        if (step.rows().isPresent()) {
            m.append(", ").append(step.rows().getAsLong()).append(" rows");
        }
        step.error().ifPresent(e -> m.append(": ").append(e));
        step.nextAttemptAt().ifPresent(t -> m.append("; next attempt at ").append(t));
        for (Runs.CheckResult c : step.checks()) {
            m.append("\n  check ").append(c.table()).append(' ').append(c.name()).append(": ").append(c.status());
            if (c.failing() > 0) {
                m.append(" (").append(c.failing()).append(" failing)");
            }
        }
        return m.toString();
    }

    synchronized Optional<Run> run(long id) {
        List<Run> runs = query("SELECT * FROM runs WHERE id = ?", id);
        return runs.isEmpty() ? Optional.empty() : Optional.of(runs.get(0));
    }

    /** The newest runs first; only runs with a step of {@code model} when given. */
    synchronized List<Run> runs(Optional<String> model, int limit) {
        if (model.isPresent()) {
            return query("SELECT * FROM runs WHERE id IN (SELECT run_id FROM steps WHERE model = ?) ORDER BY id DESC LIMIT ?",
                    model.get(), limit);
        }
        return query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", limit);
    }

    /** Runs not finished when the platform last stopped. */
    synchronized List<Run> unfinished() {
        return query("SELECT * FROM runs WHERE state IN ('queued', 'running') ORDER BY id");
    }

    synchronized Optional<Instant> lastFire(String schedule) {
        try (PreparedStatement p = db.prepareStatement("SELECT last_fire FROM schedule_fires WHERE schedule = ?")) {
            p.setString(1, schedule);
            try (ResultSet r = p.executeQuery()) {
                return r.next() ? Optional.of(Instant.parse(r.getString(1))) : Optional.empty();
            }
        } catch (SQLException e) {
            throw failure("read the run history", e);
        }
    }

    synchronized void setLastFire(String schedule, Instant fire) {
        execute("INSERT INTO schedule_fires (schedule, last_fire) VALUES (?, ?) ON CONFLICT (schedule) DO UPDATE SET "
                + "last_fire = excluded.last_fire", schedule, fire.toString());
    }

    private List<Run> query(String sql, Object... args) {
        try (PreparedStatement p = db.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                p.setObject(i + 1, args[i]);
            }
            Map<Long, Run> runs = new LinkedHashMap<>();
            try (ResultSet r = p.executeQuery()) {
                while (r.next()) {
                    long id = r.getLong("id");
                    runs.put(id, new Run(id, r.getString("trigger"), Arrays.asList(r.getString("selection").split(" ")),
                            Instant.parse(r.getString("logical_time")), r.getString("state"), Instant.parse(r.getString("created_at")),
                            instant(r.getString("started_at")), instant(r.getString("ended_at")),
                            Optional.ofNullable(r.getString("error")), List.of()));
                }
            }
            List<Run> result = new ArrayList<>();
            for (Run run : runs.values()) {
                result.add(new Run(run.id(), run.trigger(), run.selection(), run.logicalTime(), run.state(), run.createdAt(),
                        run.startedAt(), run.endedAt(), run.error(), steps(run.id())));
            }
            return result;
        } catch (SQLException e) {
            throw failure("read the run history", e);
        }
    }

    private List<Step> steps(long runId) throws SQLException {
        List<Step> steps = new ArrayList<>();
        try (PreparedStatement p = db.prepareStatement("SELECT * FROM steps WHERE run_id = ? ORDER BY position")) {
            p.setLong(1, runId);
            try (ResultSet r = p.executeQuery()) {
                while (r.next()) {
                    long rows = r.getLong("rows");
                    OptionalLong rowCount = r.wasNull() ? OptionalLong.empty() : OptionalLong.of(rows);
                    String checks = r.getString("checks");
                    List<CheckResult> results;
                    try {
                        results = checks == null ? List.of() : JSON.readValue(checks, new TypeReference<List<CheckResult>>() {});
                    } catch (Exception e) {
                        throw new SQLException("unreadable check results of run " + runId + ": " + e.getMessage(), e);
                    }
                    steps.add(new Step(r.getString("model"), LocalDateTime.parse(r.getString("range_start")),
                            LocalDateTime.parse(r.getString("range_end")), r.getString("state"), r.getInt("attempts"),
                            instant(r.getString("started_at")), instant(r.getString("ended_at")), rowCount,
                            Optional.ofNullable(r.getString("error")), results, instant(r.getString("next_attempt_at"))));
                }
            }
        }
        return steps;
    }

    private static Optional<Instant> instant(String text) {
        return text == null ? Optional.empty() : Optional.of(Instant.parse(text));
    }

    private void execute(String sql, Object... args) {
        try (PreparedStatement p = db.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                p.setObject(i + 1, args[i]);
            }
            p.executeUpdate();
        } catch (SQLException e) {
            throw failure("write the run history", e);
        }
    }

    private void rollback() {
        try {
            db.rollback();
        } catch (SQLException ignored) {
            // the connection is broken; the next statement says so
        }
    }

    private void autoCommit() {
        try {
            db.setAutoCommit(true);
        } catch (SQLException ignored) {
            // as above
        }
    }

    @Override
    public synchronized void close() {
        try {
            db.close();
        } catch (SQLException ignored) {
            // closing
        }
    }
}
