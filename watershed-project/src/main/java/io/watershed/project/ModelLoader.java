package io.watershed.project;

import io.watershed.spi.SettingType;
import io.watershed.spi.CheckSpec;
import io.watershed.spi.ModelSpec;
import io.watershed.spi.ModelSpec.Grain;
import io.watershed.spi.ModelSpec.Materialization;
import io.watershed.spi.ModelSpec.TableRef;
import io.watershed.spi.PipelineSpec;
import io.watershed.spi.Project;
import io.watershed.spi.Settings;
import io.watershed.spi.StreamSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;

/**
 * Loads {@code models/*.sql} (settings in a header of {@code -- key: value} comment lines, or in
 * {@code models/<name>.yaml} beside) and {@code checks/*.yaml}, and checks the models' DAG: every table a
 * model reads must be made by the project (a stream's raw table, a pipeline's output, another model),
 * and no model may depend on itself.
 */
final class ModelLoader {
    static final Set<String> KEYS = Set.of("materialized", "partition_by", "grain", "schedule", "catchup", "retries",
            "retry_delay", "timeout", "description", "retention");
    static final Set<String> VARIABLES = Set.of("start", "end", "start_date", "end_date");
    private static final Pattern HEADER_LINE = Pattern.compile("--\\s*([A-Za-z_][A-Za-z0-9_]*)\\s*:\\s*(.*?)\\s*");
    private static final Pattern VARIABLE = Pattern.compile("\\{\\{\\s*([^}]*?)\\s*}}");

    private final ProjectLoader loader;
    private final Path directory;
    private final Settings.Models defaults;
    private final Map<String, String> schedules;
    private final List<Problem> problems;

    /** A setting as written, with where: {@code file:line:col}. */
    private record Setting(String value, String file, int line, int column) {}

    ModelLoader(ProjectLoader loader, Path directory, Settings.Models defaults, Map<String, String> schedules,
            List<Problem> problems) {
        this.loader = loader;
        this.directory = directory.toAbsolutePath().normalize(); // so that it relativizes the absolute paths of models
        this.defaults = defaults;
        this.schedules = schedules;
        this.problems = problems;
    }

    Map<String, ModelSpec> load(Map<String, StreamSpec> streams, Map<String, PipelineSpec> pipelines) {
        Path dir = directory.resolve("models");
        Map<String, ModelSpec> models = new TreeMap<>();
        if (!Files.isDirectory(dir)) {
            return models;
        }
        List<Path> files = list(dir);
        Map<String, String> sql = new TreeMap<>();
        Map<String, Path> paths = new HashMap<>();
        Map<String, ModelSpec.Config> configs = new HashMap<>();
        for (Path file : files) {
            String fileName = file.getFileName().toString();
            String shown = directory.relativize(file).toString();
            if (fileName.endsWith(".yaml") || fileName.endsWith(".yml")) {
                String stem = fileName.replaceFirst("\\.ya?ml$", "");
                if (!Files.isRegularFile(dir.resolve(stem + ".sql"))) {
                    problems.add(new Problem(shown, 1, 1, "settings for model '" + stem + "', but there is no models/" + stem
                            + ".sql; write its SELECT there, or rename this file"));
                }
                continue;
            }
            if (!fileName.endsWith(".sql")) {
                continue;
            }
            String name = fileName.substring(0, fileName.length() - ".sql".length());
            if (!StreamSpec.NAME.matcher(name).matches()) {
                problems.add(new Problem(shown, 1, 1, "model file name '" + name + "' is not a valid model name; use "
                        + StreamSpec.NAME_RULE));
                continue;
            }
            String text;
            try {
                text = Files.readString(file);
            } catch (IOException e) {
                problems.add(new Problem(shown, 1, 1, "cannot read: " + e.getMessage()));
                continue;
            }
            Map<String, Setting> settings = header(text, shown);
            Path yaml = Files.isRegularFile(dir.resolve(name + ".yaml")) ? dir.resolve(name + ".yaml") : dir.resolve(name + ".yml");
            if (Files.isRegularFile(yaml)) {
                besides(yaml, settings);
            }
            ModelSpec.Config config = config(name, shown, settings);
            checkBody(text, shown, name);
            // a model with a mistake still counts as one, so that what reads it is checked against it
            sql.put(name, text);
            paths.put(name, file.toAbsolutePath().normalize());
            configs.put(name, config);
        }
        Set<String> produced = producedTables(streams, pipelines);
        for (Map.Entry<String, String> model : sql.entrySet()) {
            String shown = directory.relativize(paths.get(model.getKey())).toString();
            if (produced.contains(defaults.namespace() + "." + model.getKey())) {
                problems.add(new Problem(shown, 1, 1, "model '" + model.getKey() + "' would build " + defaults.namespace() + "."
                        + model.getKey() + ", which a pipeline writes; rename the model or the pipeline's table"));
            }
            List<TableRef> references = new ArrayList<>();
            for (SqlReferences.Reference ref : SqlReferences.of(model.getValue())) {
                resolve(ref, shown, sql.keySet(), produced, streams).ifPresent(references::add);
            }
            models.put(model.getKey(), new ModelSpec(model.getKey(), paths.get(model.getKey()), model.getValue(),
                    configs.get(model.getKey()), references));
        }
        checkCycles(models);
        return models;
    }

