package io.watershed.project;

import io.watershed.spi.CheckSpec;
import io.watershed.spi.SettingType;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;

/**
 * Loads {@code checks/*.yaml}: a mapping of table name ({@code <namespace>.<table>}) to its list of checks, each
 * with exactly one kind ({@link CheckSpec.Kind}), an optional name and severity. Mistakes are added to the problems
 * with their {@code file:line:col}; a check with a mistake is left out.
 */
final class CheckLoader {
    private static final Set<String> CHECK_KEYS;

    static {
        Set<String> keys = new HashSet<>(Set.of("name", "severity"));
        for (CheckSpec.Kind kind : CheckSpec.Kind.values()) {
            keys.add(kind.key());
        }
        CHECK_KEYS = Set.copyOf(keys);
    }

    private final ProjectLoader loader;
    private final Path directory;
    private final String namespace;
    private final List<Problem> problems;

    /**
     * @param directory the project directory, absolute and normalized
     * @param namespace the models' namespace, for the example in a message
     */
    CheckLoader(ProjectLoader loader, Path directory, String namespace, List<Problem> problems) {
        this.loader = loader;
        this.directory = directory;
        this.namespace = namespace;
        this.problems = problems;
    }

    /** {@code checks/*.yaml}: a mapping of table name to its list of checks. */
    List<CheckSpec> load() {
        List<CheckSpec> checks = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (ProjectLoader.FileReader reader : loader.yamlFiles(directory, "checks", problems)) {
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
                            + "its table as <namespace>.<table>, for example " + namespace + ".daily_top");
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
            reader.problem(item, "a check has exactly one of " + Arrays.stream(CheckSpec.Kind.values())
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
}
