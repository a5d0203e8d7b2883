package io.watershed.project;

import io.watershed.spi.SettingType;
import io.watershed.spi.SourceSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;

/** Reads a stream's {@code sources:} list, reporting every mistake at its {@code file:line:col}. */
final class SourceReader {
    static final Set<String> TYPES = Set.of("forward", "file", "jdbc", "cdc", "mqtt");
    private static final Set<String> FORWARD_KEYS = Set.of("type", "tags", "tag_field", "time_field");
    private static final Set<String> FILE_KEYS = Set.of("type", "paths", "exclude", "format", "pattern", "multiline_start",
            "multiline_flush", "read_from", "path_field", "max_record_size");
    private static final Set<String> JDBC_KEYS = Set.of("type", "url", "user", "password", "table", "query", "mode", "column",
            "schedule", "batch_rows");
    private static final Set<String> CDC_KEYS = Set.of("type", "url", "user", "password", "table", "snapshot");
    private static final Set<String> MQTT_KEYS = Set.of("type", "url", "topics", "qos", "client_id", "user", "password", "format",
            "topic_field");
    static final Pattern MQTT_URL = Pattern.compile("(tcp|ssl)://[^/:\\s]+:\\d{1,5}");
    /** What a broker takes as a client id: MQTT 5 servers must take 1 to 23 of these, and mosquitto and others take more. */
    private static final Pattern CLIENT_ID = Pattern.compile("[A-Za-z0-9_.-]{1,128}");
    static final Pattern JDBC_URL = Pattern.compile("jdbc:(postgresql|mysql|mariadb)://[^/\\s]+/[^?\\s]+(\\?.*)?");
    static final Pattern QUALIFIED = Pattern.compile("[A-Za-z_][A-Za-z0-9_$]*(\\.[A-Za-z_][A-Za-z0-9_$]*)?");
    /** Fluentd tag parts: letters, digits, '_', '-', and the pattern characters. */
    private static final Pattern TAG_PATTERN = Pattern.compile("[A-Za-z0-9_\\-*{},.]+");
    private static final Pattern GROUP_NAME = Pattern.compile("\\(\\?<([a-zA-Z][a-zA-Z0-9]*)>");

    private final ProjectLoader.FileReader reader;
    private final Path projectDirectory;
    private final String projectName;
    private final String streamName;
    private int mqttSources;

    SourceReader(ProjectLoader.FileReader reader, Path projectDirectory, String projectName, String streamName) {
        this.reader = reader;
        this.projectDirectory = projectDirectory;
        this.projectName = projectName;
        this.streamName = streamName;
    }

    List<SourceSpec> read(Node node) {
        List<SourceSpec> sources = new ArrayList<>();
        if (!(node instanceof org.yaml.snakeyaml.nodes.SequenceNode sequence)) {
            reader.problem(node, "sources must be a list, each item with a type: " + new TreeSet<>(TYPES));
            return sources;
        }
        for (Node item : sequence.getValue()) {
            reader.mapping(item, "a source").flatMap(this::source).ifPresent(sources::add);
        }
        return sources;
    }

    private Optional<SourceSpec> source(MappingNode m) {
        NodeTuple typeEntry = m.getValue().stream()
                .filter(t -> t.getKeyNode() instanceof org.yaml.snakeyaml.nodes.ScalarNode s && s.getValue().equals("type"))
                .findFirst().orElse(null);
        if (typeEntry == null) {
            reader.problem(m, "a source needs a type: one of " + new TreeSet<>(TYPES));
            return Optional.empty();
        }
        Optional<String> type = reader.string(typeEntry.getValueNode());
        if (type.isEmpty()) {
            return Optional.empty();
        }
        return switch (type.get()) {
            case "forward" -> forward(reader.entries(m, FORWARD_KEYS, "a forward source"));
            case "file" -> file(reader.entries(m, FILE_KEYS, "a file source"));
            case "jdbc" -> jdbc(reader.entries(m, JDBC_KEYS, "a jdbc source"), m);
            case "cdc" -> cdc(reader.entries(m, CDC_KEYS, "a cdc source"), m);
            case "mqtt" -> mqtt(reader.entries(m, MQTT_KEYS, "an mqtt source"), m);
            default -> {
                reader.problem(typeEntry.getValueNode(), "unknown source type '" + type.get() + "'"
                        + ProjectLoader.suggestion(type.get(), TYPES) + "; use one of " + new TreeSet<>(TYPES)
                        + " (Kafka producers write to the stream's topic directly)");
                yield Optional.empty();
            }
        };
    }

