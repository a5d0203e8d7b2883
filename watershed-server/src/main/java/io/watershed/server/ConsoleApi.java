package io.watershed.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.staticfiles.Location;
import io.watershed.access.Principal;
import io.watershed.access.Privilege;
import io.watershed.lake.TableInspector;
import io.watershed.project.Boards;
import io.watershed.project.Boards.Chart;
import io.watershed.project.Boards.Dashboard;
import io.watershed.project.Boards.SavedQuery;
import io.watershed.project.Problem;
import io.watershed.project.ProjectLoader;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.Project;
import io.watershed.spi.StreamSpec;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * What the web console needs beyond the rest of the API: a table's inside (schema history, snapshots, files,
 * time-travel rows), the project's saved queries and dashboards (files in git, read again on every call) and a
 * dashboard as Grafana JSON over the Prometheus metrics; its alerts are {@link AlertsApi}'s. The console itself is static
 * files under {@code /console/}: they carry no data, so they are served without a token; every call they make
 * sends the token the user typed.
 */
final class ConsoleApi implements Routes {
    static final String CONSOLE_PATH = "/console";
    /** The console's pages may only load the console's own code and talk to this server. */
    private static final String CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            + "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final TableInspector inspector;
    private final Project project;
    private final StreamCatalog streams;
    private final Supplier<Boards> boards;

    /**
     * @param boards the project's saved queries and dashboards as they are on disk now (edits show without a restart)
     */
    ConsoleApi(TableInspector inspector, Project project, StreamCatalog streams, Supplier<Boards> boards) {
        this.inspector = inspector;
        this.project = project;
        this.streams = streams;
        this.boards = boards;
    }

    /** Serves the console's files from the classpath (the watershed-console jar), when they are there. */
    static void staticFiles(io.javalin.config.JavalinConfig config) {
        if (ConsoleApi.class.getResource(CONSOLE_PATH + "/index.html") == null) {
            return; // a build without the console (the server's own unit tests)
        }
        config.staticFiles.add(s -> {
            s.hostedPath = CONSOLE_PATH;
            s.directory = CONSOLE_PATH;
            s.location = Location.CLASSPATH;
            s.headers = Map.of("Content-Security-Policy", CSP, "X-Content-Type-Options", "nosniff", "X-Frame-Options", "DENY",
                    "Referrer-Policy", "no-referrer", "Cache-Control", "no-cache");
        });
    }

