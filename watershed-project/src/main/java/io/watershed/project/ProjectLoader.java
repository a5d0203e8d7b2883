package io.watershed.project;

import io.watershed.spi.CheckSpec;
import io.watershed.spi.ModelSpec;
import io.watershed.spi.PipelineSpec;
import io.watershed.spi.Project;
import io.watershed.spi.SearchSpec;
import io.watershed.spi.SettingType;
import io.watershed.spi.Settings;
import io.watershed.spi.SettingsSchema;
import io.watershed.spi.SourceSpec;
import io.watershed.spi.StreamSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;

/**
 * Loads a project folder ({@code watershed.yaml}, {@code streams/*.yaml}, {@code sinks/*.yaml}, ...) into an immutable
 * {@link Project}. Validates everything before returning: unknown keys, wrong types, unresolvable
 * {@code ${VAR}} references and bad references between files are all collected, and reported
 * together as {@code file:line:col: message} in a {@link ProjectInvalidException}.
 */
public final class ProjectLoader {
    public static final String PROJECT_FILE = "watershed.yaml";
    public static final Set<String> FIELD_TYPES = Set.of("string", "int", "long", "double", "boolean", "timestamp", "json");
    /** The sections a profile may override: every settings section. */
    private static final Set<String> SECTIONS = Set.copyOf(SettingsSchema.PLATFORM.sections());
    private static final Set<String> TOP_LEVEL = union(SECTIONS, Set.of("name", "profile", "profiles", "schedules"));
    private static final Set<String> STREAM_KEYS =
            Set.of("name", "description", "partitions", "key", "event_time", "lateness", "retention", "fields",
                    "retention_size", "lake_retention", "dlq_retention", "target_file_size", "sources", "search");
    private static final Set<String> SEARCH_KEYS = Set.of("text", "keywords", "retention");

    private final Map<String, String> environment;

    public ProjectLoader(Map<String, String> environment) {
        this.environment = environment;
    }

    public static ProjectLoader withSystemEnvironment() {
        return new ProjectLoader(System.getenv());
    }