    private Optional<SourceSpec> forward(Map<String, NodeTuple> e) {
        if (!e.containsKey("tags")) {
            reader.problem(null, "a forward source needs tags: the Fluentd tag patterns it takes, like [app.**]");
            return Optional.empty();
        }
        List<String> tags = new ArrayList<>();
        int before = problemsMarker();
        for (Node tagNode : reader.list(e.get("tags").getValueNode(), "tags").orElse(List.of())) {
            reader.string(tagNode).ifPresent(tag -> {
                String t = tag.trim();
                if (t.isEmpty() || !TAG_PATTERN.matcher(t).matches() || t.startsWith(".") || t.endsWith(".") || t.contains("..")) {
                    reader.problem(tagNode, "tag pattern '" + tag + "' is not valid: use dot-separated parts of letters, digits, "
                            + "'_' and '-', with * (one part), ** (any parts) or {a,b}");
                } else if (!balanced(t)) {
                    reader.problem(tagNode, "tag pattern '" + tag + "' has unbalanced braces");
                } else {
                    tags.add(t);
                }
            });
        }
        if (tags.isEmpty() && problemsMarker() == before) {
            reader.problem(e.get("tags").getValueNode(), "tags is empty; list at least one tag pattern");
        }
        Optional<String> tagField = optionalField(e, "tag_field", "tag");
        Optional<String> timeField = optionalField(e, "time_field", "time");
        return Optional.of(new SourceSpec.Forward(tags, tagField, timeField));
    }

    private Optional<SourceSpec> file(Map<String, NodeTuple> e) {
        if (!e.containsKey("paths")) {
            reader.problem(null, "a file source needs paths: glob patterns like [/var/log/app/*.log]");
            return Optional.empty();
        }
        List<String> paths = globs(e.get("paths").getValueNode(), "paths", true);
        List<String> exclude = e.containsKey("exclude") ? globs(e.get("exclude").getValueNode(), "exclude", false) : List.of();
        SourceSpec.Format format = SourceSpec.Format.LINES;
        if (e.containsKey("format")) {
            Node f = e.get("format").getValueNode();
            Optional<String> text = reader.string(f);
            if (text.isPresent()) {
                switch (text.get()) {
                    case "json" -> format = SourceSpec.Format.JSON;
                    case "regex" -> format = SourceSpec.Format.REGEX;
                    case "lines" -> format = SourceSpec.Format.LINES;
                    default -> reader.problem(f, "unknown format '" + text.get() + "'; use json, regex or lines");
                }
            }
        }
        Optional<String> pattern = Optional.empty();
        if (e.containsKey("pattern")) {
            Node p = e.get("pattern").getValueNode();
            pattern = reader.string(p).filter(regex -> compiles(p, regex));
            if (pattern.isPresent() && !GROUP_NAME.matcher(pattern.get()).find()) {
                reader.problem(p, "pattern has no named group; name the fields like (?<status>\\d+)");
                pattern = Optional.empty();
            }
            if (format != SourceSpec.Format.REGEX) {
                reader.problem(p, "pattern is only used with format: regex");
            }
        } else if (format == SourceSpec.Format.REGEX) {
            reader.problem(e.get("format").getValueNode(), "format: regex needs a pattern with named groups, like "
                    + "'^(?<ip>\\S+) (?<status>\\d{3})$'");
        }
        Optional<String> multiline = Optional.empty();
        if (e.containsKey("multiline_start")) {
            Node p = e.get("multiline_start").getValueNode();
            multiline = reader.string(p).filter(regex -> compiles(p, regex));
        }
        Duration flush = e.containsKey("multiline_flush")
                ? reader.convert(e.get("multiline_flush").getValueNode(), SettingType.DURATION).map(Duration.class::cast)
                        .orElse(Duration.ofSeconds(5))
                : Duration.ofSeconds(5);
        boolean fromBeginning = true;
        if (e.containsKey("read_from")) {
            Node r = e.get("read_from").getValueNode();
            Optional<String> text = reader.string(r);
            if (text.isPresent()) {
                switch (text.get()) {
                    case "beginning" -> fromBeginning = true;
                    case "end" -> fromBeginning = false;
                    default -> reader.problem(r, "read_from must be beginning or end, got '" + text.get() + "'");
                }
            }
        }
        Optional<String> pathField = optionalField(e, "path_field", "");
        int maxRecord = 1 << 20;
        if (e.containsKey("max_record_size")) {
            Node n = e.get("max_record_size").getValueNode();
            Optional<Long> size = reader.convert(n, SettingType.SIZE).map(Long.class::cast);
            if (size.isPresent() && (size.get() < 64 || size.get() > 900_000)) {
                reader.problem(n, "max_record_size must be from 64B to 900KB (a Kafka record holds about 1 MiB), got " + size.get());
            } else if (size.isPresent()) {
                maxRecord = (int) (long) size.get();
            }
        }
        return Optional.of(new SourceSpec.FileTail(paths, exclude, format, pattern, multiline, flush, fromBeginning, pathField,
                maxRecord));
    }

