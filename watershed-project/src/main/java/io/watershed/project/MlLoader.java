package io.watershed.project;

import io.watershed.spi.MlSpec;
import io.watershed.spi.StreamSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;

/**
 * Loads {@code ml/*.yaml}: one trained model per file, named after it. Mistakes are added to the problems with their
 * {@code file:line:col}; a model with a mistake is left out.
 */
final class MlLoader {
    private static final Set<String> KEYS = Set.of("description", "sql", "label", "features", "algorithm", "objective", "parameters",
            "split", "metrics", "promote_if", "schedule", "max_rows");
    private static final Set<String> SPLIT_KEYS = Set.of("test_fraction", "key", "seed");
    private static final Pattern COLUMN = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Pattern PARAMETER = Pattern.compile("[a-z][a-z0-9_]*");
    /** A parameter value LightGBM reads as one token of its {@code key=value} list. */
    private static final Pattern PARAMETER_VALUE = Pattern.compile("[A-Za-z0-9_.,+\\-]+");
    /** LightGBM parameters the file sets through its own keys, or that would make the library read or write files. */
    private static final Map<String, String> RESERVED = Map.of("objective", "set it with objective: (regression or binary)",
            "task", "training is the only task", "data", "the training rows come from sql:", "valid", "the test rows come from split:",
            "input_model", "a version is trained from scratch", "output_model", "versions are kept by the registry",
            "output_result", "predictions are returned, not written", "save_binary", "the platform keeps no dataset files",
            "metric", "set the metrics with metrics:");
    private static final Pattern CONDITION = Pattern.compile("\\s*(>=|<=|>|<)\\s*(\\S+)\\s*");

    private final ProjectLoader loader;
    private final Path directory;
    private final Map<String, String> schedules;
    private final List<Problem> problems;

    /** @param schedules the named schedules of {@code watershed.yaml}: name to cron or nickname */
    MlLoader(ProjectLoader loader, Path directory, Map<String, String> schedules, List<Problem> problems) {
        this.loader = loader;
        this.directory = directory;
        this.schedules = schedules;
        this.problems = problems;
    }

    Map<String, MlSpec> load() {
        Map<String, MlSpec> models = new TreeMap<>();
        for (ProjectLoader.FileReader reader : loader.yamlFiles(directory, "ml", problems)) {
            String stem = reader.stem();
            Optional<MappingNode> doc = reader.document();
            if (doc.isEmpty()) {
                reader.problem(null, "empty ml file; declare its sql, label and objective");
                continue;
            }
            int before = reader.problemCount();
            Optional<MlSpec> model = model(reader, reader.file(), doc.get(), stem);
            if (model.isPresent() && reader.problemCount() == before) {
                if (models.containsKey(stem)) {
                    reader.problem(doc.get(), "ml model '" + stem + "' is already declared in " + models.get(stem).location());
                } else {
                    models.put(stem, model.get());
                }
            }
        }
        return models;
    }

