package io.watershed.project;

import io.watershed.spi.ModelSpec;
import io.watershed.spi.ModelSpec.Grain;
import io.watershed.spi.ModelSpec.Materialization;
import io.watershed.spi.SettingType;
import io.watershed.spi.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;

/**
 * The settings of one model: the leading {@code -- key: value} comment lines of {@code models/<name>.sql} and
 * {@code models/<name>.yaml} beside it (a key in one place only), checked and bound to a {@link ModelSpec.Config}
 * with the {@code models:} defaults of {@code watershed.yaml}. Mistakes are added to the problems with their
 * {@code file:line:col}.
 */
final class ModelSettings {
    static final Set<String> KEYS = Set.of("materialized", "partition_by", "grain", "schedule", "catchup", "retries",
            "retry_delay", "timeout", "description", "retention");
    private static final Pattern HEADER_LINE = Pattern.compile("--\\s*([A-Za-z_][A-Za-z0-9_]*)\\s*:\\s*(.*?)\\s*");

    private final ProjectLoader loader;
    private final Path directory;
    private final Settings.Models defaults;
    private final Map<String, String> schedules;
    private final List<Problem> problems;

    /** A setting as written, with where: {@code file:line:col}. */
    private record Setting(String value, String file, int line, int column) {}

    /**
     * @param directory the project directory, absolute and normalized
     * @param schedules the named schedules of {@code watershed.yaml}: name to cron or nickname
     */
    ModelSettings(ProjectLoader loader, Path directory, Settings.Models defaults, Map<String, String> schedules,
            List<Problem> problems) {
        this.loader = loader;
        this.directory = directory;
        this.defaults = defaults;
        this.schedules = schedules;
        this.problems = problems;
    }

    /**
     * The settings of model {@code name}, from its SQL's header and, when present, {@code yaml}.
     *
     * @param shown the SQL file as problems name it
     */
    ModelSpec.Config read(String name, String shown, String text, Path yaml) {
        Map<String, Setting> settings = header(text, shown);
        if (Files.isRegularFile(yaml)) {
            besides(yaml, settings);
        }
        return config(name, shown, settings);
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
                            + "; allowed: " + new TreeSet<>(KEYS)));
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
}