    private Optional<String> required(Map<String, NodeTuple> e, String key, Node at, String what) {
        if (!e.containsKey(key)) {
            reader.problem(at, what + " needs " + key);
            return Optional.empty();
        }
        return reader.string(e.get(key).getValueNode()).map(String::trim);
    }

    private Optional<String> url(Map<String, NodeTuple> e, Node at, String what) {
        Optional<String> url = required(e, "url", at, what);
        if (url.isPresent() && !JDBC_URL.matcher(url.get()).matches()) {
            reader.problem(e.get("url").getValueNode(), "url '" + url.get() + "' is not a JDBC URL of a database; use "
                    + "jdbc:postgresql://host:5432/db, jdbc:mysql://host:3306/db or jdbc:mariadb://host:3306/db");
            return Optional.empty();
        }
        return url;
    }

    private Optional<SourceSpec> jdbc(Map<String, NodeTuple> e, MappingNode at) {
        Optional<String> url = url(e, at, "a jdbc source");
        Optional<String> user = required(e, "user", at, "a jdbc source");
        io.watershed.spi.Secret password = io.watershed.spi.Secret.of(e.containsKey("password")
                ? reader.string(e.get("password").getValueNode()).orElse("") : "");
        Optional<String> table = e.containsKey("table") ? reader.string(e.get("table").getValueNode()).map(String::trim) : Optional.empty();
        Optional<String> query = e.containsKey("query") ? reader.string(e.get("query").getValueNode()).map(String::trim) : Optional.empty();
        if (table.isPresent() == query.isPresent()) {
            reader.problem(at, "a jdbc source needs either table (schema.table) or query (a SELECT), not both");
        }
        if (table.isPresent() && !QUALIFIED.matcher(table.get()).matches()) {
            reader.problem(e.get("table").getValueNode(), "table '" + table.get() + "' is not a table name; write schema.table or table");
        }
        if (query.isPresent() && !query.get().regionMatches(true, 0, "select", 0, 6)) {
            reader.problem(e.get("query").getValueNode(), "query must be a SELECT");
        }
        SourceSpec.ImportMode mode = SourceSpec.ImportMode.INCREMENTAL;
        if (e.containsKey("mode")) {
            Node n = e.get("mode").getValueNode();
            Optional<String> text = reader.string(n);
            if (text.isPresent()) {
                switch (text.get()) {
                    case "full" -> mode = SourceSpec.ImportMode.FULL;
                    case "incremental" -> mode = SourceSpec.ImportMode.INCREMENTAL;
                    default -> reader.problem(n, "mode must be full or incremental, got '" + text.get() + "'");
                }
            }
        }
        Optional<String> column = e.containsKey("column") ? reader.string(e.get("column").getValueNode()).map(String::trim)
                : Optional.empty();
        if (mode == SourceSpec.ImportMode.INCREMENTAL && column.isEmpty()) {
            reader.problem(at, "an incremental jdbc source needs column: the monotonically increasing column (an id or a "
                    + "timestamp) that tells new rows; or use mode: full");
        }
        if (column.isPresent() && !QUALIFIED.matcher(column.get()).matches()) {
            reader.problem(e.get("column").getValueNode(), "column '" + column.get() + "' is not a column name");
        }
        String schedule = "@hourly";
        if (e.containsKey("schedule")) {
            Node n = e.get("schedule").getValueNode();
            Optional<String> text = reader.string(n);
            if (text.isPresent()) {
                Optional<String> problem = Schedules.problem(text.get());
                if (problem.isPresent()) {
                    reader.problem(n, problem.get());
                } else {
                    schedule = text.get();
                }
            }
        }
        int batchRows = 10_000;
        if (e.containsKey("batch_rows")) {
            batchRows = reader.integer(e.get("batch_rows").getValueNode(), 1, 1_000_000).orElse(batchRows);
        }
        if (url.isEmpty() || user.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new SourceSpec.Jdbc(url.get(), user.get(), password, table, query, mode, column,
                Schedules.cron(schedule), batchRows));
    }

