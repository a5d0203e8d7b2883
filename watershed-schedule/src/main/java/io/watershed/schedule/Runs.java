package io.watershed.schedule;

import java.time.Instant;
import java.time.LocalDateTime;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/** What the scheduler reports: runs, their steps (one build of one model for one time range), and check results. */
public final class Runs {
    private Runs() {}

    /** Run states, as Airflow names them. */
    public static final String QUEUED = "queued";
    public static final String RUNNING = "running";
    public static final String SUCCESS = "success";
    public static final String FAILED = "failed";
    /** A step that waits to be tried again after a failed attempt. */
    public static final String UP_FOR_RETRY = "up_for_retry";
    /** A step not run because a model it reads failed, or failed its checks. */
    public static final String UPSTREAM_FAILED = "upstream_failed";

    /** Whether a step in this state is done: succeeded, failed or skipped. */
    static boolean terminal(String state) {
        return state.equals(SUCCESS) || state.equals(FAILED) || state.equals(UPSTREAM_FAILED);
    }

    /**
     * @param trigger manual, schedule, backfill
     * @param selection what was asked for (models, {@code model+}, a schedule's name)
     * @param logicalTime the time the run stands for (a schedule's fire time, or when it was asked for)
     * @param error why the run failed, in one line
     */
    public record Run(long id, String trigger, List<String> selection, Instant logicalTime, String state, Instant createdAt,
            Optional<Instant> startedAt, Optional<Instant> endedAt, Optional<String> error, List<Step> steps) {
        public Run {
            selection = List.copyOf(selection);
            steps = List.copyOf(steps);
        }
    }

    /** One line of a run's log: a change of the run's or one step's state. */
    public record LogLine(Instant at, String level, Optional<String> model, String message) {}

    /**
     * One build of one model for the time range {@code [start, end)}.
     *
     * @param attempts builds tried so far in this run
     * @param rows rows the successful build wrote
     * @param nextAttemptAt when a step up for retry is tried again
     */
    public record Step(String model, LocalDateTime start, LocalDateTime end, String state, int attempts, Optional<Instant> startedAt,
            Optional<Instant> endedAt, OptionalLong rows, Optional<String> error, List<CheckResult> checks,
            Optional<Instant> nextAttemptAt) {
        public Step {
            checks = List.copyOf(checks);
        }
    }

    /**
     * The outcome of one check.
     *
     * @param status pass, fail, warn (failed, but warn-only) or error (could not run: a missing table or column)
     * @param failing offending rows (for row count and freshness: 1 when out of bounds)
     * @param sample up to five offending rows, with their columns
     * @param warnOnly a failure is reported only, and does not fail the run
     */
    public record CheckResult(String table, String name, String kind, String status, long failing, List<String> columns,
            List<List<Object>> sample, String message, String location, boolean warnOnly) {
        public CheckResult {
            columns = List.copyOf(columns);
            sample = List.copyOf(sample);
        }

        /** Whether it fails the build it followed (and so stops what reads the table). */
        public boolean blocks() {
            return !warnOnly && (status.equals("fail") || status.equals("error"));
        }
    }
}