    /** Loads and validates; {@code profileOverride} (may be null) wins over the file's {@code profile}. */
    public Project load(Path directory, String profileOverride) {
        List<Problem> problems = new ArrayList<>();
        Path projectFile = directory.resolve(PROJECT_FILE);
        if (!Files.isRegularFile(projectFile)) {
            problems.add(new Problem(projectFile.toString(), 1, 1,
                    "no " + PROJECT_FILE + " here; run 'watershed init' or pass --project DIR"));
            throw new ProjectInvalidException(problems);
        }
        FileReader root = new FileReader(directory, projectFile, problems);
        Optional<MappingNode> doc = root.document();
        Map<String, Object> values = new HashMap<>();
        Map<String, Map<String, Object>> profileBodies = new TreeMap<>();
        Map<String, String> schedules = new TreeMap<>();
        String name = directory.toAbsolutePath().normalize().getFileName().toString();
        String profile = "local";
        if (doc.isPresent()) {
            Map<String, NodeTuple> top = root.entries(doc.get(), TOP_LEVEL, "watershed.yaml");
            if (top.containsKey("name")) {
                name = root.string(top.get("name").getValueNode()).orElse(name);
            }
            if (top.containsKey("profile")) {
                profile = root.string(top.get("profile").getValueNode()).orElse(profile);
            }
            if (profileOverride != null) {
                profile = profileOverride;
            }
            root.readSections(top, values);
            if (top.containsKey("schedules")) {
                root.mapping(top.get("schedules").getValueNode(), "schedules").ifPresent(m -> {
                    for (NodeTuple entry : m.getValue()) {
                        Optional<String> scheduleName = root.string(entry.getKeyNode());
                        Optional<String> cron = root.string(entry.getValueNode());
                        if (scheduleName.isPresent() && cron.isPresent()) {
                            Optional<String> problem = Schedules.problem(cron.get());
                            if (problem.isPresent()) {
                                root.problem(entry.getValueNode(), "schedule '" + scheduleName.get() + "': " + problem.get());
                            } else if (!StreamSpec.NAME.matcher(scheduleName.get()).matches()) {
                                root.problem(entry.getKeyNode(), "schedule name '" + scheduleName.get() + "' is not valid: use "
                                        + StreamSpec.NAME_RULE);
                            } else {
                                schedules.put(scheduleName.get(), cron.get().trim());
                            }
                        }
                    }
                });
            }
            if (top.containsKey("profiles")) {
                root.mapping(top.get("profiles").getValueNode(), "profiles").ifPresent(profiles -> {
                    for (NodeTuple entry : profiles.getValue()) {
                        root.string(entry.getKeyNode()).ifPresent(profileName -> root
                                .mapping(entry.getValueNode(), "profile " + profileName)
                                .ifPresent(body -> {
                                    Map<String, Object> overrides = new HashMap<>();
                                    root.readSections(root.entries(body, SECTIONS, "profile " + profileName), overrides);
                                    profileBodies.put(profileName, overrides);
                                }));
                    }
                });
            }
        } else if (profileOverride != null) {
            profile = profileOverride;
        }
        Map<String, Object> profileValues = profileBodies.get(profile);
        if (profileValues != null) {
            values.putAll(profileValues);
        } else if (!profile.equals("local") && !profileBodies.isEmpty()) {
            problems.add(new Problem(projectFile.toString(), 1, 1,
                    "profile '" + profile + "' is not defined under profiles: (defined: " + profileBodies.keySet() + ")"));
        }

        Settings settings = bind(values, profile);
        settings.bus().problems().forEach(p -> problems.add(new Problem(projectFile.toString(), 1, 1, p)));
        settings.metadata().problems().forEach(p -> problems.add(new Problem(projectFile.toString(), 1, 1, p)));
        settings.lake().problems().forEach(p -> problems.add(new Problem(projectFile.toString(), 1, 1, p)));
        settings.alerts().problems().forEach(p -> problems.add(new Problem(projectFile.toString(), 1, 1, p)));
        Map<String, StreamSpec> streams = loadStreams(directory, name, settings, problems);
        Map<String, PipelineSpec> pipelines = loadPipelines(directory, problems);
        ModelLoader models = new ModelLoader(this, directory, settings.models(), schedules, problems);
        Map<String, ModelSpec> modelSpecs = models.load(streams, pipelines);
        List<CheckSpec> checks = new CheckLoader(this, directory.toAbsolutePath().normalize(), settings.models().namespace(), problems)
                .load();
        Map<String, io.watershed.spi.SinkSpec> sinks = new SinkLoader(this, directory.toAbsolutePath().normalize(), problems).load();
        Map<String, io.watershed.spi.MlSpec> ml = new MlLoader(this, directory.toAbsolutePath().normalize(), schedules, problems).load();
        problems.addAll(boards(directory).problems());
        if (!problems.isEmpty()) {
            throw new ProjectInvalidException(problems);
        }
        return new Project(directory.toAbsolutePath().normalize(), name, profile, settings, streams, pipelines, modelSpecs, checks,
                schedules, sinks, ml);
    }

    /** The saved queries and dashboards in the project directory now, with their problems (the console rereads them). */
    public Boards boards(Path directory) {
        return new BoardLoader(this, directory).load();
    }

    /** Writes {@code queries/<name>.sql} (replacing it), so the query lives in the project's git. */
    public static Path saveQuery(Path directory, String name, String title, Optional<Boards.Chart> chart, String sql) throws IOException {
        if (!Boards.NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("query name '" + name + "' is not valid: use lower-case letters, digits and _ (at most 64)");
        }
        if (sql.isBlank()) {
            throw new IllegalArgumentException("query '" + name + "' has no SQL");
        }
        Path dir = Files.createDirectories(directory.resolve("queries"));
        Path file = dir.resolve(name + ".sql");
        Path temp = Files.createTempFile(dir, "." + name, ".tmp");
        try {
            Files.writeString(temp, BoardLoader.queryFile(title, chart, sql), StandardCharsets.UTF_8);
            Files.move(temp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temp);
        }
        return file;
    }

