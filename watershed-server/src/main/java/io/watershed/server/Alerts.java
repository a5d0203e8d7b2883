package io.watershed.server;

import io.watershed.lake.LakeUpkeep;
import io.watershed.schedule.ModelScheduler;
import io.watershed.schedule.Runs;
import io.watershed.spi.StreamProcessor;
import io.watershed.spi.StreamProcessor.PipelineStatus;
import io.watershed.spi.StreamSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * What needs someone's attention now, each alert with what to do about it: pipelines failed, restarting, backpressured
 * or far behind; lake writers stalled; recent dead letters; records past the topic's retention but not yet in the lake;
 * models whose last build failed (a failed blocking check fails the build, and the model's alert names the checks);
 * warn-only checks that failed after a model's last build. {@code GET /v1/alerts} shows them ({@link AlertsApi}), and
 * {@link AlertNotifier} sends them to webhooks and Alertmanager while they last.
 */
final class Alerts {
    /** A lake writer with records waiting and no commit for this long is reported. */
    static final Duration STALLED_LAKE = Duration.ofMinutes(2);

    /**
     * One alert. Its identity is {@code kind} and {@code object}: an alert with the same identity at the next evaluation
     * is the same alert going on (its message may have changed, a count in it for instance).
     *
     * @param severity critical or warning
     * @param kind pipeline, lake, dead_letters, retention, model or check
     * @param object what it is about: {@code pipeline:<name>}, {@code stream:<name>}, {@code table:<raw table>__dlq},
     *     {@code model:<name>} or {@code check:<table>/<check>}
     */
    record Alert(String severity, String kind, String object, String message) {
        String identity() {
            return kind + " " + object;
        }

        Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("severity", severity);
            m.put("kind", kind);
            m.put("object", object);
            m.put("message", message);
            return m;
        }
    }

    private final StreamProcessor pipelines;
    private final StreamCatalog streams;
    private final LakeBacklog backlog;
    private final LakeUpkeep upkeep;
    private final Optional<ModelScheduler> scheduler;
    private final Supplier<Duration> uptime;
    private final Duration deadLettersWindow;
    private final Clock clock;

    Alerts(StreamProcessor pipelines, StreamCatalog streams, LakeBacklog backlog, LakeUpkeep upkeep,
            Optional<ModelScheduler> scheduler, Supplier<Duration> uptime, Duration deadLettersWindow, Clock clock) {
        this.pipelines = pipelines;
        this.streams = streams;
        this.backlog = backlog;
        this.upkeep = upkeep;
        this.scheduler = scheduler;
        this.uptime = uptime;
        this.deadLettersWindow = deadLettersWindow;
        this.clock = clock;
    }

    /** The alerts now; those of the platform's own streams only when {@code admin}. */
    List<Alert> current(boolean admin) {
        List<Alert> out = new ArrayList<>();
        for (PipelineStatus p : pipelines.pipelines()) {
            if (p.state().equals("FAILED") || p.state().equals("RESTARTING")) {
                out.add(new Alert("critical", "pipeline", "pipeline:" + p.name(), "Pipeline '" + p.name() + "' is " + p.state()
                        + p.error().map(e -> ": " + e).orElse("") + "; see `watershed pipelines` and restart it when fixed"));
            } else if (p.backpressureLevel().orElse("").equals("high")) {
                out.add(new Alert("warning", "pipeline", "pipeline:" + p.name(), "Pipeline '" + p.name() + "' is backpressured: a "
                        + "task of its job waits for room in its output " + Math.round(p.backpressure().orElseThrow() * 100)
                        + "% of the time, so " + p.lag() + " records wait in its input streams. What follows that task is too slow: "
                        + "look at what it writes (" + String.join(", ", p.outputs()) + ") and at costly steps of its query"));
            } else if (p.lag() > 100_000) {
                out.add(new Alert("warning", "pipeline", "pipeline:" + p.name(), "Pipeline '" + p.name() + "' is " + p.lag()
                        + " records behind its input streams"));
            }
        }
        Map<String, LakeUpkeep.TableStats> tables = new LinkedHashMap<>();
        upkeep.stats(streams.rawTables()).forEach(t -> tables.put(t.table(), t));
        Instant now = clock.instant();
        for (StreamSpec s : streams.streams()) {
            if (s.name().startsWith(AuditLog.RESERVED_PREFIX) && !admin) {
                continue;
            }
            long behind = backlog.of(s.name());
            // the writer's own commits: upkeep's (compaction, retention) say nothing of whether it keeps up
            Optional<Instant> lastCommit = Optional.ofNullable(tables.get(s.rawTable())).flatMap(LakeUpkeep.TableStats::lastAppend);
            if (behind > 0 && lastCommit.map(c -> c.isBefore(now.minus(STALLED_LAKE))).orElse(uptime.get().compareTo(STALLED_LAKE) > 0)) {
                out.add(new Alert("critical", "lake", "stream:" + s.name(), "The lake writer of '" + s.name() + "' has " + behind
                        + " records waiting and has not committed for " + lastCommit.map(c -> Duration.between(c, now).toSeconds()
                                + " s").orElse("ever") + "; see the server log"));
            }
            LakeUpkeep.TableStats dlq = tables.get(s.rawTable() + "__dlq");
            // dead letters appended lately; compacting or expiring old ones is no news
            if (dlq != null && dlq.rows() > 0 && dlq.lastAppend().map(c -> c.isAfter(now.minus(deadLettersWindow))).orElse(false)) {
                out.add(new Alert("warning", "dead_letters", "table:" + s.rawTable() + "__dlq", dlq.rows() + " dead letters in "
                        + s.rawTable() + "__dlq, the newest " + Duration.between(dlq.lastAppend().get(), now).toSeconds()
                        + " s ago; SELECT reason, raw FROM " + s.rawTable() + "__dlq shows why"));
            }
            long overdue = upkeep.retentionOverdue(s.name());
            if (overdue > 0) {
                out.add(new Alert("warning", "retention", "stream:" + s.name(), overdue + " records of '" + s.name()
                        + "' are past the topic's retention but not yet in the lake; the bus keeps them until the lake has them"));
            }
        }
        scheduler.ifPresent(models -> {
            for (io.watershed.spi.ModelSpec spec : models.models()) {
                // each model's own newest runs: a model failing daily stays failed among others' frequent runs
                List<Runs.Run> runs = models.runs(Optional.of(spec.name()), 20);
                Optional.ofNullable(latestSteps(runs, false).get(spec.name()))
                        .flatMap(e -> modelAlert(spec.name(), e.getKey(), e.getValue())).ifPresent(out::add);
                // the checks as last run: a later step that stopped before them (upstream failed) leaves the table as it was
                Optional.ofNullable(latestSteps(runs, true).get(spec.name()))
                        .ifPresent(e -> out.addAll(checkAlerts(e.getKey(), e.getValue())));
            }
        });
        return out;
    }

    /** Per model, its step in the newest run that has one (that ran checks, with {@code checked}), with the run. */
    private static Map<String, Map.Entry<Runs.Run, Runs.Step>> latestSteps(List<Runs.Run> newestFirst, boolean checked) {
        return newestFirst.stream().flatMap(r -> r.steps().stream().filter(s -> !checked || !s.checks().isEmpty())
                        .map(step -> Map.entry(r, step)))
                .collect(Collectors.toMap(e -> e.getValue().model(), e -> e, (newer, older) -> newer, LinkedHashMap::new));
    }

    /** A failed last build; a failed blocking check fails the build, and the alert names the checks (no check alert besides). */
    private static Optional<Alert> modelAlert(String model, Runs.Run run, Runs.Step step) {
        if (!step.state().equals(Runs.FAILED)) {
            return Optional.empty();
        }
        List<Runs.CheckResult> blocking = step.checks().stream().filter(Runs.CheckResult::blocks).toList();
        String why = blocking.isEmpty() ? step.error().map(err -> ": " + err).orElse("")
                : ": check(s) failed on " + blocking.get(0).table() + ": " + blocking.stream()
                        .map(c -> c.name() + " (" + c.message() + ")").collect(Collectors.joining(", "));
        return Optional.of(new Alert("critical", "model", "model:" + model, "Model '" + model + "' failed in run " + run.id() + why
                + "; retry with `watershed runs retry " + run.id() + "`"));
    }

    /** The warn-only checks that failed (or could not run) the last time the model's checks ran. */
    private static List<Alert> checkAlerts(Runs.Run run, Runs.Step step) {
        List<Alert> out = new ArrayList<>();
        for (Runs.CheckResult c : step.checks()) {
            if (c.warnOnly() && !c.status().equals("pass")) {
                out.add(new Alert("warning", "check", "check:" + c.table() + "/" + c.name(), "Check '" + c.name() + "' on "
                        + c.table() + " " + (c.status().equals("error") ? "could not run" : "failed") + " in run " + run.id()
                        + ": " + c.message() + " (" + c.location() + "); it warns only: the model was published"));
            }
        }
        return out;
    }
}
