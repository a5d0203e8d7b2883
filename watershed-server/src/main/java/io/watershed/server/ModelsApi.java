package io.watershed.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.watershed.access.Principal;
import io.watershed.access.Privilege;
import io.watershed.project.Boards;
import io.watershed.schedule.ModelScheduler;
import io.watershed.schedule.Runs.CheckResult;
import io.watershed.schedule.Runs.Run;
import io.watershed.schedule.Runs.Step;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.ModelSpec;
import io.watershed.spi.Project;
import io.watershed.spi.StreamProcessor;
import io.watershed.spi.WatershedException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/** The batch layer's HTTP API: models, runs, backfills, retries, checks and the lineage graph. */
final class ModelsApi implements Routes {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Optional<ModelScheduler> scheduler;
    private final Project project;
    private final StreamCatalog streams;
    private final StreamProcessor pipelines;
    private final Supplier<Boards> boards;

    /**
     * @param scheduler the scheduler of the project's models and checks, unless it has none
     * @param boards the project's dashboards as they are on disk now (for the lineage)
     */
    ModelsApi(Optional<ModelScheduler> scheduler, Project project, StreamCatalog streams, StreamProcessor pipelines,
            Supplier<Boards> boards) {
        this.scheduler = scheduler;
        this.project = project;
        this.streams = streams;
        this.pipelines = pipelines;
        this.boards = boards;
    }

    @Override
    public void register(Javalin app) {
        app.get("/v1/models", this::models);
        app.get("/v1/runs", this::runs);
        app.post("/v1/runs", this::run);
        app.get("/v1/runs/{id}", ctx -> ctx.json(runJson(scheduler().find(id(ctx)).orElseThrow(() -> new WatershedException(
                ErrorCode.UNKNOWN_RUN, "Cannot find run " + ctx.pathParam("id") + "; `watershed runs` lists them")))));
        app.get("/v1/runs/{id}/log", ctx -> {
            long id = id(ctx);
            scheduler().find(id).orElseThrow(() -> new WatershedException(ErrorCode.UNKNOWN_RUN, "Cannot find run " + id
                    + "; GET /v1/runs lists them"));
            ctx.json(Map.of("lines", scheduler().log(id).stream().map(l -> {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("at", l.at().toString());
                m.put("level", l.level());
                m.put("model", l.model().orElse(null));
                m.put("message", l.message());
                return m;
            }).toList()));
        });
        app.post("/v1/runs/{id}/retry", ctx -> {
            Run run = scheduler().find(id(ctx)).orElseThrow(() -> new WatershedException(ErrorCode.UNKNOWN_RUN,
                    "Cannot retry run " + ctx.pathParam("id") + ": there is no such run; `watershed runs` lists them"));
            run.steps().forEach(step -> Authorization.principal(ctx).require(Privilege.RUN, "model:" + step.model()));
            AuditLog.note(ctx, "run.retry", "run:" + run.id(), null);
            ctx.status(202).json(runJson(scheduler().retry(run.id())));
        });
        app.post("/v1/backfills", this::backfill);
        app.post("/v1/checks/run", this::test);
        app.get("/v1/lineage", this::lineage);
    }

    private ModelScheduler scheduler() {
        return scheduler.orElseThrow(() -> new WatershedException(ErrorCode.INVALID_INPUT, "The project has no models "
                + "or checks: add models/<name>.sql (a SELECT) or checks/<name>.yaml, and start the platform again"));
    }