    /**
     * What may be wrong but cannot be known without the lake: tables models read that no stream, pipeline or
     * model of the project makes, as {@code file:line:col: message}.
     */
    public static List<Problem> warnings(Project project) {
        return ModelDag.warnings(project);
    }

    private static Settings bind(Map<String, Object> values, String profile) {
        return SettingsSchema.PLATFORM.bind(values, profile);
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> all = new java.util.HashSet<>(a);
        all.addAll(b);
        return Set.copyOf(all);
    }

    /** {@code pipelines/*.sql}: one pipeline per file, named after it. The SQL is checked by the stream part. */
    private static Map<String, PipelineSpec> loadPipelines(Path directory, List<Problem> problems) {
        Map<String, PipelineSpec> pipelines = new java.util.TreeMap<>();
        Path dir = directory.resolve("pipelines");
        if (!Files.isDirectory(dir)) {
            return pipelines;
        }
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.filter(p -> p.toString().endsWith(".sql")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list " + dir, e);
        }
        for (Path file : files) {
            String fileName = file.getFileName().toString();
            String name = fileName.substring(0, fileName.length() - ".sql".length());
            String shown = directory.relativize(file).toString();
            if (!StreamSpec.NAME.matcher(name).matches()) {
                problems.add(new Problem(shown, 1, 1, "pipeline file name '" + name + "' is not a valid pipeline name; use "
                        + StreamSpec.NAME_RULE));
                continue;
            }
            try {
                String sql = Files.readString(file);
                if (sql.isBlank()) {
                    problems.add(new Problem(shown, 1, 1, "pipeline '" + name + "' is empty; write an INSERT INTO or a "
                            + "CREATE LIVE VIEW statement"));
                    continue;
                }
                pipelines.put(name, new PipelineSpec(name, file.toAbsolutePath().normalize(), sql));
            } catch (IOException e) {
                problems.add(new Problem(shown, 1, 1, "cannot read: " + e.getMessage()));
            }
        }
        return pipelines;
    }