    /**
     * Tables models read that no stream, pipeline or model of the project makes: they must be in the lake
     * already when the models run (written by another tool), or the name is a mistake.
     */
    static List<Problem> warnings(Project project) {
        Set<String> produced = producedTables(project.streams(), project.pipelines());
        List<Problem> warnings = new ArrayList<>();
        for (ModelSpec model : project.models().values()) {
            for (TableRef ref : model.references()) {
                String table = ref.table();
                boolean raw = ref.namespace().equals("raw");
                if (!ref.model() && !raw && !produced.contains(table)) {
                    warnings.add(new Problem(project.directory().relativize(model.file()).toString(), ref.line(), ref.column(),
                            "no stream, pipeline or model of the project makes " + table + ProjectLoader.suggestion(table,
                            produced) + "; it must be in the lake when the model runs"));
                }
            }
        }
        return warnings;
    }

    /** Every table the project makes: raw tables of declared streams and of streams pipelines write, pipeline outputs. */
    private static Set<String> producedTables(Map<String, StreamSpec> streams, Map<String, PipelineSpec> pipelines) {
        Set<String> tables = new HashSet<>();
        streams.keySet().forEach(s -> tables.add("raw." + s));
        for (PipelineSpec pipeline : pipelines.values()) {
            // a stream a pipeline writes lands in raw.<stream>
            SqlReferences.pipelineOutputs(pipeline.sql()).forEach(o -> tables.add(o.startsWith("streams.") ? "raw." + o.substring(8) : o));
        }
        return tables;
    }

    private Optional<TableRef> resolve(SqlReferences.Reference ref, String shown, Set<String> modelNames, Set<String> produced,
            Map<String, StreamSpec> streams) {
        List<String> parts = new ArrayList<>(ref.parts());
        if (parts.size() == 3 && parts.get(0).equals("watershed")) {
            parts.remove(0);
        }
        String namespace;
        String table;
        if (parts.size() == 1) {
            namespace = defaults.namespace();
            table = parts.get(0);
        } else if (parts.size() == 2) {
            namespace = parts.get(0);
            table = parts.get(1);
        } else {
            problems.add(new Problem(shown, ref.line(), ref.column(), "table " + String.join(".", ref.parts())
                    + ": name a lake table as <namespace>.<table>, or another model by its name"));
            return Optional.empty();
        }
        if (namespace.equals(defaults.namespace())) {
            if (!modelNames.contains(table)) {
                problems.add(new Problem(shown, ref.line(), ref.column(), "no model '" + table + "'" + (parts.size() == 1
                        ? " (a table named without a namespace is a model)" : "") + "; the project's models are "
                        + (modelNames.isEmpty() ? "none" : String.join(", ", modelNames)) + ProjectLoader.suggestion(table, modelNames)));
                return Optional.empty();
            }
            return Optional.of(new TableRef(namespace, table, true, ref.line(), ref.column()));
        }
        if (namespace.equals("streams") || namespace.equals("live")) {
            problems.add(new Problem(shown, ref.line(), ref.column(), namespace + "." + table + ": a model reads lake tables, "
                    + (namespace.equals("streams") ? "not streams; read raw." + table + ", where the stream lands"
                            : "not live views, which only pipelines keep; write the pipeline's result to a lake table")));
            return Optional.empty();
        }
        if (namespace.equals("committed")) {
            problems.add(new Problem(shown, ref.line(), ref.column(), "committed." + table + ": models always read committed "
                    + "snapshots; name the table without 'committed.'"));
            return Optional.empty();
        }
        // other tables may come from outside the project (another writer of the same catalog): `watershed validate`
        // warns about those no part of the project makes (see warnings), and a build fails at the reference if it is missing
        return Optional.of(new TableRef(namespace, table, false, ref.line(), ref.column()));
    }

