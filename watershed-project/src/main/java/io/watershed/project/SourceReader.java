package io.watershed.project;

import io.watershed.project.SettingKey.ValueKind;
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
    static final Set<String> TYPES = Set.of("forward", "file");
    private static final Set<String> FORWARD_KEYS = Set.of("type", "tags", "tag_field", "time_field");
    private static final Set<String> FILE_KEYS = Set.of("type", "paths", "exclude", "format", "pattern", "multiline_start",
            "multiline_flush", "read_from", "path_field", "max_record_size");
    /** Fluentd tag parts: letters, digits, '_', '-', and the pattern characters. */
    private static final Pattern TAG_PATTERN = Pattern.compile("[A-Za-z0-9_\\-*{},.]+");
    private static final Pattern GROUP_NAME = Pattern.compile("\\(\\?<([a-zA-Z][a-zA-Z0-9]*)>");

    private final ProjectLoader.FileReader reader;
    private final Path projectDirectory;

    SourceReader(ProjectLoader.FileReader reader, Path projectDirectory) {
        this.reader = reader;
        this.projectDirectory = projectDirectory;
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
                ? reader.convert(e.get("multiline_flush").getValueNode(), ValueKind.DURATION).map(Duration.class::cast)
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
            Optional<Long> size = reader.convert(n, ValueKind.SIZE).map(Long.class::cast);
            if (size.isPresent() && (size.get() < 64 || size.get() > 900_000)) {
                reader.problem(n, "max_record_size must be from 64B to 900KB (a Kafka record holds about 1 MiB), got " + size.get());
            } else if (size.isPresent()) {
                maxRecord = (int) (long) size.get();
            }
        }
        return Optional.of(new SourceSpec.FileTail(paths, exclude, format, pattern, multiline, flush, fromBeginning, pathField,
                maxRecord));
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