    private Map<String, StreamSpec> loadStreams(Path directory, String projectName, Settings settings, List<Problem> problems) {
        Map<String, StreamSpec> streams = new LinkedHashMap<>();
        Map<String, String> declaredIn = new HashMap<>();
        Map<String, String> tagOwners = new HashMap<>();
        Map<String, String> capturedBy = new HashMap<>();
        Path streamsDir = directory.resolve("streams");
        if (!Files.isDirectory(streamsDir)) {
            return streams;
        }
        List<Path> files;
        try (Stream<Path> list = Files.list(streamsDir)) {
            files = list.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list " + streamsDir, e);
        }
        for (Path file : files) {
            FileReader reader = new FileReader(directory, file, problems);
            String fileStem = file.getFileName().toString().replaceFirst("\\.ya?ml$", "");
            Optional<MappingNode> doc = reader.document();
            if (doc.isEmpty()) {
                reader.problem(null, "empty stream file; declare at least 'name: " + fileStem + "'");
                continue;
            }
            Map<String, NodeTuple> e = reader.entries(doc.get(), STREAM_KEYS, "a stream");
            String name = fileStem;
            if (e.containsKey("name")) {
                Node nameNode = e.get("name").getValueNode();
                name = reader.string(nameNode).orElse(fileStem);
                if (!name.equals(fileStem)) {
                    reader.problem(nameNode, "stream name '" + name + "' does not match its file name '"
                            + file.getFileName() + "'; rename one of them");
                }
            }
            if (!StreamSpec.NAME.matcher(name).matches()) {
                reader.problem(e.containsKey("name") ? e.get("name").getValueNode() : null,
                        "stream name '" + name + "' is not valid: use " + StreamSpec.NAME_RULE);
                continue;
            }
            if (declaredIn.containsKey(name)) {
                reader.problem(doc.get(), "stream '" + name + "' is already declared in " + declaredIn.get(name));
                continue;
            }
            declaredIn.put(name, directory.relativize(file).toString());
            int partitions = e.containsKey("partitions")
                    ? reader.integer(e.get("partitions").getValueNode(), 1, 10_000).orElse(settings.ingest().defaultPartitions())
                    : settings.ingest().defaultPartitions();
            Optional<String> key = e.containsKey("key") ? reader.string(e.get("key").getValueNode()) : Optional.empty();
            Optional<String> eventTime =
                    e.containsKey("event_time") ? reader.string(e.get("event_time").getValueNode()) : Optional.empty();
            Optional<Duration> retention = e.containsKey("retention")
                    ? reader.convert(e.get("retention").getValueNode(), SettingType.DURATION).map(Duration.class::cast)
                    : Optional.empty();
            Duration lateness = e.containsKey("lateness")
                    ? reader.convert(e.get("lateness").getValueNode(), SettingType.DURATION).map(Duration.class::cast)
                            .orElse(StreamSpec.DEFAULT_LATENESS)
                    : StreamSpec.DEFAULT_LATENESS;
            if (e.containsKey("description")) {
                reader.string(e.get("description").getValueNode());
            }
            Map<String, String> fields = new LinkedHashMap<>();
            if (e.containsKey("fields")) {
                reader.mapping(e.get("fields").getValueNode(), "fields").ifPresent(m -> {
                    for (NodeTuple field : m.getValue()) {
                        Optional<String> fieldName = reader.string(field.getKeyNode());
                        Optional<String> type = reader.string(field.getValueNode());
                        if (fieldName.isPresent() && StreamSpec.RESERVED_FIELDS.contains(fieldName.get())) {
                            reader.problem(field.getKeyNode(), "field name '" + fieldName.get() + "' is reserved for "
                                    + "provenance columns " + new java.util.TreeSet<>(StreamSpec.RESERVED_FIELDS));
                        }
                        if (fieldName.isPresent() && type.isPresent()) {
                            if (!FIELD_TYPES.contains(type.get())) {
                                reader.problem(field.getValueNode(), "unknown type '" + type.get() + "' for field '"
                                        + fieldName.get() + "'; expected one of " + new java.util.TreeSet<>(FIELD_TYPES));
                            }
                            fields.put(fieldName.get(), type.get());
                        }
                    }
                });
            }
            if (!fields.isEmpty()) {
                checkReference(reader, e, "key", key, fields);
                checkReference(reader, e, "event_time", eventTime, fields);
            }
            if (eventTime.isPresent() && fields.containsKey(eventTime.get())
                    && !Set.of("timestamp", "long", "string").contains(fields.get(eventTime.get()))) {
                reader.problem(e.get("event_time").getValueNode(), "event_time field '" + eventTime.get()
                        + "' has type " + fields.get(eventTime.get()) + "; it must be timestamp, long (epoch millis) or string");
            }
            StreamSpec.Lifecycle lifecycle = new StreamSpec.Lifecycle(
                    e.containsKey("retention_size")
                            ? reader.convert(e.get("retention_size").getValueNode(), SettingType.SIZE).map(Long.class::cast)
                            : Optional.empty(),
                    e.containsKey("lake_retention")
                            ? reader.convert(e.get("lake_retention").getValueNode(), SettingType.DURATION).map(Duration.class::cast)
                            : Optional.empty(),
                    e.containsKey("dlq_retention")
                            ? reader.convert(e.get("dlq_retention").getValueNode(), SettingType.DURATION).map(Duration.class::cast)
                            : Optional.empty(),
                    e.containsKey("target_file_size")
                            ? reader.convert(e.get("target_file_size").getValueNode(), SettingType.SIZE).map(Long.class::cast)
                            : Optional.empty());
            List<SourceSpec> sources = e.containsKey("sources")
                    ? new SourceReader(reader, directory, projectName, name).read(e.get("sources").getValueNode())
                    : List.of();
            for (SourceSpec source : sources) {
                if (source instanceof SourceSpec.Cdc cdc) {
                    String owner = capturedBy.putIfAbsent(cdc.url() + " " + cdc.table(), name);
                    if (owner != null && !owner.equals(name)) {
                        reader.problem(e.get("sources").getValueNode(), "table " + cdc.table() + " of " + cdc.url()
                                + " is already captured by stream '" + owner + "'; capture each table into one stream");
                    }
                }
                if (source instanceof SourceSpec.Forward forward) {
                    for (String tag : forward.tags()) {
                        String owner = tagOwners.putIfAbsent(tag, name);
                        if (owner != null && !owner.equals(name)) {
                            reader.problem(e.get("sources").getValueNode(), "tag pattern '" + tag + "' is already taken by stream '"
                                    + owner + "'; an event goes to one stream, so give each pattern to one");
                        }
                    }
                }
            }
            if (key.isEmpty() && sources.stream().anyMatch(s -> s instanceof SourceSpec.Cdc)) {
                reader.problem(e.get("sources").getValueNode(), "a stream with a cdc source needs key: the table's primary key "
                        + "column, which state." + name + " is kept by");
            }
            Optional<SearchSpec> search = e.containsKey("search") ? search(reader, e.get("search").getValueNode(), fields)
                    : Optional.empty();
            streams.put(name, new StreamSpec(name, partitions, key, eventTime, lateness, retention, fields, lifecycle, sources,
                    search));
        }
        return streams;
    }