    private Optional<MlSpec> model(ProjectLoader.FileReader reader, Path file, MappingNode doc, String stem) {
        String location = reader.displayName() + ":" + (doc.getStartMark().getLine() + 1) + ":" + (doc.getStartMark().getColumn() + 1);
        if (!StreamSpec.NAME.matcher(stem).matches()) {
            reader.problem(doc, "ml file name '" + stem + "' is not a valid model name; use " + StreamSpec.NAME_RULE);
            return Optional.empty();
        }
        Map<String, NodeTuple> e = reader.entries(doc, KEYS, "an ml model");
        Optional<String> description = e.containsKey("description") ? reader.string(e.get("description").getValueNode())
                : Optional.empty();
        Optional<String> sql = required(reader, e, "sql", doc, "the SELECT over lake tables that reads its training rows")
                .map(String::strip);
        List<String> reads = List.of();
        if (sql.isPresent()) {
            String first = sql.get().split("\\s+", 2)[0].toLowerCase(Locale.ROOT);
            if (!first.equals("select") && !first.equals("with")) {
                reader.problem(e.get("sql").getValueNode(), "sql must be a SELECT (or WITH ... SELECT) over lake tables, got '"
                        + first + " ...'");
            }
            reads = reads(sql.get());
        }
        Optional<String> label = required(reader, e, "label", doc, "the column it learns to predict").map(String::strip);
        label.filter(l -> !COLUMN.matcher(l).matches()).ifPresent(l -> reader.problem(e.get("label").getValueNode(),
                "label '" + l + "' is not a column name"));
        List<String> features = new ArrayList<>();
        if (e.containsKey("features")) {
            features = columns(reader, e.get("features").getValueNode(), "features");
            label.filter(features::contains).ifPresent(l -> reader.problem(e.get("features").getValueNode(),
                    "the label '" + l + "' is also listed as a feature; a model must not predict from its answer"));
        }
        String algorithm = "lightgbm";
        if (e.containsKey("algorithm")) {
            Node n = e.get("algorithm").getValueNode();
            Optional<String> a = reader.string(n).map(s -> s.strip().toLowerCase(Locale.ROOT));
            if (a.isPresent() && !MlSpec.ALGORITHMS.contains(a.get())) {
                reader.problem(n, "unknown algorithm '" + a.get() + "'" + ProjectLoader.suggestion(a.get(), MlSpec.ALGORITHMS)
                        + "; use one of " + new TreeSet<>(MlSpec.ALGORITHMS));
            }
            algorithm = a.orElse(algorithm);
        }
        Optional<MlSpec.Objective> objective = Optional.empty();
        Set<String> objectives = new TreeSet<>(List.of("regression", "binary"));
        if (!e.containsKey("objective")) {
            reader.problem(doc, "an ml model needs objective: one of " + objectives);
        } else {
            Node n = e.get("objective").getValueNode();
            Optional<String> o = reader.string(n).map(s -> s.strip().toLowerCase(Locale.ROOT));
            if (o.isPresent() && !objectives.contains(o.get())) {
                reader.problem(n, "unknown objective '" + o.get() + "'" + ProjectLoader.suggestion(o.get(), objectives)
                        + "; use one of " + objectives);
            } else {
                objective = o.map(v -> MlSpec.Objective.valueOf(v.toUpperCase(Locale.ROOT)));
            }
        }
        Map<String, String> parameters = e.containsKey("parameters") ? parameters(reader, e.get("parameters").getValueNode())
                : Map.of();
        MlSpec.Split split = e.containsKey("split") ? split(reader, e.get("split").getValueNode()) : MlSpec.Split.DEFAULT;
        split.key().filter(k -> label.isPresent() && k.equals(label.get())).ifPresent(k -> reader.problem(e.get("split").getValueNode(),
                "the split key '" + k + "' is the label; use a column that identifies a row (an id)"));
        split.key().filter(features::contains).ifPresent(k -> reader.problem(e.get("split").getValueNode(),
                "the split key '" + k + "' is also a feature; a row's id says nothing a model should learn from"));
        List<String> metrics = objective.map(MlSpec.Objective::metrics).orElse(List.of());
        if (e.containsKey("metrics") && objective.isPresent()) {
            metrics = metrics(reader, e.get("metrics").getValueNode(), objective.get());
        }
        List<MlSpec.Threshold> promoteIf = List.of();
        if (e.containsKey("promote_if") && objective.isPresent()) {
            promoteIf = promoteIf(reader, e.get("promote_if").getValueNode(), metrics);
        }
        Optional<String> schedule = Optional.empty();
        Optional<String> cron = Optional.empty();
        if (e.containsKey("schedule")) {
            Node n = e.get("schedule").getValueNode();
            schedule = reader.string(n).map(String::strip);
            if (schedule.isPresent()) {
                if (schedules.containsKey(schedule.get())) {
                    cron = Optional.of(Schedules.cron(schedules.get(schedule.get())));
                } else if (schedule.get().matches("[a-z][a-z0-9_]*")) {
                    reader.problem(n, "no schedule named '" + schedule.get() + "' under schedules: in watershed.yaml"
                            + (schedules.isEmpty() ? "" : " (named: " + String.join(", ", schedules.keySet()) + ")"));
                } else {
                    Optional<String> problem = Schedules.problem(schedule.get());
                    problem.ifPresent(p -> reader.problem(n, p));
                    cron = problem.isPresent() ? Optional.empty() : Optional.of(Schedules.cron(schedule.get()));
                }
            }
        }
        long maxRows = MlSpec.DEFAULT_MAX_ROWS;
        if (e.containsKey("max_rows")) {
            maxRows = reader.integer(e.get("max_rows").getValueNode(), 10, 50_000_000).orElse((int) maxRows);
        }
        if (sql.isEmpty() || label.isEmpty() || objective.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new MlSpec(stem, file, sql.get(), reads, label.get(), features, objective.get(), algorithm, parameters,
                split, metrics, promoteIf, schedule, cron, description, maxRows, location));
    }