    private Optional<SourceSpec> cdc(Map<String, NodeTuple> e, MappingNode at) {
        Optional<String> url = url(e, at, "a cdc source");
        Optional<String> user = required(e, "user", at, "a cdc source");
        io.watershed.spi.Secret password = io.watershed.spi.Secret.of(e.containsKey("password")
                ? reader.string(e.get("password").getValueNode()).orElse("") : "");
        Optional<String> table = required(e, "table", at, "a cdc source");
        if (table.isPresent() && !(QUALIFIED.matcher(table.get()).matches() && table.get().contains("."))) {
            reader.problem(e.get("table").getValueNode(), "table '" + table.get() + "' must be schema.table (PostgreSQL) or "
                    + "database.table (MySQL, MariaDB)");
            table = Optional.empty();
        }
        boolean snapshot = true;
        if (e.containsKey("snapshot")) {
            Node n = e.get("snapshot").getValueNode();
            Optional<String> text = reader.string(n);
            if (text.isPresent()) {
                switch (text.get()) {
                    case "initial" -> snapshot = true;
                    case "never" -> snapshot = false;
                    default -> reader.problem(n, "snapshot must be initial (read the current rows first) or never, got '"
                            + text.get() + "'");
                }
            }
        }
        if (url.isEmpty() || user.isEmpty() || table.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new SourceSpec.Cdc(url.get(), user.get(), password, table.get(), snapshot));
    }

    private Optional<SourceSpec> mqtt(Map<String, NodeTuple> e, MappingNode at) {
        int index = ++mqttSources;
        Optional<String> url = required(e, "url", at, "an mqtt source");
        if (url.isPresent() && !MQTT_URL.matcher(url.get()).matches()) {
            reader.problem(e.get("url").getValueNode(), "url '" + url.get() + "' is not a broker address; use tcp://host:1883 "
                    + "or ssl://host:8883");
            url = Optional.empty();
        }
        List<String> topics = new ArrayList<>();
        if (!e.containsKey("topics")) {
            reader.problem(at, "an mqtt source needs topics: the topic filters it subscribes to, like [sensors/+/temperature]");
        } else {
            int before = problemsMarker();
            for (Node t : reader.list(e.get("topics").getValueNode(), "topics").orElse(List.of())) {
                reader.string(t).ifPresent(filter -> topicFilter(t, filter).ifPresent(topics::add));
            }
            if (topics.isEmpty() && problemsMarker() == before) {
                reader.problem(e.get("topics").getValueNode(), "topics is empty; list at least one topic filter");
            }
        }
        int qos = 1;
        if (e.containsKey("qos")) {
            Node n = e.get("qos").getValueNode();
            Optional<Long> value = reader.convert(n, SettingType.INTEGER).map(Long.class::cast);
            if (value.isPresent() && value.get() != 1 && value.get() != 2) {
                reader.problem(n, "qos must be 1 or 2 (0 loses the messages sent while Watershed is away), got " + value.get());
            } else if (value.isPresent()) {
                qos = (int) (long) value.get();
            }
        }
        String clientId = ("watershed-" + projectName + "-" + streamName + (index > 1 ? "-" + index : ""))
                .replaceAll("[^A-Za-z0-9_.-]", "_");
        if (e.containsKey("client_id")) {
            Node n = e.get("client_id").getValueNode();
            Optional<String> id = reader.string(n).map(String::trim);
            if (id.isPresent() && !CLIENT_ID.matcher(id.get()).matches()) {
                reader.problem(n, "client_id '" + id.get() + "' must be 1 to 128 letters, digits, '_', '-' or '.'");
            } else if (id.isPresent()) {
                clientId = id.get();
            }
        }
        Optional<String> user = e.containsKey("user") ? reader.string(e.get("user").getValueNode()).map(String::trim)
                .filter(u -> !u.isEmpty()) : Optional.empty();
        io.watershed.spi.Secret password = io.watershed.spi.Secret.of(e.containsKey("password")
                ? reader.string(e.get("password").getValueNode()).orElse("") : "");
        if (!password.isEmpty() && user.isEmpty()) {
            reader.problem(e.get("password").getValueNode(), "a password needs its user");
        }
        if (e.containsKey("format")) {
            Node f = e.get("format").getValueNode();
            reader.string(f).filter(text -> !text.equals("json")).ifPresent(text -> reader.problem(f, "unknown format '" + text
                    + "'; an mqtt source takes json (one JSON object per message)"));
        }
        Optional<String> topicField = optionalField(e, "topic_field", "topic");
        if (url.isEmpty() || topics.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new SourceSpec.Mqtt(url.get(), topics, qos, clientId, user, password, topicField));
    }