    /** A model may not read itself, directly or through others. */
    private void checkCycles(Map<String, ModelSpec> models) {
        Map<String, Integer> state = new HashMap<>(); // 1 visiting, 2 done
        Set<String> reported = new HashSet<>();
        for (String name : models.keySet()) {
            visit(name, models, state, new ArrayList<>(), reported);
        }
    }

    private void visit(String name, Map<String, ModelSpec> models, Map<String, Integer> state, List<String> path, Set<String> reported) {
        Integer s = state.get(name);
        if (s != null && s == 2) {
            return;
        }
        if (s != null && s == 1) {
            List<String> cycle = new ArrayList<>(path.subList(path.indexOf(name), path.size()));
            cycle.add(name);
            String from = cycle.get(cycle.size() - 2);
            ModelSpec model = models.get(from);
            if (reported.add(new java.util.TreeSet<>(cycle).toString())) {
                TableRef ref = model.references().stream().filter(r -> r.model() && r.name().equals(name)).findFirst().orElseThrow();
                problems.add(new Problem(directory.relativize(model.file()).toString(), ref.line(), ref.column(), "model '" + from
                        + "' is in a cycle: " + String.join(" -> ", cycle) + " (each reads the next); a model cannot depend on "
                        + "itself"));
            }
            return;
        }
        state.put(name, 1);
        path.add(name);
        for (String upstream : models.get(name).upstreamModels()) {
            visit(upstream, models, state, path, reported);
        }
        path.remove(path.size() - 1);
        state.put(name, 2);
    }