    private static long id(Context ctx) {
        try {
            return Long.parseLong(ctx.pathParam("id"));
        } catch (NumberFormatException e) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot find run '" + ctx.pathParam("id") + "': run ids are numbers");
        }
    }

    private void models(Context ctx) {
        List<Map<String, Object>> out = new ArrayList<>();
        ModelScheduler scheduler = this.scheduler.orElse(null);
        Map<String, Instant> nextFires = scheduler == null ? Map.of() : scheduler.nextFires();
        List<ModelSpec> models = scheduler == null ? List.of() : scheduler.models();
        for (ModelSpec model : models) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", model.name());
            m.put("table", model.table());
            m.put("materialized", model.config().materialized().name().toLowerCase());
            m.put("partition_by", model.config().partitionBy().orElse(null));
            m.put("grain", model.config().grain().name().toLowerCase());
            m.put("schedule", model.config().schedule().orElse(null));
            m.put("next_run_at", model.config().schedule().map(nextFires::get).map(Instant::toString).orElse(null));
            m.put("upstream", model.upstreamModels());
            m.put("reads", model.references().stream().map(ModelSpec.TableRef::table).distinct().toList());
            Optional<Step> last = scheduler.runs(Optional.of(model.name()), 1).stream().flatMap(r -> r.steps().stream())
                    .filter(s -> s.model().equals(model.name())).reduce((a, b) -> b);
            m.put("last_state", last.map(Step::state).orElse(null));
            m.put("last_ended_at", last.flatMap(Step::endedAt).map(Instant::toString).orElse(null));
            m.put("description", model.config().description().orElse(null));
            out.add(m);
        }
        ctx.json(Map.of("models", out));
    }

    private void runs(Context ctx) {
        int limit;
        try {
            limit = Optional.ofNullable(ctx.queryParam("limit")).map(Integer::parseInt).orElse(25);
        } catch (NumberFormatException e) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot list runs: limit must be a number, got '"
                    + ctx.queryParam("limit") + "'");
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (Run run : scheduler().runs(Optional.ofNullable(ctx.queryParam("model")).filter(m -> !m.isBlank()),
                Math.max(1, Math.min(limit, 1000)))) {
            out.add(runJson(run));
        }
        ctx.json(Map.of("runs", out));
    }

    private void run(Context ctx) throws Exception {
        JsonNode body = body(ctx);
        List<String> selectors = new ArrayList<>();
        body.path("models").forEach(n -> selectors.add(n.asText()));
        Principal principal = Authorization.principal(ctx);
        java.util.Set<String> selected = scheduler().select(selectors);
        selected.forEach(model -> principal.require(Privilege.RUN, "model:" + model));
        AuditLog.note(ctx, "model.run", "model:" + String.join(",", new java.util.TreeSet<>(selected)), String.join(" ", selectors));
        ctx.status(202).json(runJson(scheduler().run(selectors)));
    }

    private void backfill(Context ctx) throws Exception {
        JsonNode body = body(ctx);
        String model = body.path("model").asText("");
        if (model.isEmpty()) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot backfill: the body has no \"model\"; send "
                    + "{\"model\": \"daily_top\", \"from\": \"2026-11-01\", \"to\": \"2026-11-07\"}");
        }
        boolean downstream = body.path("downstream").asBoolean(false);
        Principal principal = Authorization.principal(ctx);
        principal.require(Privilege.RUN, "model:" + model);
        if (downstream) {
            scheduler().downstreamOf(model).forEach(m -> principal.require(Privilege.RUN, "model:" + m));
        }
        AuditLog.note(ctx, "model.backfill", "model:" + model, body.path("from").asText("") + ".." + body.path("to").asText("")
                + (downstream ? " downstream" : ""));
        List<Map<String, Object>> runs = new ArrayList<>();
        for (Run run : scheduler().backfill(model, date(body, "from"), date(body, "to"), body.path("downstream").asBoolean(false))) {
            runs.add(runJson(run));
        }
        ctx.status(202).json(Map.of("runs", runs));
    }

    private static LocalDate date(JsonNode body, String field) {
        String text = body.path(field).asText("");
        try {
            return LocalDate.parse(text);
        } catch (DateTimeParseException e) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot backfill: \"" + field + "\" must be a date like 2026-11-01, "
                    + "got '" + text + "'");
        }
    }

    private void test(Context ctx) throws Exception {
        JsonNode body = ctx.body().isBlank() ? JSON.createObjectNode() : body(ctx);
        Optional<String> table = Optional.ofNullable(body.path("table").asText(null)).filter(t -> !t.isBlank());
        List<Map<String, Object>> out = new ArrayList<>();
        boolean failed = false;
        Principal principal = Authorization.principal(ctx);
        scheduler().checks().stream().filter(c -> table.isEmpty() || c.table().equals(table.get()))
                .forEach(c -> principal.require(Privilege.READ, "table:" + c.table()));
        for (CheckResult r : scheduler().test(table)) {
            out.add(checkJson(r));
            failed |= r.blocks();
        }
        ctx.json(Map.of("checks", out, "passed", !failed));
    }

    private void lineage(Context ctx) {
        Lineage graph = Lineage.of(project, streams.streams(), pipelines.pipelines()).withDashboards(boards.get().dashboards());
        String of = ctx.queryParam("of");
        if (of != null && !of.isBlank()) {
            String id = graph.find(of).orElseThrow(() -> new WatershedException(ErrorCode.INVALID_INPUT, "Cannot find '" + of
                    + "' in the lineage: name a table (raw.clicks), a model, a pipeline, a stream or a live view"));
            graph = graph.around(id);
            ctx.json(Map.of("focus", id, "nodes", graph.nodes(), "edges", graph.edges()));
            return;
        }
        ctx.json(Map.of("nodes", graph.nodes(), "edges", graph.edges()));
    }

    private static JsonNode body(Context ctx) {
        try {
            return JSON.readTree(ctx.bodyInputStream());
        } catch (Exception e) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot read the request: send a JSON object", e);
        }
    }

    static Map<String, Object> runJson(Run run) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", run.id());
        m.put("trigger", run.trigger());
        m.put("selection", run.selection());
        m.put("logical_time", run.logicalTime().toString());
        m.put("state", run.state());
        m.put("created_at", run.createdAt().toString());
        m.put("started_at", run.startedAt().map(Instant::toString).orElse(null));
        m.put("ended_at", run.endedAt().map(Instant::toString).orElse(null));
        m.put("duration_ms", run.startedAt().map(s -> Duration.between(s, run.endedAt().orElse(Instant.now())).toMillis()).orElse(null));
        m.put("error", run.error().orElse(null));
        List<Map<String, Object>> steps = new ArrayList<>();
        for (Step step : run.steps()) {
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("model", step.model());
            s.put("start", step.start().toString());
            s.put("end", step.end().toString());
            s.put("state", step.state());
            s.put("attempts", step.attempts());
            s.put("started_at", step.startedAt().map(Instant::toString).orElse(null));
            s.put("ended_at", step.endedAt().map(Instant::toString).orElse(null));
            s.put("duration_ms", step.startedAt().map(t -> Duration.between(t, step.endedAt().orElse(Instant.now())).toMillis())
                    .orElse(null));
            s.put("rows", step.rows().isPresent() ? step.rows().getAsLong() : null);
            s.put("error", step.error().orElse(null));
            s.put("next_attempt_at", step.nextAttemptAt().map(Instant::toString).orElse(null));
            s.put("checks", step.checks().stream().map(ModelsApi::checkJson).toList());
            steps.add(s);
        }
        m.put("steps", steps);
        return m;
    }

    static Map<String, Object> checkJson(CheckResult r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("table", r.table());
        m.put("name", r.name());
        m.put("kind", r.kind());
        m.put("status", r.status());
        m.put("failing", r.failing());
        m.put("message", r.message());
        m.put("columns", r.columns());
        m.put("sample", r.sample());
        m.put("location", r.location());
        m.put("warn_only", r.warnOnly());
        return m;
    }
}