    /** An MQTT topic filter: levels split by '/', '+' alone in its level, '#' alone in the last. */
    private Optional<String> topicFilter(Node node, String filter) {
        String f = filter.trim();
        String[] levels = f.split("/", -1);
        for (int i = 0; i < levels.length; i++) {
            String level = levels[i];
            if ((level.contains("+") && !level.equals("+")) || (level.contains("#") && !(level.equals("#") && i == levels.length - 1))) {
                reader.problem(node, "topic filter '" + filter + "' is not valid: '+' must fill a whole level and '#' the last "
                        + "one, as in sensors/+/temperature or sensors/#");
                return Optional.empty();
            }
        }
        if (f.isEmpty() || f.startsWith("$")) {
            reader.problem(node, "topic filter '" + filter + "' is not valid: " + (f.isEmpty() ? "it is empty"
                    : "topics starting with $ are the broker's own"));
            return Optional.empty();
        }
        return Optional.of(f);
    }

    private List<String> globs(Node node, String what, boolean resolve) {
        List<String> globs = new ArrayList<>();
        int before = problemsMarker();
        for (Node g : reader.list(node, what).orElse(List.of())) {
            reader.string(g).ifPresent(text -> {
                String glob = text.trim();
                if (glob.isEmpty()) {
                    reader.problem(g, what + " entries must not be empty");
                } else if (Path.of(glob.replace("*", "x").replace("?", "x")).normalize().toString().contains("..")
                        || List.of(glob.split("/")).contains("..")) {
                    reader.problem(g, "'" + glob + "' must not contain '..'; write the directory it means");
                } else if (resolve && !glob.startsWith("/")) {
                    globs.add(projectDirectory.toAbsolutePath().normalize().resolve(glob).toString());
                } else {
                    globs.add(glob);
                }
            });
        }
        if (globs.isEmpty() && resolve && problemsMarker() == before) {
            reader.problem(node, what + " is empty; list at least one glob pattern");
        }
        return globs;
    }

    private Optional<String> optionalField(Map<String, NodeTuple> e, String key, String defaultName) {
        if (!e.containsKey(key)) {
            return defaultName.isEmpty() ? Optional.empty() : Optional.of(defaultName);
        }
        Node n = e.get(key).getValueNode();
        Optional<String> name = reader.string(n).map(String::trim);
        if (name.isEmpty() || name.get().isEmpty()) {
            return Optional.empty();
        }
        if (io.watershed.spi.StreamSpec.RESERVED_FIELDS.contains(name.get())) {
            reader.problem(n, key + " '" + name.get() + "' is reserved for provenance columns");
            return Optional.empty();
        }
        return name;
    }

    private boolean compiles(Node node, String regex) {
        try {
            Pattern.compile(regex);
            return true;
        } catch (PatternSyntaxException ex) {
            reader.problem(node, "not a valid regular expression: " + ex.getDescription() + " near index " + ex.getIndex());
            return false;
        }
    }

    private static boolean balanced(String pattern) {
        int depth = 0;
        for (char c : pattern.toCharArray()) {
            depth += c == '{' ? 1 : c == '}' ? -1 : 0;
            if (depth < 0 || depth > 1) {
                return false;
            }
        }
        return depth == 0;
    }

    private int problemsMarker() {
        return reader.problemCount();
    }
}