    /** The leading {@code -- key: value} comment lines of a model; other comment lines are prose. */
    private Map<String, Setting> header(String text, String shown) {
        Map<String, Setting> settings = new LinkedHashMap<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].stripTrailing();
            String trimmed = line.strip();
            if (trimmed.isEmpty()) {
                continue;
            }
            if (!trimmed.startsWith("--")) {
                break;
            }
            Matcher m = HEADER_LINE.matcher(trimmed);
            if (!m.matches()) {
                continue;
            }
            String key = m.group(1).toLowerCase(Locale.ROOT);
            int indent = line.indexOf(trimmed);
            int keyColumn = indent + m.start(1) + 1;
            if (!KEYS.contains(key)) {
                String suggestion = ProjectLoader.suggestion(key, KEYS);
                if (!suggestion.isEmpty()) {
                    problems.add(new Problem(shown, i + 1, keyColumn, "unknown model setting '" + key + "'" + suggestion
                            + "; allowed: " + new java.util.TreeSet<>(KEYS)));
                }
                continue; // prose, such as "-- Note: ..."
            }
            if (settings.containsKey(key)) {
                problems.add(new Problem(shown, i + 1, keyColumn, "duplicate model setting '" + key + "'"));
                continue;
            }
            settings.put(key, new Setting(unquote(m.group(2)), shown, i + 1, indent + m.start(2) + 1));
        }
        return settings;
    }

    private static String unquote(String value) {
        if (value.length() >= 2 && (value.startsWith("\"") && value.endsWith("\"") || value.startsWith("'") && value.endsWith("'"))) {
            return value.substring(1, value.length() - 1);
        }
        return value;
    }

    /** Settings from {@code models/<name>.yaml}. */
    private void besides(Path yaml, Map<String, Setting> settings) {
        ProjectLoader.FileReader reader = loader.new FileReader(directory, yaml, problems);
        Optional<MappingNode> doc = reader.document();
        if (doc.isEmpty()) {
            return;
        }
        for (Map.Entry<String, NodeTuple> entry : reader.entries(doc.get(), KEYS, "model settings").entrySet()) {
            Node value = entry.getValue().getValueNode();
            if (settings.containsKey(entry.getKey())) {
                Setting other = settings.get(entry.getKey());
                reader.problem(entry.getValue().getKeyNode(), "'" + entry.getKey() + "' is also set in " + other.file() + ":"
                        + other.line() + "; set it in one place");
                continue;
            }
            reader.string(value).ifPresent(v -> settings.put(entry.getKey(), new Setting(v, reader.displayName(),
                    value.getStartMark().getLine() + 1, value.getStartMark().getColumn() + 1)));
        }
    }

    private ModelSpec.Config config(String name, String shown, Map<String, Setting> s) {
        Materialization materialized = Materialization.TABLE;
        if (s.containsKey("materialized")) {
            String value = s.get("materialized").value().toLowerCase(Locale.ROOT);
            switch (value) {
                case "table" -> materialized = Materialization.TABLE;
                case "incremental" -> materialized = Materialization.INCREMENTAL;
                default -> problem(s.get("materialized"), "materialized must be 'table' (every build replaces the table) or "
                        + "'incremental' (every build replaces one partition's time range), got '" + value + "'");
            }
        }
        Optional<String> schedule = Optional.ofNullable(s.get("schedule")).map(Setting::value).map(String::trim);
        Optional<String> cron = Optional.empty();
        if (schedule.isPresent()) {
            if (schedules.containsKey(schedule.get())) {
                cron = Optional.of(Schedules.cron(schedules.get(schedule.get())));
            } else if (schedule.get().matches("[a-z][a-z0-9_]*")) {
                problem(s.get("schedule"), "no schedule named '" + schedule.get() + "' under schedules: in watershed.yaml"
                        + (schedules.isEmpty() ? "" : " (named: " + String.join(", ", schedules.keySet()) + ")")
                        + "; or write a cron expression such as '0 2 * * *' or @daily");
            } else {
                Optional<String> problem = Schedules.problem(schedule.get());
                if (problem.isPresent()) {
                    problem(s.get("schedule"), problem.get());
                } else {
                    cron = Optional.of(Schedules.cron(schedule.get()));
                }
            }
        }
        Grain grain = cron.map(c -> c.equals(Schedules.NICKNAMES.get("@hourly")) ? Grain.HOUR
                : c.equals(Schedules.NICKNAMES.get("@monthly")) ? Grain.MONTH : Grain.DAY).orElse(Grain.DAY);
        if (s.containsKey("grain")) {
            String value = s.get("grain").value().toLowerCase(Locale.ROOT);
            switch (value) {
                case "hour" -> grain = Grain.HOUR;
                case "day" -> grain = Grain.DAY;
                case "month" -> grain = Grain.MONTH;
                default -> problem(s.get("grain"), "grain must be hour, day or month, got '" + value + "'");
            }
        }
        Optional<String> partitionBy = Optional.ofNullable(s.get("partition_by")).map(Setting::value).map(String::trim);
        if (partitionBy.isPresent() && partitionBy.get().isEmpty()) {
            problem(s.get("partition_by"), "partition_by names a DATE or TIMESTAMP column of the model's result");
        }
        if (materialized == Materialization.INCREMENTAL && partitionBy.isEmpty()) {
            problems.add(new Problem(shown, s.containsKey("materialized") ? s.get("materialized").line() : 1,
                    s.containsKey("materialized") ? s.get("materialized").column() : 1, "an incremental model needs partition_by: "
                    + "the DATE or TIMESTAMP column whose " + grain.name().toLowerCase(Locale.ROOT) + " each build replaces"));
        }
        boolean catchup = s.containsKey("catchup") ? bool(s.get("catchup")).orElse(defaults.catchup()) : defaults.catchup();
        int retries = defaults.retries();
        if (s.containsKey("retries")) {
            try {
                retries = Integer.parseInt(s.get("retries").value().trim());
                if (retries < 0 || retries > 100) {
                    problem(s.get("retries"), "retries must be from 0 to 100, got " + retries);
                }
            } catch (NumberFormatException e) {
                problem(s.get("retries"), "retries must be a whole number, got '" + s.get("retries").value() + "'");
            }
        }
        Duration retryDelay = s.containsKey("retry_delay") ? duration(s.get("retry_delay")).orElse(defaults.retryDelay())
                : defaults.retryDelay();
        Duration timeout = s.containsKey("timeout") ? duration(s.get("timeout")).orElse(defaults.timeout()) : defaults.timeout();
        if (timeout.isZero()) {
            problem(s.get("timeout"), "timeout must be more than 0");
        }
        Optional<Duration> retention = s.containsKey("retention") ? duration(s.get("retention")) : Optional.empty();
        if (retention.isPresent() && partitionBy.isEmpty()) {
            problem(s.get("retention"), "retention drops whole partitions, and this model has none: add partition_by (a date or "
                    + "timestamp column) or remove retention");
        }
        return new ModelSpec.Config(defaults.namespace(), materialized, partitionBy, grain, schedule, cron, catchup, retries,
                retryDelay, timeout, Optional.ofNullable(s.get("description")).map(Setting::value), retention);
    }

    private Optional<Boolean> bool(Setting setting) {
        String v = setting.value().trim();
        if (v.equals("true") || v.equals("false")) {
            return Optional.of(Boolean.parseBoolean(v));
        }
        problem(setting, "expected true or false, got '" + v + "'");
        return Optional.empty();
    }

    private Optional<Duration> duration(Setting setting) {
        try {
            return Optional.of(SettingType.duration(setting.value()));
        } catch (IllegalArgumentException e) {
            problem(setting, e.getMessage());
            return Optional.empty();
        }
    }

    private void problem(Setting at, String message) {
        problems.add(new Problem(at.file(), at.line(), at.column(), message));
    }

    /** One SELECT (or WITH ... SELECT), with known variables only. */
    private void checkBody(String text, String shown, String name) {
        int line = 1;
        int lineStart = 0;
        Matcher variable = VARIABLE.matcher(text);
        while (variable.find()) {
            while (text.indexOf('\n', lineStart) >= 0 && text.indexOf('\n', lineStart) < variable.start()) {
                lineStart = text.indexOf('\n', lineStart) + 1;
                line++;
            }
            if (!VARIABLES.contains(variable.group(1))) {
                problems.add(new Problem(shown, line, variable.start() - lineStart + 1, "unknown variable {{ " + variable.group(1)
                        + " }}; a model knows " + new java.util.TreeSet<>(VARIABLES) + " (the time range a build covers)"));
            }
        }
        String code = text.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("--[^\n]*", " ").strip();
        if (code.isEmpty()) {
            problems.add(new Problem(shown, 1, 1, "model '" + name + "' has no SQL; write one SELECT whose result becomes the "
                    + "table " + defaults.namespace() + "." + name));
            return;
        }
        String first = code.split("[\\s(]+", 2)[0].toLowerCase(Locale.ROOT);
        if (!first.equals("select") && !first.equals("with") && !first.equals("values")) {
            int at = text.indexOf(code.substring(0, Math.min(code.length(), 10)));
            int l = 1 + (int) text.substring(0, Math.max(0, at)).chars().filter(c -> c == '\n').count();
            int c = at - text.lastIndexOf('\n', at - 1);
            problems.add(new Problem(shown, l, c, "a model is one SELECT (or WITH ... SELECT) whose result becomes the table "
                    + defaults.namespace() + "." + name + "; Watershed writes the table, so leave out INSERT and CREATE"));
            return;
        }
        String withoutTrailing = code.endsWith(";") ? code.substring(0, code.length() - 1) : code;
        if (withoutTrailing.replaceAll("'(?:[^']|'')*'", "''").contains(";")) {
            problems.add(new Problem(shown, 1, 1, "model '" + name + "' has more than one statement; a model is one SELECT"));
        }
    }

    /** {@code checks/*.yaml}: a mapping of table name to its list of checks. */
    List<CheckSpec> loadChecks(Map<String, ModelSpec> models) {
        Path dir = directory.resolve("checks");
        List<CheckSpec> checks = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return checks;
        }
        Set<String> names = new HashSet<>();
        for (Path file : list(dir)) {
            String fileName = file.getFileName().toString();
            if (!fileName.endsWith(".yaml") && !fileName.endsWith(".yml")) {
                continue;
            }
            ProjectLoader.FileReader reader = loader.new FileReader(directory, file, problems);
            Optional<MappingNode> doc = reader.document();
            if (doc.isEmpty()) {
                continue;
            }
            for (NodeTuple entry : doc.get().getValue()) {
                Optional<String> table = reader.string(entry.getKeyNode());
                if (table.isEmpty()) {
                    continue;
                }
                if (!table.get().matches("[a-z][a-z0-9_]*\\.[a-z][a-z0-9_]*")) {
                    reader.problem(entry.getKeyNode(), "'" + table.get() + "' is not a table name; key each list of checks by "
                            + "its table as <namespace>.<table>, for example " + defaults.namespace() + ".daily_top");
                    continue;
                }
                Optional<List<Node>> items = reader.list(entry.getValueNode(), "the checks of " + table.get());
                for (Node item : items.orElse(List.of())) {
                    check(reader, table.get(), item).ifPresent(c -> {
                        if (!names.add(c.table() + "/" + c.name())) {
                            reader.problem(item, "a second check named '" + c.name() + "' on " + c.table() + "; give one a "
                                    + "different name:");
                        } else {
                            checks.add(c);
                        }
                    });
                }
            }
        }
        return checks;
    }

    private static final Set<String> CHECK_KEYS;

    static {
        Set<String> keys = new HashSet<>(Set.of("name", "severity"));
        for (CheckSpec.Kind kind : CheckSpec.Kind.values()) {
            keys.add(kind.key());
        }
        CHECK_KEYS = Set.copyOf(keys);
    }

    private Optional<CheckSpec> check(ProjectLoader.FileReader reader, String table, Node item) {
        Optional<MappingNode> mapping = reader.mapping(item, "a check");
        if (mapping.isEmpty()) {
            return Optional.empty();
        }
        Map<String, NodeTuple> e = reader.entries(mapping.get(), CHECK_KEYS, "a check");
        List<CheckSpec.Kind> kinds = new ArrayList<>();
        for (CheckSpec.Kind kind : CheckSpec.Kind.values()) {
            if (e.containsKey(kind.key())) {
                kinds.add(kind);
            }
        }
        if (kinds.size() != 1) {
            reader.problem(item, "a check has exactly one of " + java.util.Arrays.stream(CheckSpec.Kind.values())
                    .map(CheckSpec.Kind::key).toList() + (kinds.isEmpty() ? "" : ", this one has " + kinds.stream()
                    .map(CheckSpec.Kind::key).toList()));
            return Optional.empty();
        }
        CheckSpec.Kind kind = kinds.get(0);
        Node body = e.get(kind.key()).getValueNode();
        boolean warnOnly = false;
        if (e.containsKey("severity")) {
            Optional<String> severity = reader.string(e.get("severity").getValueNode());
            if (severity.isPresent() && !Set.of("error", "warn").contains(severity.get())) {
                reader.problem(e.get("severity").getValueNode(), "severity must be error (fails the run) or warn (reported "
                        + "only), got '" + severity.get() + "'");
            }
            warnOnly = severity.map("warn"::equals).orElse(false);
        }
        String location = reader.displayName() + ":" + (item.getStartMark().getLine() + 1) + ":" + (item.getStartMark().getColumn() + 1);
        List<String> columns = new ArrayList<>();
        List<String> values = new ArrayList<>();
        OptionalLong min = OptionalLong.empty();
        OptionalLong max = OptionalLong.empty();
        Optional<Duration> maxAge = Optional.empty();
        Optional<String> toTable = Optional.empty();
        Optional<String> toColumn = Optional.empty();
        Optional<String> sql = Optional.empty();
        int before = problems.size();
        switch (kind) {
            case NOT_NULL, UNIQUE -> reader.list(body, kind.key()).ifPresent(l -> l.forEach(n -> column(reader, n).ifPresent(columns::add)));
            case SQL -> {
                sql = reader.string(body);
                if (sql.isPresent() && !sql.get().strip().toLowerCase(Locale.ROOT).matches("(?s)(select|with)\\b.*")) {
                    reader.problem(body, "sql: write a SELECT that returns the offending rows (none when the check passes)");
                }
            }
            default -> {
                Map<String, Set<String>> keysOf = Map.of("accepted_values", Set.of("column", "values"), "row_count",
                        Set.of("min", "max"), "freshness", Set.of("column", "max_age"), "relationships", Set.of("column", "to", "field"));
                Optional<MappingNode> args = reader.mapping(body, kind.key());
                if (args.isEmpty()) {
                    return Optional.empty();
                }
                Map<String, NodeTuple> a = reader.entries(args.get(), keysOf.get(kind.key()), kind.key());
                for (String required : keysOf.get(kind.key())) {
                    if (!a.containsKey(required) && !kind.key().equals("row_count")) {
                        reader.problem(body, kind.key() + " needs '" + required + "'");
                    }
                }
                if (a.containsKey("column")) {
                    column(reader, a.get("column").getValueNode()).ifPresent(columns::add);
                }
                if (a.containsKey("values")) {
                    reader.list(a.get("values").getValueNode(), "values").ifPresent(l -> l.forEach(n -> reader.string(n)
                            .ifPresent(values::add)));
                    if (values.isEmpty()) {
                        reader.problem(a.get("values").getValueNode(), "accepted_values needs at least one value");
                    }
                }
                if (kind == CheckSpec.Kind.ROW_COUNT) {
                    if (a.isEmpty()) {
                        reader.problem(body, "row_count needs min, max or both");
                    }
                    min = a.containsKey("min") ? longValue(reader, a.get("min").getValueNode()) : OptionalLong.empty();
                    max = a.containsKey("max") ? longValue(reader, a.get("max").getValueNode()) : OptionalLong.empty();
                }
                if (a.containsKey("max_age")) {
                    maxAge = reader.convert(a.get("max_age").getValueNode(), SettingType.DURATION).map(Duration.class::cast);
                }
                if (a.containsKey("to")) {
                    toTable = reader.string(a.get("to").getValueNode());
                    if (toTable.isPresent() && !toTable.get().matches("[a-z][a-z0-9_]*\\.[a-z][a-z0-9_]*")) {
                        reader.problem(a.get("to").getValueNode(), "to: name the table as <namespace>.<table>");
                    }
                }
                if (a.containsKey("field")) {
                    toColumn = column(reader, a.get("field").getValueNode());
                }
            }
        }
        if (problems.size() != before) {
            return Optional.empty();
        }
        String name = e.containsKey("name") ? reader.string(e.get("name").getValueNode()).orElse(kind.key())
                : kind.key() + (columns.isEmpty() ? "" : "(" + String.join(",", columns) + ")");
        return Optional.of(new CheckSpec(table, name, kind, columns, values, min, max, maxAge, toTable, toColumn, sql, warnOnly,
                location));
    }

    private static Optional<String> column(ProjectLoader.FileReader reader, Node node) {
        Optional<String> name = reader.string(node);
        if (name.isPresent() && !name.get().matches("[A-Za-z_][A-Za-z0-9_]*")) {
            reader.problem(node, "'" + name.get() + "' is not a column name (letters, digits and _)");
            return Optional.empty();
        }
        return name;
    }

    private static OptionalLong longValue(ProjectLoader.FileReader reader, Node node) {
        Optional<String> text = reader.string(node);
        try {
            return text.map(t -> OptionalLong.of(Long.parseLong(t.trim().replace("_", "")))).orElse(OptionalLong.empty());
        } catch (NumberFormatException ex) {
            reader.problem(node, "expected a whole number, got '" + text.get() + "'");
            return OptionalLong.empty();
        }
    }

    private static List<Path> list(Path dir) {
        try (Stream<Path> list = Files.list(dir)) {
            return list.filter(Files::isRegularFile).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list " + dir, e);
        }
    }
}
