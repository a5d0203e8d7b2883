package io.watershed.server;

import io.javalin.Javalin;
import io.watershed.access.Principal;
import io.watershed.lake.LakeUpkeep;
import io.watershed.schedule.ModelScheduler;
import io.watershed.spi.StreamProcessor;
import io.watershed.spi.StreamProcessor.PipelineStatus;
import io.watershed.spi.StreamSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * {@code GET /v1/alerts}, what needs someone's attention now, each with what to do about it: pipelines failed,
 * restarting, backpressured or far behind; lake writers stalled; recent dead letters; records past the topic's
 * retention but not yet in the lake; models whose last build failed. Streams of the platform's own show to admins only.
 */
final class AlertsApi implements Routes {
    /** A lake writer with records waiting and no commit for this long is reported. */
    static final Duration STALLED_LAKE = Duration.ofMinutes(2);
    /** Dead letters committed this recently are reported. */
    static final Duration RECENT_DEAD_LETTERS = Duration.ofMinutes(10);

    private final StreamProcessor pipelines;
    private final StreamCatalog streams;
    private final LakeBacklog backlog;
    private final LakeUpkeep upkeep;
    private final Optional<ModelScheduler> scheduler;
    private final Supplier<Duration> uptime;

    AlertsApi(StreamProcessor pipelines, StreamCatalog streams, LakeBacklog backlog, LakeUpkeep upkeep,
            Optional<ModelScheduler> scheduler, Supplier<Duration> uptime) {
        this.pipelines = pipelines;
        this.streams = streams;
        this.backlog = backlog;
        this.upkeep = upkeep;
        this.scheduler = scheduler;
        this.uptime = uptime;
    }

    @Override
    public void register(Javalin app) {
        app.get("/v1/alerts", ctx -> ctx.json(Map.of("alerts", alerts(Authorization.principal(ctx)))));
    }

    private List<Map<String, Object>> alerts(Principal principal) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (PipelineStatus p : pipelines.pipelines()) {
            if (p.state().equals("FAILED") || p.state().equals("RESTARTING")) {
                out.add(alert("critical", "pipeline", "pipeline:" + p.name(), "Pipeline '" + p.name() + "' is " + p.state()
                        + p.error().map(e -> ": " + e).orElse("") + "; see `watershed pipelines` and restart it when fixed"));
            } else if (p.backpressureLevel().orElse("").equals("high")) {
                out.add(alert("warning", "pipeline", "pipeline:" + p.name(), "Pipeline '" + p.name() + "' is backpressured: a task of its "
                        + "job waits for room in its output " + Math.round(p.backpressure().orElseThrow() * 100) + "% of the time, so "
                        + p.lag() + " records wait in its input streams. What follows that task is too slow: look at what it writes ("
                        + String.join(", ", p.outputs()) + ") and at costly steps of its query"));
            } else if (p.lag() > 100_000) {
                out.add(alert("warning", "pipeline", "pipeline:" + p.name(), "Pipeline '" + p.name() + "' is " + p.lag()
                        + " records behind its input streams"));
            }
        }
        Map<String, LakeUpkeep.TableStats> tables = new LinkedHashMap<>();
        upkeep.stats(streams.rawTables()).forEach(t -> tables.put(t.table(), t));
        Instant now = Instant.now();
        for (StreamSpec s : streams.streams()) {
            if (s.name().startsWith(AuditLog.RESERVED_PREFIX) && !principal.admin()) {
                continue;
            }
            long behind = backlog.of(s.name());
            Optional<Instant> lastCommit = Optional.ofNullable(tables.get(s.rawTable())).flatMap(LakeUpkeep.TableStats::lastCommit);
            if (behind > 0 && lastCommit.map(c -> c.isBefore(now.minus(STALLED_LAKE))).orElse(uptime.get().compareTo(STALLED_LAKE) > 0)) {
                out.add(alert("critical", "lake", "stream:" + s.name(), "The lake writer of '" + s.name() + "' has " + behind
                        + " records waiting and has not committed for " + lastCommit.map(c -> Duration.between(c, now).toSeconds() + " s")
                                .orElse("ever") + "; see the server log"));
            }
            LakeUpkeep.TableStats dlq = tables.get(s.rawTable() + "__dlq");
            if (dlq != null && dlq.rows() > 0 && dlq.lastCommit().map(c -> c.isAfter(now.minus(RECENT_DEAD_LETTERS))).orElse(false)) {
                out.add(alert("warning", "dead_letters", "table:" + s.rawTable() + "__dlq", dlq.rows() + " dead letters in "
                        + s.rawTable() + "__dlq, the newest " + Duration.between(dlq.lastCommit().get(), now).toSeconds()
                        + " s ago; SELECT reason, raw FROM " + s.rawTable() + "__dlq shows why"));
            }
            long overdue = upkeep.retentionOverdue(s.name());
            if (overdue > 0) {
                out.add(alert("warning", "retention", "stream:" + s.name(), overdue + " records of '" + s.name()
                        + "' are past the topic's retention but not yet in the lake; the bus keeps them until the lake has them"));
            }
        }
        scheduler.ifPresent(models -> models.runs(Optional.empty(), 50).stream()
                .flatMap(r -> r.steps().stream().map(step -> Map.entry(r, step)))
                .collect(java.util.stream.Collectors.toMap(e -> e.getValue().model(), e -> e, (newer, older) -> newer, LinkedHashMap::new))
                .forEach((model, e) -> {
                    if (e.getValue().state().equals("failed")) {
                        out.add(alert("critical", "model", "model:" + model, "Model '" + model + "' failed in run " + e.getKey().id()
                                + e.getValue().error().map(err -> ": " + err).orElse("") + "; retry with `watershed runs retry "
                                + e.getKey().id() + "`"));
                    }
                }));
        return out;
    }

    private static Map<String, Object> alert(String severity, String kind, String object, String message) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("severity", severity);
        m.put("kind", kind);
        m.put("object", object);
        m.put("message", message);
        return m;
    }
}