    /** The lake tables the SQL names, {@code schema.table}; {@code committed.raw.x} counts as {@code raw.x}. */
    private static List<String> reads(String sql) {
        Set<String> tables = new LinkedHashSet<>();
        for (SqlReferences.Reference r : SqlReferences.of(sql)) {
            List<String> parts = r.parts();
            if (parts.size() == 3 && parts.get(0).equals("committed")) {
                parts = parts.subList(1, 3);
            }
            if (parts.size() == 2) {
                tables.add(parts.get(0) + "." + parts.get(1));
            }
        }
        return new ArrayList<>(tables);
    }

    private static List<String> columns(ProjectLoader.FileReader reader, Node node, String what) {
        Set<String> columns = new LinkedHashSet<>();
        for (Node column : reader.list(node, what).orElse(List.of())) {
            reader.string(column).map(String::strip).ifPresent(c -> {
                if (!COLUMN.matcher(c).matches()) {
                    reader.problem(column, what + " column '" + c + "' is not a column name");
                } else if (!columns.add(c)) {
                    reader.problem(column, what + " column '" + c + "' is listed twice");
                }
            });
        }
        if (columns.isEmpty() && node instanceof org.yaml.snakeyaml.nodes.SequenceNode) {
            reader.problem(node, what + " is empty; list the columns, or leave it out to use every column but the label");
        }
        return new ArrayList<>(columns);
    }

    private static Map<String, String> parameters(ProjectLoader.FileReader reader, Node node) {
        Map<String, String> parameters = new LinkedHashMap<>();
        reader.mapping(node, "parameters").ifPresent(m -> {
            for (NodeTuple entry : m.getValue()) {
                Optional<String> key = reader.string(entry.getKeyNode()).map(String::strip);
                Optional<String> value = reader.string(entry.getValueNode()).map(String::strip);
                if (key.isEmpty() || value.isEmpty()) {
                    continue;
                }
                if (RESERVED.containsKey(key.get())) {
                    reader.problem(entry.getKeyNode(), "parameter '" + key.get() + "' cannot be set here: " + RESERVED.get(key.get()));
                } else if (!PARAMETER.matcher(key.get()).matches()) {
                    reader.problem(entry.getKeyNode(), "parameter '" + key.get() + "' is not a LightGBM parameter name (lower case, "
                            + "digits and _, e.g. num_leaves)");
                } else if (parameters.containsKey(key.get())) {
                    reader.problem(entry.getKeyNode(), "duplicate parameter '" + key.get() + "'");
                } else if (!PARAMETER_VALUE.matcher(value.get()).matches()) {
                    reader.problem(entry.getValueNode(), "parameter " + key.get() + " has the value '" + value.get()
                            + "'; a value is a number, a word or a comma-separated list, without spaces");
                } else {
                    parameters.put(key.get(), value.get());
                }
            }
        });
        return parameters;
    }

