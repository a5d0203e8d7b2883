package io.watershed.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.json.JavalinJackson;
import io.watershed.ingest.IngestResult;
import io.watershed.lake.LakeUpkeep;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.QueryEngine.QueryResult;
import io.watershed.spi.Settings;
import io.watershed.spi.StreamSpec;
import io.watershed.spi.WatershedException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP API. Every error has one JSON shape, {@code {"error": {"code", "message", "retriable", ...details}}},
 * with the status of its {@link ErrorCode} and, for retriable refusals, a {@code Retry-After} header.
 */
final class HttpApi implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HttpApi.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String AUDIT_ACTION = "watershed.audit.action";
    static final String AUDIT_OBJECT = "watershed.audit.object";
    static final String AUDIT_DETAIL = "watershed.audit.detail";
    static final String AUDIT_TABLES = "watershed.audit.tables";

    private final Javalin app;
    private final Platform platform;
    private final Settings settings;
    private final AuditLog audit;

    HttpApi(Platform platform, Settings settings) {
        this.platform = platform;
        this.settings = settings;
        this.app = Javalin.create(config -> {
            config.showJavalinBanner = false;
            config.jsonMapper(new JavalinJackson(JSON, false));
            config.http.maxRequestSize = settings.http().maxBody();
            config.useVirtualThreads = false;
            ConsoleApi.staticFiles(config);
            config.jetty.modifyHttpConfiguration(http -> {
                http.setRequestHeaderSize(settings.http().maxHeader());
                http.setSendServerVersion(false);
            });
            settings.http().tlsKeystore().ifPresent(keystore -> config.jetty.addConnector((server, http) ->
                    Tls.connector(server, http, java.nio.file.Path.of(keystore), settings.http().tlsKeystorePassword(),
                            settings.http().host(), settings.http().port())));
        });
        this.audit = platform.audit();
        new Authorization(platform.access()).register(app);
        app.after(this::audit);
        app.get("/v1/health", this::health);
        AccessApi.register(app, platform.access());
        app.get("/v1/streams", this::listStreams);
        app.get("/v1/pipelines", this::listPipelines);
        app.get("/v1/sources", ctx -> ctx.json(Map.of("sources", SourceStatusJson.render(platform.sources().statuses()),
                "kafka", Map.of("bootstrap_servers", platform.kafkaAddress(), "embedded", platform.embeddedBus(),
                        "authentication", platform.kafkaAuthenticated() ? "SASL/SCRAM-SHA-256 or -512: user = token id, password = token"
                                : platform.embeddedBus() ? "none (bus.plaintext)" : "as the cluster is configured"))));
        app.post("/v1/sources/{source}/run", ctx -> {
            AccessApi.audit(ctx, "source.run", "source:" + ctx.pathParam("source"), null);
            if (!platform.sources().runImport(ctx.pathParam("source"))) {
                throw new WatershedException(io.watershed.spi.ErrorCode.UNKNOWN_SOURCE, "Cannot find the jdbc source '"
                        + ctx.pathParam("source") + "'; GET /v1/sources lists them (named <stream>.jdbc)");
            }
            ctx.status(202).json(Map.of("source", ctx.pathParam("source"), "started", true));
        });
        app.post("/v1/pipelines/{pipeline}/stop", ctx -> {
            AccessApi.audit(ctx, "pipeline.stop", "pipeline:" + ctx.pathParam("pipeline"), null);
            ctx.json(pipelineJson(platform.pipelines().stop(ctx.pathParam("pipeline"))));
        });
        app.post("/v1/pipelines/{pipeline}/restart", ctx -> {
            boolean reset = "true".equals(ctx.queryParam("reset"));
            AccessApi.audit(ctx, "pipeline.restart", "pipeline:" + ctx.pathParam("pipeline"), reset ? "reset" : null);
            ctx.json(pipelineJson(platform.pipelines().restart(ctx.pathParam("pipeline"), reset)));
        });
        app.post("/v1/streams/{stream}/events", this::ingest);
        app.post("/v1/sql", this::sql);
        ModelsApi.register(app, platform);
        TablesApi.register(app, platform);
        ConsoleApi.register(app, platform);
        app.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(platform.meters().scrape()));
        app.exception(WatershedException.class, (e, ctx) -> error(ctx, e));
        app.exception(Exception.class, (e, ctx) -> {
            LOG.error("Unexpected failure on {} {}", ctx.method(), ctx.path(), e);
            error(ctx, new WatershedException(ErrorCode.INTERNAL, "Cannot complete the request: an internal error occurred ("
                    + e.getClass().getSimpleName() + "); see the server log", e));
        });
        app.error(404, ctx -> {
            String type = ctx.res().getContentType();
            if (type == null || !type.startsWith("application/json")) {
                error(ctx, new WatershedException(ErrorCode.UNKNOWN_STREAM, "Cannot find " + ctx.method() + " " + ctx.path()
                        + ": no such endpoint; see the API in README.md"));
            }
        });
        if (settings.http().tlsKeystore().isPresent()) {
            app.start(); // the TLS connector binds host and port
        } else {
            app.start(settings.http().host(), settings.http().port());
        }
    }

    int port() {
        return app.port();
    }

    private void health(Context ctx) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", "ok");
        body.put("project", platform.project().name());
        body.put("uptime_seconds", platform.uptime().toSeconds());
        body.put("bus", platform.embeddedBus() ? "embedded " + platform.kafkaAddress() : platform.kafkaAddress());
        body.put("streams", platform.streams().streams().size());
        ctx.json(body);
    }

    private void listPipelines(Context ctx) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (io.watershed.spi.StreamProcessor.PipelineStatus p : platform.pipelines().pipelines()) {
            out.add(pipelineJson(p));
        }
        ctx.json(Map.of("pipelines", out));
    }

    private static Map<String, Object> pipelineJson(io.watershed.spi.StreamProcessor.PipelineStatus p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", p.name());
        m.put("state", p.state());
        m.put("outputs", p.outputs());
        m.put("events_per_second", p.eventsPerSecond());
        m.put("lag", p.lag());
        m.put("backpressure", p.backpressure().map(r -> Math.round(r * 100) / 100.0).orElse(null));
        m.put("backpressure_level", p.backpressureLevel().orElse(null));
        m.put("restarts", p.restarts());
        m.put("unreadable_records", p.unreadableRecords());
        m.put("job_id", p.jobId().orElse(null));
        m.put("error", p.error().orElse(null));
        return m;
    }

    private void listStreams(Context ctx) {
        Map<String, LakeUpkeep.TableStats> tables = new LinkedHashMap<>();
        platform.upkeep().stats(streamTables(platform)).forEach(t -> tables.put(t.table(), t));
        List<Map<String, Object>> out = new ArrayList<>();
        boolean admin = Authorization.principal(ctx).admin();
        for (StreamSpec s : platform.streams().streams()) {
            boolean system = s.name().startsWith(AuditLog.RESERVED_PREFIX);
            if (system && !admin) {
                continue;
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", s.name());
            m.put("system", system);
            m.put("partitions", s.partitions());
            m.put("table", s.rawTable());
            m.put("dead_letter_table", s.rawTable() + "__dlq");
            m.put("lake_lag", platform.lakeBacklog(s.name()));
            m.put("events_per_second", Math.round(platform.rates().perSecond(s.name()) * 10) / 10.0);
            m.put("rate_history", platform.rates().history(s.name()));
            LakeUpkeep.TableStats table = tables.get(s.rawTable());
            LakeUpkeep.TableStats deadLetters = tables.get(s.rawTable() + "__dlq");
            m.put("rows", table == null ? 0 : table.rows());
            m.put("dead_letters", deadLetters == null ? 0 : deadLetters.rows());
            m.put("last_commit_at", table == null ? null : table.lastCommit().map(Object::toString).orElse(null));
            m.put("retention_overdue", platform.upkeep().retentionOverdue(s.name()));
            m.put("declared", platform.project().streams().containsKey(s.name()));
            out.add(m);
        }
        out.sort((a, b) -> ((String) a.get("name")).compareTo((String) b.get("name")));
        ctx.json(Map.of("streams", out));
    }

    /** Each stream's raw table and its dead-letter table. */
    static List<String> streamTables(Platform platform) {
        List<String> tables = new ArrayList<>();
        for (StreamSpec s : platform.streams().streams()) {
            tables.add(s.rawTable());
            tables.add(s.rawTable() + "__dlq");
        }
        return tables;
    }

    private void ingest(Context ctx) throws Exception {
        platform.ingest().checkDeclaredLength(ctx.pathParam("stream"), ctx.req().getContentLengthLong());
        Optional<String> idempotencyKey = Optional.ofNullable(ctx.header("Idempotency-Key")).filter(k -> !k.isBlank());
        ctx.attribute(AUDIT_OBJECT, "stream:" + ctx.pathParam("stream"));
        IngestResult result = platform.ingest().ingest(ctx.pathParam("stream"), ctx.req().getInputStream(),
                ctx.header("Content-Encoding"), idempotencyKey);
        if (result.replayed()) {
            ctx.header("Idempotent-Replayed", "true");
        }
        ctx.json(Map.of("accepted", result.accepted()));
        audit.ingested(Authorization.principal(ctx), ctx.pathParam("stream"), result.accepted());
    }

    private void sql(Context ctx) throws Exception {
        String sql;
        try {
            sql = JSON.readTree(ctx.bodyInputStream()).path("sql").asText(null);
        } catch (Exception e) {
            throw new WatershedException(ErrorCode.QUERY_INVALID, "Cannot read the request: send JSON like {\"sql\": \"SELECT 1\"}", e);
        }
        if (sql == null) {
            throw new WatershedException(ErrorCode.QUERY_INVALID, "Cannot run a query: the body has no \"sql\" field");
        }
        ctx.attribute(AUDIT_ACTION, "query");
        ctx.attribute(AUDIT_DETAIL, sql.length() > 10_000 ? sql.substring(0, 10_000) + "..." : sql);
        QueryResult result = platform.query().query(sql, settings.query().maxRows(), Authorization.principal(ctx));
        ctx.attribute(AUDIT_TABLES, String.join(",", result.tables()));
        String accept = Optional.ofNullable(ctx.header("Accept")).orElse("");
        if (accept.contains("text/csv")) {
            if (result.truncated()) {
                ctx.header("X-Watershed-Truncated", "true");
            }
            ctx.contentType("text/csv; charset=utf-8").result(Csv.write(result));
            return;
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("columns", result.columns());
        body.put("types", result.types());
        body.put("rows", result.rows());
        body.put("truncated", result.truncated());
        if (result.truncated()) {
            body.put("note", "Only the first " + settings.query().maxRows() + " rows are returned (query.max_rows); "
                    + "add LIMIT/OFFSET or aggregate to see the rest");
        }
        body.put("elapsed_ms", result.elapsedMillis());
        ctx.json(body);
    }

    /**
     * Records the request in the audit log: every call but health and metrics scrapes; a successful ingest request is
     * summed instead (see {@link AuditLog#ingested}), and a read repeated within a minute is counted (see
     * {@link AuditLog#read}).
     */
    private void audit(Context ctx) {
        String route;
        try {
            route = ctx.endpointHandlerPath();
        } catch (RuntimeException unmatched) {
            route = ctx.path();
        }
        if (route.equals("/v1/health") || route.equals("/metrics") && ctx.status().getCode() < 400 || route.equals("/")
                || route.startsWith(ConsoleApi.CONSOLE_PATH)) { // the console's static files carry no data
            return;
        }
        boolean ingest = route.equals("/v1/streams/{stream}/events");
        if (ingest && ctx.status().getCode() < 300) {
            return;
        }
        io.watershed.access.Principal principal = ctx.attribute(Authorization.PRINCIPAL);
        String action = ctx.attribute(AUDIT_ACTION);
        if (action == null) {
            action = ctx.status().getCode() == 401 ? "auth.refused" : ingest ? "ingest" : ctx.method() + " " + route;
        }
        String object = ctx.attribute(AUDIT_OBJECT);
        if (object == null && !ctx.pathParamMap().isEmpty()) {
            object = String.join(",", ctx.pathParamMap().values());
        }
        boolean read = ctx.status().getCode() < 300 && (ctx.method() == io.javalin.http.HandlerType.GET || action.equals("query"));
        if (read) {
            audit.read(principal, action, ctx.method().name(), ctx.path(), object, ctx.status().getCode(), ctx.attribute(AUDIT_DETAIL),
                    ctx.attribute(AUDIT_TABLES), ctx.ip());
        } else {
            audit.record(principal, action, ctx.method().name(), ctx.path(), object, ctx.status().getCode(), ctx.attribute(AUDIT_DETAIL),
                    ctx.attribute(AUDIT_TABLES), ctx.ip());
        }
    }

    private static void error(Context ctx, WatershedException e) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("code", e.code().name());
        error.put("message", e.getMessage());
        error.put("retriable", e.code().retriable());
        error.putAll(e.details());
        e.retryAfter().ifPresent(d -> {
            ctx.header("Retry-After", String.valueOf(Math.max(1, d.toSeconds())));
            error.put("retry_after_seconds", Math.max(1, d.toSeconds()));
        });
        if (e.code().category() == io.watershed.spi.ErrorCategory.INTERNAL) {
            LOG.error("{}", e.getMessage(), e);
        }
        ctx.status(e.code().httpStatus()).json(Map.of("error", error));
    }

    @Override
    public void close() {
        app.stop();
    }
}
