package io.watershed.project;

import io.watershed.spi.Secret;
import io.watershed.spi.SettingType;
import io.watershed.spi.SinkSpec;
import io.watershed.spi.StreamSpec;
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
    static final Set<String> TYPES = Set.of("jdbc", "cassandra");
    private static final Set<String> COMMON_KEYS = Set.of("name", "description", "type", "key", "batch_size", "flush_interval");
    private static final Set<String> JDBC_KEYS = with(COMMON_KEYS, "url", "user", "password", "table");
    private static final Set<String> CASSANDRA_KEYS = with(COMMON_KEYS, "contact_points", "local_datacenter", "keyspace", "table",
            "partition_key", "ttl", "consistency", "user", "password", "replication_factor", "max_in_flight");
    private static final Pattern COLUMN = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Pattern HOST_PORT = Pattern.compile("([^\\s:/]+|\\[[0-9A-Fa-f:.]+\\]):([0-9]{1,5})");
    /** Keyspace and table names Cassandra takes. */
    private static final Pattern CQL_NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_]{0,47}");
    /** Cassandra's longest TTL: 20 years. */
    private static final Duration MAX_TTL = Duration.ofSeconds(630_720_000);

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
        for (ProjectLoader.FileReader reader : loader.yamlFiles(directory, "sinks", problems)) {
            String stem = reader.stem();
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
        Map<String, NodeTuple> e = reader.entries(doc, type.get().equals("jdbc") ? JDBC_KEYS : CASSANDRA_KEYS, "a " + type.get() + " sink");
        if (e.containsKey("name")) {
            Node nameNode = e.get("name").getValueNode();
            reader.string(nameNode).filter(n -> !n.equals(stem)).ifPresent(n -> reader.problem(nameNode, "sink name '" + n
                    + "' does not match its file name '" + stem + ".yaml'; rename one of them"));
        }
        if (e.containsKey("description")) {
            reader.string(e.get("description").getValueNode());
        }
        Common common = common(reader, e);
        return type.get().equals("jdbc") ? jdbc(reader, doc, e, stem, common, location)
                : cassandra(reader, doc, e, stem, common, location);
    }

    /** What every type of sink has: its key and how it buffers. */
    private record Common(List<String> key, int batchSize, Duration flushInterval) {}

    private static Common common(ProjectLoader.FileReader reader, Map<String, NodeTuple> e) {
        List<String> key = e.containsKey("key") ? columns(reader, e.get("key").getValueNode(), "key") : List.of();
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
        return new Common(key, batchSize, flushInterval);
    }

    /** A list of distinct column names. */
    private static List<String> columns(ProjectLoader.FileReader reader, Node node, String what) {
        Set<String> columns = new LinkedHashSet<>();
        for (Node column : reader.list(node, what).orElse(List.of())) {
            reader.string(column).map(String::trim).ifPresent(c -> {
                if (!COLUMN.matcher(c).matches()) {
                    reader.problem(column, what.replace('_', ' ') + " column '" + c + "' is not a column name");
                } else if (!columns.add(c)) {
                    reader.problem(column, what.replace('_', ' ') + " column '" + c + "' is listed twice");
                }
            });
        }
        return new ArrayList<>(columns);
    }

    private static Optional<SinkSpec> jdbc(ProjectLoader.FileReader reader, MappingNode doc, Map<String, NodeTuple> e, String stem,
            Common common, String location) {
        Optional<String> url = required(reader, e, "url", doc, "jdbc").map(String::trim);
        if (url.isPresent() && !SourceReader.JDBC_URL.matcher(url.get()).matches()) {
            reader.problem(e.get("url").getValueNode(), "url '" + url.get().replaceFirst("\\?.*", "?...") + "' is not a JDBC URL "
                    + "of a database; use jdbc:postgresql://host:5432/db, jdbc:mysql://host:3306/db or jdbc:mariadb://host:3306/db");
        }
        Optional<String> user = required(reader, e, "user", doc, "jdbc").map(String::trim);
        Secret password = password(reader, e);
        String table = stem;
        if (e.containsKey("table")) {
            Node n = e.get("table").getValueNode();
            table = reader.string(n).map(String::trim).orElse(stem);
            if (!SourceReader.QUALIFIED.matcher(table).matches()) {
                reader.problem(n, "table '" + table + "' is not a table name; write schema.table or table");
            }
        }
        if (url.isEmpty() || user.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new SinkSpec.Jdbc(stem, url.get(), user.get(), password, table, common.key(), common.batchSize(),
                common.flushInterval(), location));
    }

    private static Optional<SinkSpec> cassandra(ProjectLoader.FileReader reader, MappingNode doc, Map<String, NodeTuple> e,
            String stem, Common common, String location) {
        List<String> contactPoints = new ArrayList<>();
        if (!e.containsKey("contact_points")) {
            reader.problem(doc, "a cassandra sink needs contact_points: a list of host:port of its nodes");
        } else {
            for (Node point : reader.list(e.get("contact_points").getValueNode(), "contact_points").orElse(List.of())) {
                reader.string(point).map(String::trim).ifPresent(p -> {
                    java.util.regex.Matcher m = HOST_PORT.matcher(p);
                    if (!m.matches() || Integer.parseInt(m.group(2)) < 1 || Integer.parseInt(m.group(2)) > 65535) {
                        reader.problem(point, "contact point '" + p + "' is not host:port (e.g. cassandra1:9042)");
                    } else {
                        contactPoints.add(p);
                    }
                });
            }
        }
        Optional<String> datacenter = required(reader, e, "local_datacenter", doc, "cassandra").map(String::trim);
        Optional<String> keyspace = required(reader, e, "keyspace", doc, "cassandra").map(String::trim);
        keyspace.filter(k -> !CQL_NAME.matcher(k).matches()).ifPresent(k -> reader.problem(e.get("keyspace").getValueNode(),
                "keyspace '" + k + "' is not a keyspace name; use letters, digits and _, at most 48, starting with a letter"));
        String table = stem;
        if (e.containsKey("table")) {
            Node n = e.get("table").getValueNode();
            table = reader.string(n).map(String::trim).orElse(stem);
            if (!CQL_NAME.matcher(table).matches()) {
                reader.problem(n, "table '" + table + "' is not a table name; use letters, digits and _, at most 48, "
                        + "starting with a letter (the keyspace is set by keyspace:)");
            }
        }
        if (!e.containsKey("key")) {
            reader.problem(doc, "a cassandra sink needs key: the columns of its table's primary key, as Cassandra keeps every "
                    + "row by one; for an append-only query name the columns that tell its rows apart (an event id)");
        }
        List<String> partitionKey = common.key().isEmpty() ? List.of() : common.key().subList(0, 1);
        if (e.containsKey("partition_key")) {
            Node n = e.get("partition_key").getValueNode();
            List<String> declared = columns(reader, n, "partition_key");
            List<String> outside = declared.stream().filter(c -> !common.key().contains(c)).toList();
            if (declared.isEmpty()) {
                reader.problem(n, "partition_key needs at least one of the key columns " + common.key());
            } else if (!outside.isEmpty()) {
                reader.problem(n, "partition_key column(s) " + outside + " are not in key " + common.key()
                        + "; the partition key is part of the primary key");
            } else {
                partitionKey = declared;
            }
        }
        Optional<Duration> ttl = Optional.empty();
        if (e.containsKey("ttl")) {
            Node n = e.get("ttl").getValueNode();
            Optional<Duration> d = reader.convert(n, SettingType.DURATION).map(Duration.class::cast);
            if (d.isPresent() && (d.get().compareTo(Duration.ofSeconds(1)) < 0 || d.get().compareTo(MAX_TTL) > 0)) {
                reader.problem(n, "ttl must be from 1s to 7300d (Cassandra's longest), got " + d.get());
            } else {
                ttl = d;
            }
        }
        String consistency = SinkSpec.Cassandra.DEFAULT_CONSISTENCY;
        if (e.containsKey("consistency")) {
            Node n = e.get("consistency").getValueNode();
            Optional<String> c = reader.string(n).map(v -> v.trim().toUpperCase(java.util.Locale.ROOT));
            if (c.isPresent() && !SinkSpec.Cassandra.WRITE_CONSISTENCIES.contains(c.get())) {
                reader.problem(n, "consistency '" + c.get() + "' is not a consistency level of a write; use one of "
                        + SinkSpec.Cassandra.WRITE_CONSISTENCIES);
            } else if (c.isPresent()) {
                consistency = c.get();
            }
        }
        String user = e.containsKey("user") ? reader.string(e.get("user").getValueNode()).map(String::trim).orElse("") : "";
        Secret password = password(reader, e);
        if (user.isEmpty() && !password.isEmpty()) {
            reader.problem(e.get("password").getKeyNode(), "a password without a user; set user: too, or remove the password");
        }
        int replicationFactor = 1;
        if (e.containsKey("replication_factor")) {
            replicationFactor = reader.integer(e.get("replication_factor").getValueNode(), 1, 100).orElse(1);
        }
        int maxInFlight = SinkSpec.Cassandra.DEFAULT_MAX_IN_FLIGHT;
        if (e.containsKey("max_in_flight")) {
            maxInFlight = reader.integer(e.get("max_in_flight").getValueNode(), 1, 1024).orElse(maxInFlight);
        }
        if (contactPoints.isEmpty() || datacenter.isEmpty() || keyspace.isEmpty() || common.key().isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new SinkSpec.Cassandra(stem, contactPoints, datacenter.get(), keyspace.get(), table, common.key(),
                partitionKey, ttl, consistency, user, password, replicationFactor, common.batchSize(), common.flushInterval(),
                maxInFlight, location));
    }

    private static Secret password(ProjectLoader.FileReader reader, Map<String, NodeTuple> e) {
        return Secret.of(e.containsKey("password") ? reader.string(e.get("password").getValueNode()).orElse("") : "");
    }

    private static Set<String> with(Set<String> common, String... more) {
        Set<String> all = new java.util.HashSet<>(common);
        all.addAll(List.of(more));
        return Set.copyOf(all);
    }

    private static Optional<String> required(ProjectLoader.FileReader reader, Map<String, NodeTuple> e, String key, Node at,
            String type) {
        if (!e.containsKey(key)) {
            reader.problem(at, "a " + type + " sink needs " + key);
            return Optional.empty();
        }
        return reader.string(e.get(key).getValueNode());
    }
}