    @Override
    public void register(Javalin app) {
        app.get("/", ctx -> ctx.redirect(CONSOLE_PATH + "/"));
        app.get("/v1/tables/{table}", this::table);
        app.get("/v1/tables/{table}/rows", this::rows);
        app.get("/v1/queries", ctx -> ctx.json(Map.of("queries", boards(false).queries().stream().map(ConsoleApi::queryJson).toList())));
        app.put("/v1/queries/{name}", this::saveQuery);
        app.delete("/v1/queries/{name}", this::deleteQuery);
        app.get("/v1/dashboards", ctx -> ctx.json(Map.of("dashboards", boards(true).dashboards().stream().map(d -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", d.name());
            m.put("title", d.title());
            m.put("refresh_seconds", d.refreshSeconds().orElse(null));
            m.put("panels", d.panels().size());
            m.put("file", d.file());
            return m;
        }).toList())));
        app.get("/v1/dashboards/{name}", ctx -> ctx.json(dashboardJson(dashboard(ctx.pathParam("name")))));
        app.get("/v1/dashboards/{name}/grafana", ctx -> {
            Dashboard d = dashboard(ctx.pathParam("name"));
            ctx.header("Content-Disposition", "attachment; filename=\"" + d.name() + ".grafana.json\"");
            ctx.json(GrafanaExport.of(d, streams.streams().stream().map(StreamSpec::name).toList(),
                    project.pipelines().keySet(), project.models().keySet()));
        });
    }

    private void table(Context ctx) {
        String table = ctx.pathParam("table");
        TableInspector.Description d = inspector.describe(table, visible(Authorization.principal(ctx), table));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", d.table());
        m.put("rows", d.rows());
        m.put("bytes", d.bytes());
        m.put("file_count", d.fileCount());
        m.put("columns", d.columns().stream().map(ConsoleApi::columnJson).toList());
        m.put("schemas", d.schemas().stream().map(s -> {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("schema_id", s.schemaId());
            v.put("current", s.current());
            v.put("columns", s.columns().stream().map(ConsoleApi::columnJson).toList());
            v.put("added", s.added());
            v.put("removed", s.removed());
            v.put("first_snapshot_id", s.firstSnapshotId().map(String::valueOf).orElse(null));
            v.put("first_seen_at", s.firstSeenAt().map(Instant::toString).orElse(null));
            return v;
        }).toList());
        m.put("partition_spec", d.partitionSpec().stream().map(p -> Map.of("name", p.name(), "transform", p.transform(),
                "source", String.valueOf(p.source()))).toList());
        m.put("snapshots", d.snapshots().stream().map(s -> {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("snapshot_id", String.valueOf(s.snapshotId())); // 64-bit ids: text, or JavaScript rounds them
            v.put("parent_id", s.parentId().map(String::valueOf).orElse(null));
            v.put("at", s.at().toString());
            v.put("operation", s.operation());
            v.put("current", s.current());
            v.put("added_records", s.addedRecords());
            v.put("added_files", s.addedFiles());
            v.put("total_records", s.totalRecords());
            v.put("total_files", s.totalFiles());
            return v;
        }).toList());
        m.put("files", d.files().stream().map(f -> Map.of("name", f.name(), "partition", f.partition(), "records", f.records(),
                "bytes", f.bytes())).toList());
        ctx.json(m);
    }

    private void rows(Context ctx) {
        String table = ctx.pathParam("table");
        OptionalLong snapshot;
        int limit;
        try {
            snapshot = Optional.ofNullable(ctx.queryParam("snapshot")).filter(s -> !s.isBlank())
                    .map(s -> OptionalLong.of(Long.parseLong(s))).orElse(OptionalLong.empty());
            limit = Optional.ofNullable(ctx.queryParam("limit")).map(Integer::parseInt).orElse(50);
        } catch (NumberFormatException e) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot read rows of " + table + ": snapshot and limit must be numbers");
        }
        TableInspector.Rows r = inspector.rows(table, snapshot, Math.max(1, Math.min(limit, 1000)),
                visible(Authorization.principal(ctx), table));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("columns", r.columns());
        m.put("types", r.types());
        m.put("rows", r.rows());
        m.put("snapshot_id", r.snapshotId().map(String::valueOf).orElse(null));
        m.put("at", r.at().map(Instant::toString).orElse(null));
        ctx.json(m);
    }

    /** The columns of {@code table} the principal may see; FORBIDDEN when none. */
    private static Predicate<String> visible(Principal principal, String table) {
        Optional<Set<String>> columns = principal.columns(table);
        if (columns.isEmpty()) {
            principal.require(Privilege.READ, "table:" + table.toLowerCase(Locale.ROOT));
            principal.requireAdmin("read " + table);
        }
        Set<String> granted = columns.orElseThrow();
        return granted.isEmpty() ? name -> true : name -> granted.contains(name.toLowerCase(Locale.ROOT));
    }

    private void saveQuery(Context ctx) {
        String name = ctx.pathParam("name");
        JsonNode body;
        try {
            body = JSON.readTree(ctx.bodyInputStream());
        } catch (IOException e) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot read the request: send {\"sql\": \"SELECT ...\", \"title\": "
                    + "\"...\", \"chart\": {\"type\": \"line\", \"x\": \"minute\", \"y\": [\"clicks\"]}}", e);
        }
        String sql = body.path("sql").asText("");
        Optional<Chart> chart;
        try {
            JsonNode c = body.path("chart");
            if (c.isObject()) {
                List<String> y = new ArrayList<>();
                c.path("y").forEach(n -> y.add(n.asText()));
                chart = Optional.of(new Chart(c.path("type").asText("table"), Optional.ofNullable(c.path("x").asText(null))
                        .filter(x -> !x.isBlank()), y));
            } else {
                chart = Optional.empty();
            }
            AuditLog.note(ctx, "query.save", "query:" + name, null);
            ProjectLoader.saveQuery(project.directory(), name, body.path("title").asText(""), chart, sql);
        } catch (IllegalArgumentException e) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot save query '" + name + "': " + e.getMessage(), e);
        } catch (IOException e) {
            throw new WatershedException(ErrorCode.INTERNAL, "Cannot save query '" + name + "' in the project's queries/ folder: "
                    + e.getMessage(), e);
        }
        ctx.json(queryJson(boards(false).query(name).orElseThrow(() -> new WatershedException(ErrorCode.INTERNAL,
                "Query '" + name + "' was written but cannot be read back"))));
    }

    private void deleteQuery(Context ctx) throws IOException {
        String name = ctx.pathParam("name");
        SavedQuery query = boards(false).query(name).orElseThrow(() -> new WatershedException(ErrorCode.UNKNOWN_QUERY,
                "Cannot find saved query '" + name + "'; GET /v1/queries lists them"));
        AuditLog.note(ctx, "query.delete", "query:" + name, null);
        Files.delete(project.directory().resolve(query.file()));
        ctx.json(Map.of("deleted", name));
    }

    /** The project's boards; with {@code strict}, a problem in any file is the caller's error (as validate says it). */
    private Boards boards(boolean strict) {
        Boards boards = this.boards.get();
        if (strict && !boards.problems().isEmpty()) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot read the project's dashboards:\n"
                    + String.join("\n", boards.problems().stream().map(Problem::toString).toList())
                    + "\nFix the files (watershed validate shows the same) and reload");
        }
        return boards;
    }

    private Dashboard dashboard(String name) {
        Boards boards = this.boards.get();
        return boards.dashboard(name).orElseThrow(() -> {
            List<Problem> problems = boards.problems().stream().filter(p -> p.file().contains(name)).toList();
            return problems.isEmpty()
                    ? new WatershedException(ErrorCode.UNKNOWN_DASHBOARD, "Cannot find dashboard '" + name + "'; add dashboards/" + name
                            + ".yaml to the project (GET /v1/dashboards lists them)")
                    : new WatershedException(ErrorCode.INVALID_INPUT, "Cannot show dashboard '" + name + "':\n"
                            + String.join("\n", problems.stream().map(Problem::toString).toList()));
        });
    }

    private static Map<String, Object> columnJson(TableInspector.Column c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", c.id());
        m.put("name", c.name());
        m.put("type", c.type());
        m.put("required", c.required());
        m.put("doc", c.doc());
        return m;
    }

    static Map<String, Object> queryJson(SavedQuery q) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", q.name());
        m.put("title", q.title());
        m.put("sql", q.sql());
        m.put("chart", q.chart().map(ConsoleApi::chartJson).orElse(null));
        m.put("file", q.file());
        return m;
    }

    static Map<String, Object> chartJson(Chart c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", c.type());
        m.put("x", c.x().orElse(null));
        m.put("y", c.y());
        return m;
    }

    static Map<String, Object> dashboardJson(Dashboard d) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", d.name());
        m.put("title", d.title());
        m.put("refresh_seconds", d.refreshSeconds().orElse(null));
        m.put("file", d.file());
        m.put("panels", d.panels().stream().map(p -> {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("title", p.title());
            v.put("query", p.query().orElse(null));
            v.put("sql", p.sql());
            v.put("chart", chartJson(p.chart()));
            v.put("w", p.width());
            v.put("h", p.height());
            return v;
        }).toList());
        return m;
    }
}