    /**
     * A stream's {@code search:} mapping: {@code text} and {@code keywords} list the fields the index searches (at least
     * one between them, none in both, none reserved, each declared when the stream declares fields), {@code retention}
     * how long events stay searchable.
     */
    private static Optional<SearchSpec> search(FileReader reader, Node node, Map<String, String> declared) {
        Optional<MappingNode> m = reader.mapping(node, "search");
        if (m.isEmpty()) {
            return Optional.empty();
        }
        int before = reader.problemCount();
        Map<String, NodeTuple> e = reader.entries(m.get(), SEARCH_KEYS, "search");
        List<String> text = searchFields(reader, e, "text", declared);
        List<String> keywords = searchFields(reader, e, "keywords", declared);
        for (String field : text) {
            if (keywords.contains(field)) {
                reader.problem(e.get("keywords").getValueNode(), "field '" + field + "' is in both search.text and search.keywords; "
                        + "a field is indexed one way");
            }
        }
        if (text.isEmpty() && keywords.isEmpty() && reader.problemCount() == before) {
            reader.problem(node, "search lists no fields; name the fields to index under text (analysed into words) and/or "
                    + "keywords (kept whole), e.g. search: {text: [message], keywords: [level]}");
        }
        Optional<Duration> retention = e.containsKey("retention")
                ? reader.convert(e.get("retention").getValueNode(), SettingType.DURATION).map(Duration.class::cast)
                : Optional.empty();
        return reader.problemCount() == before ? Optional.of(new SearchSpec(text, keywords, retention)) : Optional.empty();
    }

    private static List<String> searchFields(FileReader reader, Map<String, NodeTuple> e, String key, Map<String, String> declared) {
        List<String> fields = new java.util.ArrayList<>();
        if (!e.containsKey(key)) {
            return fields;
        }
        for (Node item : reader.list(e.get(key).getValueNode(), "search." + key).orElse(List.of())) {
            reader.string(item).map(String::trim).ifPresent(field -> {
                if (field.isEmpty()) {
                    reader.problem(item, "search." + key + " entries must not be empty");
                } else if (StreamSpec.RESERVED_FIELDS.contains(field)) {
                    reader.problem(item, "field '" + field + "' is a provenance column, not an event field; it cannot be searched "
                            + "as " + key);
                } else if (io.watershed.spi.SearchSpec.INDEX_FIELDS.contains(field)) {
                    reader.problem(item, "field '" + field + "' has the name of one of the index's own fields "
                            + io.watershed.spi.SearchSpec.INDEX_FIELDS + "; it cannot be searched as " + key);
                } else if (!declared.isEmpty() && !declared.containsKey(field)) {
                    reader.problem(item, "search." + key + " names field '" + field + "', which is not among the declared fields "
                            + declared.keySet());
                } else if (fields.contains(field)) {
                    reader.problem(item, "field '" + field + "' is listed twice in search." + key);
                } else {
                    fields.add(field);
                }
            });
        }
        return fields;
    }