    private static MlSpec.Split split(ProjectLoader.FileReader reader, Node node) {
        Optional<MappingNode> m = reader.mapping(node, "split");
        if (m.isEmpty()) {
            return MlSpec.Split.DEFAULT;
        }
        Map<String, NodeTuple> e = reader.entries(m.get(), SPLIT_KEYS, "split");
        double fraction = MlSpec.Split.DEFAULT.testFraction();
        if (e.containsKey("test_fraction")) {
            Node n = e.get("test_fraction").getValueNode();
            Optional<String> text = reader.string(n);
            try {
                double f = Double.parseDouble(text.orElse(String.valueOf(fraction)).strip());
                if (!(f >= 0.01 && f <= 0.9)) {
                    reader.problem(n, "test_fraction must be from 0.01 to 0.9, got " + text.get().strip());
                } else {
                    fraction = f;
                }
            } catch (NumberFormatException ex) {
                reader.problem(n, "test_fraction must be a number from 0.01 to 0.9 (the share of rows held out), got '"
                        + text.orElse("") + "'");
            }
        }
        Optional<String> key = Optional.empty();
        if (e.containsKey("key")) {
            Node n = e.get("key").getValueNode();
            key = reader.string(n).map(String::strip);
            if (key.isPresent() && !COLUMN.matcher(key.get()).matches()) {
                reader.problem(n, "split key '" + key.get() + "' is not a column name");
                key = Optional.empty();
            }
        }
        long seed = MlSpec.Split.DEFAULT.seed();
        if (e.containsKey("seed")) {
            seed = reader.integer(e.get("seed").getValueNode(), 0, Integer.MAX_VALUE).orElse((int) seed);
        }
        return new MlSpec.Split(fraction, key, seed);
    }

    private static List<String> metrics(ProjectLoader.FileReader reader, Node node, MlSpec.Objective objective) {
        Set<String> metrics = new LinkedHashSet<>();
        for (Node n : reader.list(node, "metrics").orElse(List.of())) {
            reader.string(n).map(s -> s.strip().toLowerCase(Locale.ROOT)).ifPresent(metric -> {
                if (!objective.metrics().contains(metric)) {
                    reader.problem(n, "metric '" + metric + "' does not apply to a " + objective.key() + " model"
                            + ProjectLoader.suggestion(metric, Set.copyOf(objective.metrics())) + "; use " + objective.metrics());
                } else if (!metrics.add(metric)) {
                    reader.problem(n, "metric '" + metric + "' is listed twice");
                }
            });
        }
        return metrics.isEmpty() ? objective.metrics() : new ArrayList<>(metrics);
    }

    private static List<MlSpec.Threshold> promoteIf(ProjectLoader.FileReader reader, Node node, List<String> metrics) {
        List<MlSpec.Threshold> thresholds = new ArrayList<>();
        reader.mapping(node, "promote_if").ifPresent(m -> {
            for (NodeTuple entry : m.getValue()) {
                Optional<String> metric = reader.string(entry.getKeyNode()).map(s -> s.strip().toLowerCase(Locale.ROOT));
                Optional<String> condition = reader.string(entry.getValueNode());
                if (metric.isEmpty() || condition.isEmpty()) {
                    continue;
                }
                if (!metrics.contains(metric.get())) {
                    reader.problem(entry.getKeyNode(), "promote_if names metric '" + metric.get() + "', which is not measured; "
                            + "the model's metrics are " + metrics);
                    continue;
                }
                Matcher c = CONDITION.matcher(condition.get());
                double value = Double.NaN;
                if (c.matches()) {
                    try {
                        value = Double.parseDouble(c.group(2));
                    } catch (NumberFormatException ex) {
                        value = Double.NaN;
                    }
                }
                if (!c.matches() || Double.isNaN(value) || Double.isInfinite(value)) {
                    reader.problem(entry.getValueNode(), "promote_if " + metric.get() + ": '" + condition.get().strip()
                            + "' is not a condition; write an operator (>=, >, <=, <) and a number, e.g. \">= 0.8\"");
                } else {
                    thresholds.add(new MlSpec.Threshold(metric.get(), c.group(1), value));
                }
            }
        });
        return thresholds;
    }

    private static Optional<String> required(ProjectLoader.FileReader reader, Map<String, NodeTuple> e, String key, Node at,
            String what) {
        if (!e.containsKey(key)) {
            reader.problem(at, "an ml model needs " + key + ": " + what);
            return Optional.empty();
        }
        return reader.string(e.get(key).getValueNode());
    }
}
