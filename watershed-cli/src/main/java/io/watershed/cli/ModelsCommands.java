package io.watershed.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.io.PrintStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The batch layer's commands: models, run, backfill, runs (and runs retry), test, lineage. */
final class ModelsCommands {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);

    private ModelsCommands() {}

    static JsonNode request(ApiClient api, String method, String path, Object body) {
        ApiClient.Response response;
        try {
            response = method.equals("GET") ? api.get(path) : method.equals("DELETE") ? api.delete(path)
                    : api.post(path, ApiClient.JSON.writeValueAsString(body), "application/json");
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        if (response.statusCode() / 100 != 2) {
            ErrorCode code = ErrorCode.UNAVAILABLE;
            try {
                code = ErrorCode.valueOf(ApiClient.JSON.readTree(response.body()).path("error").path("code").asText(""));
            } catch (java.io.IOException | IllegalArgumentException e) {
                // not the platform's error shape: a proxy, or another server
            }
            throw new WatershedException(code, ApiClient.errorMessage(response));
        }
        try {
            return ApiClient.JSON.readTree(response.body());
        } catch (java.io.IOException e) {
            throw new WatershedException(ErrorCode.UNAVAILABLE, "Cannot read the platform's answer: " + e.getMessage(), e);
        }
    }

    /** Follows a run with a progress bar until it ends; prints its steps; 0 when it succeeded. */
    static int follow(ApiClient api, JsonNode run, boolean wait) throws InterruptedException {
        return follow(api, List.of(run), wait);
    }

    /** Follows runs with one progress bar until they all end; prints their steps (or their grid); 0 when all succeeded. */
    static int follow(ApiClient api, List<JsonNode> started, boolean wait) throws InterruptedException {
        List<JsonNode> runs = new ArrayList<>(started);
        int steps = runs.stream().mapToInt(r -> r.path("steps").size()).sum();
        String ids = runs.size() == 1 ? "run " + runs.get(0).path("id").asLong()
                : "runs " + runs.get(0).path("id").asLong() + "-" + runs.get(runs.size() - 1).path("id").asLong();
        System.out.println(ids + ": " + steps + " step(s)" + (wait ? "" : " queued; follow them with `watershed runs`"));
        if (!wait) {
            return 0;
        }
        try (ProgressBar progress = new ProgressBarBuilder().setTaskName(ids).setInitialMax(steps)
                .setStyle(ProgressBarStyle.ASCII).setUnit(" steps", 1).continuousUpdate().build()) {
            while (runs.stream().anyMatch(r -> !Set.of("success", "failed").contains(r.path("state").asText()))) {
                Thread.sleep(500); // polling the API for progress: there is no push channel yet
                int done = 0;
                List<String> running = new ArrayList<>();
                for (int i = 0; i < runs.size(); i++) {
                    if (!Set.of("success", "failed").contains(runs.get(i).path("state").asText())) {
                        runs.set(i, request(api, "GET", "/v1/runs/" + runs.get(i).path("id").asLong(), null));
                    }
                    for (JsonNode s : runs.get(i).path("steps")) {
                        String state = s.path("state").asText();
                        if (Set.of("success", "failed", "upstream_failed").contains(state)) {
                            done++;
                        } else if (state.equals("running")) {
                            running.add(s.path("model").asText() + " " + range(s));
                        }
                    }
                }
                progress.stepTo(done);
                progress.setExtraMessage(running.isEmpty() ? "" : "building " + String.join(", ", running));
            }
        }
        if (runs.size() <= 3) {
            runs.forEach(r -> printSteps(System.out, r));
        } else {
            ArrayNode newestFirst = ApiClient.JSON.createArrayNode();
            for (int i = runs.size() - 1; i >= 0; i--) {
                newestFirst.add(runs.get(i));
            }
            printGrid(System.out, newestFirst);
        }
        return runs.stream().allMatch(r -> r.path("state").asText().equals("success")) ? 0 : 1;
    }

    static void printSteps(PrintStream out, JsonNode run) {
        out.printf("run %d %s%s%n", run.path("id").asLong(), run.path("state").asText(),
                run.path("duration_ms").isNumber() ? " in " + seconds(run.path("duration_ms").asLong()) : "");
        out.printf("  %-24s %-16s %-16s %8s %9s %s%n", "MODEL", "PARTITION", "STATE", "ROWS", "TIME", "CHECKS");
        for (JsonNode s : run.path("steps")) {
            int passed = 0;
            int total = 0;
            for (JsonNode c : s.path("checks")) {
                total++;
                passed += c.path("status").asText().equals("pass") ? 1 : 0;
            }
            out.printf("  %-24s %-16s %-16s %8s %9s %s%n", s.path("model").asText(), range(s), s.path("state").asText(),
                    s.path("rows").isNumber() ? s.path("rows").asLong() : "-",
                    s.path("duration_ms").isNumber() ? seconds(s.path("duration_ms").asLong()) : "-",
                    total == 0 ? "-" : passed + "/" + total + " passed");
            for (JsonNode c : s.path("checks")) {
                if (!c.path("status").asText().equals("pass")) {
                    printCheck(out, c, "    ");
                }
            }
            if (!s.path("error").isNull() && !s.path("error").asText().isEmpty()) {
                out.println("    " + s.path("error").asText());
            }
        }
    }

    static void printCheck(PrintStream out, JsonNode c, String indent) {
        out.printf("%s%-5s %s %s: %s%n", indent, c.path("status").asText().toUpperCase(), c.path("table").asText(),
                c.path("name").asText(), c.path("message").asText());
        if (!c.path("status").asText().equals("pass") && c.path("sample").size() > 0) {
            List<String> columns = new ArrayList<>();
            c.path("columns").forEach(col -> columns.add(col.asText()));
            out.println(indent + "      " + String.join(" | ", columns));
            for (JsonNode row : c.path("sample")) {
                List<String> values = new ArrayList<>();
                row.forEach(v -> values.add(v.isNull() ? "NULL" : v.asText()));
                out.println(indent + "      " + String.join(" | ", values));
            }
        }
        if (!c.path("status").asText().equals("pass")) {
            out.println(indent + "      (" + c.path("location").asText() + ")");
        }
    }

    /** A step's time range as its partition: a day, an hour, a month, or start..end. */
    static String range(JsonNode step) {
        java.time.LocalDateTime start = java.time.LocalDateTime.parse(step.path("start").asText());
        java.time.LocalDateTime end = java.time.LocalDateTime.parse(step.path("end").asText());
        if (start.plusHours(1).equals(end)) {
            return start.toLocalDate() + " " + start.toLocalTime();
        }
        if (start.plusDays(1).equals(end)) {
            return start.toLocalDate().toString();
        }
        if (start.getDayOfMonth() == 1 && start.plusMonths(1).equals(end)) {
            return start.toLocalDate().toString().substring(0, 7);
        }
        return start + ".." + end;
    }

    private static String seconds(long millis) {
        return String.format(java.util.Locale.ROOT, "%.1fs", millis / 1000.0);
    }

    @Command(name = "models", mixinStandardHelpOptions = true, description = "List the project's models: materialization, schedule, "
            + "what they read, their last run.")
    static final class Models implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Override
        public Integer call() {
            JsonNode models = request(new ApiClient(server), "GET", "/v1/models", null).path("models");
            if (models.isEmpty()) {
                System.out.println("No models. Add a SELECT as models/<name>.sql in the project (see the README).");
                return 0;
            }
            System.out.printf("%-24s %-12s %-12s %-20s %-10s %s%n", "MODEL", "MATERIALIZED", "SCHEDULE", "NEXT RUN (UTC)", "LAST", "READS");
            for (JsonNode m : models) {
                List<String> reads = new ArrayList<>();
                m.path("reads").forEach(r -> reads.add(r.asText()));
                System.out.printf("%-24s %-12s %-12s %-20s %-10s %s%n", m.path("name").asText(), m.path("materialized").asText(),
                        m.path("schedule").asText("-"), m.path("next_run_at").isNull() ? "-"
                        : TIME.format(Instant.parse(m.path("next_run_at").asText())), m.path("last_state").asText("-"),
                        String.join(", ", reads));
            }
            return 0;
        }
    }

    @Command(name = "run", mixinStandardHelpOptions = true, description = "Build models now, in dependency order, and show "
            + "their progress. MODEL+ includes everything downstream, +MODEL everything upstream; none builds all.")
    static final class Run implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Parameters(paramLabel = "MODEL", arity = "0..*", description = "Models to build (default: all).")
        List<String> models = new ArrayList<>();

        @Option(names = "--no-wait", description = "Start the run and return.")
        boolean noWait;

        @Override
        public Integer call() throws InterruptedException {
            ApiClient api = new ApiClient(server);
            ObjectNode body = ApiClient.JSON.createObjectNode();
            ArrayNode selection = body.putArray("models");
            models.forEach(selection::add);
            return follow(api, request(api, "POST", "/v1/runs", body), !noWait);
        }
    }

    @Command(name = "backfill", mixinStandardHelpOptions = true, description = "Rebuild an incremental model's partitions "
            + "from one date to another (both included): one run per partition, each replacing its partition.")
    static final class Backfill implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Parameters(paramLabel = "MODEL", description = "An incremental model.")
        String model;

        @Option(names = "--from", required = true, paramLabel = "DATE", description = "First day, e.g. 2026-11-01.")
        LocalDate from;

        @Option(names = "--to", required = true, paramLabel = "DATE", description = "Last day, included.")
        LocalDate to;

        @Option(names = "--downstream", description = "Also rebuild the models that read it.")
        boolean downstream;

        @Option(names = "--no-wait", description = "Start the run and return.")
        boolean noWait;

        @Override
        public Integer call() throws InterruptedException {
            ApiClient api = new ApiClient(server);
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("model", model);
            body.put("from", from.toString());
            body.put("to", to.toString());
            body.put("downstream", downstream);
            List<JsonNode> runs = new ArrayList<>();
            request(api, "POST", "/v1/backfills", body).path("runs").forEach(runs::add);
            return follow(api, runs, !noWait);
        }
    }

    @Command(name = "runs", mixinStandardHelpOptions = true, description = "Run history: a grid of runs and models with each "
            + "step's state and duration.", subcommands = {Retry.class, Show.class})
    static final class Runs implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Option(names = "--model", paramLabel = "MODEL", description = "Only runs that built this model.")
        String model;

        @Option(names = "--limit", defaultValue = "15", description = "Newest runs shown (default: 15).")
        int limit;

        @Override
        public Integer call() {
            String path = "/v1/runs?limit=" + limit + (model == null ? "" : "&model=" + URLEncoder.encode(model, StandardCharsets.UTF_8));
            JsonNode runs = request(new ApiClient(server), "GET", path, null).path("runs");
            if (runs.isEmpty()) {
                System.out.println("No runs yet. Start one with `watershed run`.");
                return 0;
            }
            printGrid(System.out, runs);
            return 0;
        }
    }

    /** Runs as rows, models as columns (each cell the step's state and time), oldest run at the bottom. */
    static void printGrid(PrintStream out, JsonNode runs) {
        Set<String> models = new LinkedHashSet<>();
        runs.forEach(r -> r.path("steps").forEach(s -> models.add(s.path("model").asText())));
        StringBuilder header = new StringBuilder(String.format("%-5s %-9s %-8s %-20s %8s", "RUN", "TRIGGER", "STATE", "STARTED (UTC)", "TIME"));
        Map<String, Integer> widths = new LinkedHashMap<>();
        for (String m : models) {
            int width = Math.max(16, m.length());
            widths.put(m, width);
            header.append("  ").append(String.format("%-" + width + "s", m));
        }
        out.println(header);
        for (JsonNode run : runs) {
            StringBuilder line = new StringBuilder(String.format("%-5d %-9s %-8s %-20s %8s", run.path("id").asLong(),
                    run.path("trigger").asText(), run.path("state").asText(), run.path("started_at").isNull() ? "-"
                    : TIME.format(Instant.parse(run.path("started_at").asText())), run.path("duration_ms").isNumber()
                    ? seconds(run.path("duration_ms").asLong()) : "-"));
            for (String m : models) {
                List<JsonNode> steps = new ArrayList<>();
                run.path("steps").forEach(s -> {
                    if (s.path("model").asText().equals(m)) {
                        steps.add(s);
                    }
                });
                line.append("  ").append(String.format("%-" + widths.get(m) + "s", cell(steps)));
            }
            out.println(line);
        }
        JsonNode latest = runs.get(0);
        if (latest.path("state").asText().equals("failed") && !latest.path("error").isNull()) {
            out.println();
            out.println("run " + latest.path("id").asLong() + " failed: " + latest.path("error").asText());
            out.println("`watershed runs show " + latest.path("id").asLong() + "` shows every step; `watershed runs retry "
                    + latest.path("id").asLong() + "` runs again what failed");
        }
    }

    private static String cell(List<JsonNode> steps) {
        if (steps.isEmpty()) {
            return ".";
        }
        Map<String, Integer> states = new LinkedHashMap<>();
        long millis = 0;
        for (JsonNode s : steps) {
            states.merge(s.path("state").asText(), 1, Integer::sum);
            millis += s.path("duration_ms").asLong(0);
        }
        if (states.size() == 1) {
            String state = states.keySet().iterator().next();
            String symbol = switch (state) {
                case "success" -> "ok";
                case "failed" -> "FAILED";
                case "upstream_failed" -> "skipped";
                default -> state;
            };
            return symbol + (steps.size() > 1 ? " x" + steps.size() : "") + (millis > 0 && !state.equals("upstream_failed")
                    ? " " + seconds(millis) : "");
        }
        List<String> parts = new ArrayList<>();
        states.forEach((state, n) -> parts.add(n + " " + state));
        return String.join(", ", parts);
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Every step of one run: range, state, rows, time, checks, errors.")
    static final class Show implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Parameters(paramLabel = "RUN_ID")
        long id;

        @Override
        public Integer call() {
            JsonNode run = request(new ApiClient(server), "GET", "/v1/runs/" + id, null);
            printSteps(System.out, run);
            return run.path("state").asText().equals("failed") ? 1 : 0;
        }
    }

    @Command(name = "retry", mixinStandardHelpOptions = true, description = "Run again, in the same run, the steps that failed "
            + "or were skipped; steps that succeeded stay.")
    static final class Retry implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Parameters(paramLabel = "RUN_ID")
        long id;

        @Option(names = "--no-wait", description = "Start the retry and return.")
        boolean noWait;

        @Override
        public Integer call() throws InterruptedException {
            ApiClient api = new ApiClient(server);
            return follow(api, request(api, "POST", "/v1/runs/" + id + "/retry", Map.of()), !noWait);
        }
    }

    @Command(name = "test", mixinStandardHelpOptions = true, description = "Run the checks of checks/*.yaml now, of one table or "
            + "all; exit 1 when one fails.")
    static final class Test implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Parameters(paramLabel = "TABLE", arity = "0..1", description = "Only this table's checks, e.g. models.daily_top.")
        String table;

        @Override
        public Integer call() {
            Map<String, Object> body = table == null ? Map.of() : Map.of("table", table);
            JsonNode result = request(new ApiClient(server), "POST", "/v1/checks/run", body);
            int failed = 0;
            for (JsonNode c : result.path("checks")) {
                printCheck(System.out, c, "");
                failed += Set.of("fail", "error").contains(c.path("status").asText()) && !c.path("warn_only").asBoolean() ? 1 : 0;
            }
            System.out.println(result.path("checks").size() + " check(s), " + failed + " failed");
            return failed == 0 ? 0 : 1;
        }
    }

    @Command(name = "lineage", mixinStandardHelpOptions = true, description = "Upstream and downstream of a table, model, "
            + "pipeline or stream: streams, pipelines, tables, live views, models.")
    static final class Lineage implements Callable<Integer> {
        @Mixin
        ServerOptions server;

        @Parameters(paramLabel = "NAME", description = "A table (raw.clicks, models.daily_top), model, pipeline or stream.")
        String name;

        @Override
        public Integer call() {
            JsonNode graph = request(new ApiClient(server), "GET", "/v1/lineage?of=" + URLEncoder.encode(name, StandardCharsets.UTF_8), null);
            String focus = graph.path("focus").asText();
            Map<String, List<String>> up = new LinkedHashMap<>();
            Map<String, List<String>> down = new LinkedHashMap<>();
            for (JsonNode e : graph.path("edges")) {
                up.computeIfAbsent(e.path("to").asText(), k -> new ArrayList<>()).add(e.path("from").asText());
                down.computeIfAbsent(e.path("from").asText(), k -> new ArrayList<>()).add(e.path("to").asText());
            }
            System.out.println(focus);
            System.out.println("upstream:");
            tree(System.out, focus, up, "  ", new LinkedHashSet<>());
            System.out.println("downstream:");
            tree(System.out, focus, down, "  ", new LinkedHashSet<>());
            return 0;
        }

        private static void tree(PrintStream out, String node, Map<String, List<String>> next, String indent, Set<String> path) {
            List<String> children = next.getOrDefault(node, List.of());
            if (children.isEmpty() && path.isEmpty()) {
                out.println(indent + "(none)");
            }
            for (String child : children) {
                out.println(indent + child);
                if (path.add(child)) {
                    tree(out, child, next, indent + "  ", path);
                    path.remove(child);
                }
            }
        }
    }
}