    private static void checkReference(FileReader reader, Map<String, NodeTuple> e, String what, Optional<String> field,
            Map<String, String> fields) {
        if (field.isPresent() && !fields.containsKey(field.get())) {
            reader.problem(e.get(what).getValueNode(), what + " refers to field '" + field.get()
                    + "', which is not among the declared fields " + fields.keySet());
        }
    }

    /** Reads one YAML file, recording problems with positions relative to the project folder. */
    /**
     * A reader of each YAML file ({@code .yaml} or {@code .yml}) in the project's {@code folder}, in name order; none when
     * the folder does not exist.
     */
    List<FileReader> yamlFiles(Path projectDir, String folder, List<Problem> problems) {
        Path dir = projectDir.resolve(folder);
        List<FileReader> readers = new ArrayList<>();
        if (Files.isDirectory(dir)) {
            for (Path file : ModelLoader.regularFiles(dir)) {
                String name = file.getFileName().toString();
                if (name.endsWith(".yaml") || name.endsWith(".yml")) {
                    readers.add(new FileReader(projectDir, file, problems));
                }
            }
        }
        return readers;
    }

    final class FileReader {
        private final String displayName;
        private final Path file;
        private final List<Problem> problems;
        private final Interpolator interpolator = new Interpolator(environment);

        FileReader(Path projectDir, Path file, List<Problem> problems) {
            this.file = file;
            this.displayName = projectDir.relativize(file).toString();
            this.problems = problems;
        }

        Path file() {
            return file;
        }

        /** The file's name without its extension: the name of what it declares. */
        String stem() {
            return file.getFileName().toString().replaceFirst("\\.ya?ml$", "");
        }

        Optional<MappingNode> document() {
            String text;
            try {
                text = Files.readString(file, StandardCharsets.UTF_8);
            } catch (IOException e) {
                problems.add(new Problem(displayName, 1, 1, "cannot read file: " + e.getMessage()));
                return Optional.empty();
            }
            Node node;
            try {
                node = new Yaml(new LoaderOptions()).compose(new java.io.StringReader(text));
            } catch (MarkedYAMLException e) {
                Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
                problems.add(new Problem(displayName, mark == null ? 1 : mark.getLine() + 1,
                        mark == null ? 1 : mark.getColumn() + 1, "invalid YAML: " + e.getProblem()));
                return Optional.empty();
            } catch (RuntimeException e) {
                problems.add(new Problem(displayName, 1, 1, "invalid YAML: " + e.getMessage()));
                return Optional.empty();
            }
            if (node == null) {
                return Optional.empty();
            }
            return mapping(node, "the document");
        }

        void problem(Node at, String message) {
            Mark mark = at == null ? null : at.getStartMark();
            problems.add(new Problem(displayName, mark == null ? 1 : mark.getLine() + 1,
                    mark == null ? 1 : mark.getColumn() + 1, message));
        }

        String displayName() {
            return displayName;
        }

        int problemCount() {
            return problems.size();
        }

        /** A sequence's items; a single scalar counts as a list of one. */
        Optional<List<Node>> list(Node node, String what) {
            if (node instanceof org.yaml.snakeyaml.nodes.SequenceNode sequence) {
                return Optional.of(sequence.getValue());
            }
            if (node instanceof ScalarNode) {
                return Optional.of(List.of(node));
            }
            problem(node, what + " must be a list");
            return Optional.empty();
        }

