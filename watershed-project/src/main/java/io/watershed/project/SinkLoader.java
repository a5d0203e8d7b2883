package io.watershed.project;

import io.watershed.spi.Secret;
import io.watershed.spi.SettingType;
import io.watershed.spi.SinkSpec;
import io.watershed.spi.StreamSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;

/**
 * Loads {@code sinks/*.yaml}: one sink per file, named after it, that pipelines write with {@code INSERT INTO
 * sinks.<name>}. Mistakes are added to the problems with their {@code file:line:col}; a sink with a mistake is left out.
 */
final class SinkLoader {
    static final Set<String> TYPES = Set.of("jdbc");
    private static final Set<String> JDBC_KEYS = Set.of("name", "description", "type", "url", "user", "password", "table", "key",
            "batch_size", "flush_interval");
    private static final Pattern COLUMN = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    private final ProjectLoader loader;
    private final Path directory;
    private final List<Problem> problems;

    SinkLoader(ProjectLoader loader, Path directory, List<Problem> problems) {
        this.loader = loader;
        this.directory = directory;
        this.problems = problems;
    }

    Map<String, SinkSpec> load() {
        Map<String, SinkSpec> sinks = new TreeMap<>();
        Path dir = directory.resolve("sinks");
        if (!Files.isDirectory(dir)) {
            return sinks;
        }
        for (Path file : ModelLoader.regularFiles(dir)) {
            String fileName = file.getFileName().toString();
            if (!fileName.endsWith(".yaml") && !fileName.endsWith(".yml")) {
                continue;
            }
            ProjectLoader.FileReader reader = loader.new FileReader(directory, file, problems);
            String stem = fileName.replaceFirst("\\.ya?ml$", "");
            Optional<MappingNode> doc = reader.document();
            if (doc.isEmpty()) {
                reader.problem(null, "empty sink file; declare its type (" + new TreeSet<>(TYPES) + ") and connection");
                continue;
            }
            int before = reader.problemCount();
            Optional<SinkSpec> sink = sink(reader, doc.get(), stem);
            if (sink.isPresent() && reader.problemCount() == before) {
                if (sinks.containsKey(sink.get().name())) {
                    reader.problem(doc.get(), "sink '" + stem + "' is already declared in " + sinks.get(stem).location());
                } else {
                    sinks.put(sink.get().name(), sink.get());
                }
            }
        }
        return sinks;
    }

    private Optional<SinkSpec> sink(ProjectLoader.FileReader reader, MappingNode doc, String stem) {
        String location = reader.displayName() + ":" + (doc.getStartMark().getLine() + 1) + ":" + (doc.getStartMark().getColumn() + 1);
        if (!StreamSpec.NAME.matcher(stem).matches()) {
            reader.problem(doc, "sink file name '" + stem + "' is not a valid sink name; use " + StreamSpec.NAME_RULE);
            return Optional.empty();
        }
        NodeTuple typeEntry = doc.getValue().stream()
                .filter(t -> t.getKeyNode() instanceof org.yaml.snakeyaml.nodes.ScalarNode s && s.getValue().equals("type"))
                .findFirst().orElse(null);
        if (typeEntry == null) {
            reader.problem(doc, "a sink needs a type: one of " + new TreeSet<>(TYPES));
            return Optional.empty();
        }
        Optional<String> type = reader.string(typeEntry.getValueNode());
        if (type.isEmpty()) {
            return Optional.empty();
        }
        if (!TYPES.contains(type.get())) {
            reader.problem(typeEntry.getValueNode(), "unknown sink type '" + type.get() + "'"
                    + ProjectLoader.suggestion(type.get(), TYPES) + "; use one of " + new TreeSet<>(TYPES));
            return Optional.empty();
        }
        Map<String, NodeTuple> e = reader.entries(doc, JDBC_KEYS, "a jdbc sink");
        if (e.containsKey("name")) {
            Node nameNode = e.get("name").getValueNode();
            reader.string(nameNode).filter(n -> !n.equals(stem)).ifPresent(n -> reader.problem(nameNode, "sink name '" + n
                    + "' does not match its file name '" + stem + ".yaml'; rename one of them"));
        }
        if (e.containsKey("description")) {
            reader.string(e.get("description").getValueNode());
        }
        Optional<String> url = required(reader, e, "url", doc).map(String::trim);
        if (url.isPresent() && !SourceReader.JDBC_URL.matcher(url.get()).matches()) {
            reader.problem(e.get("url").getValueNode(), "url '" + url.get().replaceFirst("\\?.*", "?...") + "' is not a JDBC URL "
                    + "of a database; use jdbc:postgresql://host:5432/db, jdbc:mysql://host:3306/db or jdbc:mariadb://host:3306/db");
        }
        Optional<String> user = required(reader, e, "user", doc).map(String::trim);
        Secret password = Secret.of(e.containsKey("password") ? reader.string(e.get("password").getValueNode()).orElse("") : "");
        String table = stem;
        if (e.containsKey("table")) {
            Node n = e.get("table").getValueNode();
            table = reader.string(n).map(String::trim).orElse(stem);
            if (!SourceReader.QUALIFIED.matcher(table).matches()) {
                reader.problem(n, "table '" + table + "' is not a table name; write schema.table or table");
            }
        }
        Set<String> key = new LinkedHashSet<>();
        if (e.containsKey("key")) {
            Node keyNode = e.get("key").getValueNode();
            for (Node column : reader.list(keyNode, "key").orElse(List.of())) {
                reader.string(column).map(String::trim).ifPresent(c -> {
                    if (!COLUMN.matcher(c).matches()) {
                        reader.problem(column, "key column '" + c + "' is not a column name");
                    } else if (!key.add(c)) {
                        reader.problem(column, "key column '" + c + "' is listed twice");
                    }
                });
            }
        }
        int batchSize = SinkSpec.DEFAULT_BATCH_SIZE;
        if (e.containsKey("batch_size")) {
            batchSize = reader.integer(e.get("batch_size").getValueNode(), 1, 100_000).orElse(batchSize);
        }
        Duration flushInterval = SinkSpec.DEFAULT_FLUSH_INTERVAL;
        if (e.containsKey("flush_interval")) {
            Node n = e.get("flush_interval").getValueNode();
            Optional<Duration> d = reader.convert(n, SettingType.DURATION).map(Duration.class::cast);
            if (d.isPresent() && (d.get().compareTo(Duration.ofMillis(10)) < 0 || d.get().compareTo(Duration.ofHours(1)) > 0)) {
                reader.problem(n, "flush_interval must be from 10ms to 1h, got " + d.get());
            } else if (d.isPresent()) {
                flushInterval = d.get();
            }
        }
        if (url.isEmpty() || user.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new SinkSpec.Jdbc(stem, url.get(), user.get(), password, table, new ArrayList<>(key), batchSize,
                flushInterval, location));
    }

    private static Optional<String> required(ProjectLoader.FileReader reader, Map<String, NodeTuple> e, String key, Node at) {
        if (!e.containsKey(key)) {
            reader.problem(at, "a jdbc sink needs " + key);
            return Optional.empty();
        }
        return reader.string(e.get(key).getValueNode());
    }
}