        Optional<MappingNode> mapping(Node node, String what) {
            if (node instanceof MappingNode m) {
                return Optional.of(m);
            }
            problem(node, what + " must be a mapping of keys to values");
            return Optional.empty();
        }

        Map<String, NodeTuple> entries(MappingNode node, Set<String> allowed, String context) {
            Map<String, NodeTuple> result = new LinkedHashMap<>();
            for (NodeTuple tuple : node.getValue()) {
                Optional<String> key = tuple.getKeyNode() instanceof ScalarNode s ? Optional.of(s.getValue()) : Optional.empty();
                if (key.isEmpty()) {
                    problem(tuple.getKeyNode(), "keys must be plain strings");
                } else if (!allowed.contains(key.get())) {
                    problem(tuple.getKeyNode(), "unknown key '" + key.get() + "' in " + context
                            + suggestion(key.get(), allowed) + "; allowed: " + new java.util.TreeSet<>(allowed));
                } else if (result.containsKey(key.get())) {
                    problem(tuple.getKeyNode(), "duplicate key '" + key.get() + "'");
                } else {
                    result.put(key.get(), tuple);
                }
            }
            return result;
        }

        /** Reads the settings sections of a mapping into typed values keyed "section.leaf" ({@link SettingsSchema}). */
        void readSections(Map<String, NodeTuple> top, Map<String, Object> into) {
            for (Map.Entry<String, NodeTuple> section : top.entrySet()) {
                String sectionName = section.getKey();
                Map<String, SettingsSchema.Definition> keys = new LinkedHashMap<>();
                SettingsSchema.PLATFORM.all().stream().filter(k -> k.section().equals(sectionName)).forEach(k -> keys.put(k.leaf(), k));
                if (keys.isEmpty()) {
                    continue;
                }
                mapping(section.getValue().getValueNode(), "section '" + sectionName + "'").ifPresent(m -> {
                    for (Map.Entry<String, NodeTuple> entry : entries(m, keys.keySet(), "section '" + sectionName + "'").entrySet()) {
                        SettingsSchema.Definition key = keys.get(entry.getKey());
                        Node valueNode = entry.getValue().getValueNode();
                        string(valueNode).ifPresent(text -> {
                            try {
                                into.put(key.name(), key.parse(text));
                            } catch (IllegalArgumentException e) {
                                problem(valueNode, e.getMessage());
                            }
                        });
                    }
                });
            }
        }

        Optional<String> string(Node node) {
            if (!(node instanceof ScalarNode scalar)) {
                problem(node, "expected a string value");
                return Optional.empty();
            }
            int before = problems.size();
            String value = interpolator.apply(scalar.getValue(), message -> problem(node, message));
            return problems.size() == before ? Optional.of(value) : Optional.empty();
        }

        Optional<Integer> integer(Node node, int min, int max) {
            return convert(node, SettingType.INTEGER).map(Long.class::cast).filter(v -> {
                if (v < min || v > max) {
                    problem(node, "expected an integer from " + min + " to " + max + ", got " + v);
                    return false;
                }
                return true;
            }).map(Long::intValue);
        }

        /** A value of one of the YAML file types (integers as Long, sizes as Long bytes, durations, booleans, strings). */
        Optional<Object> convert(Node node, SettingType type) {
            Optional<String> text = string(node);
            if (text.isEmpty()) {
                return Optional.empty();
            }
            try {
                return Optional.of(type.parse(text.get()));
            } catch (IllegalArgumentException e) {
                problem(node, e.getMessage());
            }
            return Optional.empty();
        }
    }

    static String suggestion(String key, Set<String> allowed) {
        String best = null;
        int bestDistance = 3;
        for (String candidate : allowed) {
            int d = distance(key, candidate);
            if (d < bestDistance) {
                best = candidate;
                bestDistance = d;
            }
        }
        return best == null ? "" : " (did you mean '" + best + "'?)";
    }

    static int distance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                current[j] = Math.min(Math.min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }
}
