package io.watershed.ingest.cdc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.format.Json;
import io.watershed.ingest.Source;
import io.watershed.ingest.SourcePublisher;
import io.watershed.spi.EventBus;
import io.watershed.spi.SourceSpec;
import io.watershed.spi.SourceStatus;
import io.watershed.spi.StreamSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Change data capture from one database (Debezium's embedded engine): the inserts, updates, deletes and truncates
 * of its declared tables become change events on their streams — the row after the change (before it, for a
 * delete) with {@code __op} ({@code r} snapshot read, {@code c}, {@code u}, {@code d}, {@code t}),
 * {@code __source_ts_ms} and {@code __position} — from which {@code state.<stream>} follows each table.
 *
 * <p>Debezium's offsets (in the data directory) are saved after each batch the bus acknowledged. A batch of changes
 * is published under the position of its first change in one Kafka transaction, so the changes Debezium delivers
 * again after a crash are recognised and not published twice. (Rows of an initial snapshot that a crash interrupts
 * are read again from the start; they may repeat in {@code raw.<stream>}, never in {@code state.<stream>}.)
 */
public final class CdcSource implements Source {
    private static final Logger LOG = LoggerFactory.getLogger(CdcSource.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern URL = Pattern.compile("jdbc:(postgresql|mysql|mariadb)://([^/:?]+)(?::(\\d+))?/([^?]+)(\\?.*)?");

    private final String name;
    private final String kind;
    private final String host;
    private final int port;
    private final String database;
    private final SourcePublisher publisher;
    private final Map<String, StreamSpec> streamsByTable = new LinkedHashMap<>();
    private final Map<String, String> destinations = new HashMap<>();
    private final Properties properties = new Properties();
    private final ExecutorService executor;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicLong events = new AtomicLong();
    /** How far behind the source the last change arrived, in milliseconds (its commit time to its publishing). */
    private final AtomicLong behindMillis = new AtomicLong(-1);
    private volatile DebeziumEngine<ChangeEvent<String, String>> engine;
    private volatile boolean running = true;
    private volatile String lastError;
    private volatile Instant lastEventAt;
    private final Object engineEnded = new Object();
    private boolean ended;

    /** @param tables the cdc sources of one database connection (same url and user), with their streams */
    public CdcSource(String name, Map<SourceSpec.Cdc, StreamSpec> tables, SourcePublisher publisher, Path directory) {
        this.name = name;
        this.publisher = publisher;
        SourceSpec.Cdc first = tables.keySet().iterator().next();
        Matcher m = URL.matcher(first.url());
        if (!m.matches()) {
            throw new IllegalArgumentException("Cannot read the database address from " + first.url());
        }
        this.kind = m.group(1).equals("postgresql") ? "postgresql" : "mariadb";
        this.host = m.group(2);
        this.port = m.group(3) != null ? Integer.parseInt(m.group(3)) : kind.equals("postgresql") ? 5432 : 3306;
        this.database = m.group(4);
        String prefix = "watershed";
        tables.forEach((spec, stream) -> {
            streamsByTable.put(spec.table(), stream);
            destinations.put(prefix + "." + spec.table(), spec.table());
        });
        try {
            Files.createDirectories(directory);
        } catch (IOException e) {
            throw new IllegalStateException("Cannot create " + directory + ": " + e.getMessage(), e);
        }
        String id = (host + "_" + port + "_" + database + "_" + first.user()).toLowerCase().replaceAll("[^a-z0-9]+", "_");
        Properties p = properties;
        p.put("name", "watershed-" + id);
        p.put("topic.prefix", prefix);
        p.put("offset.storage", "org.apache.kafka.connect.storage.FileOffsetBackingStore");
        p.put("offset.storage.file.filename", directory.resolve(id + ".offsets").toString());
        p.put("offset.flush.interval.ms", "0"); // offsets saved after every acknowledged batch
        p.put("bootstrap.servers", "localhost:0"); // required by Kafka Connect's WorkerConfig; the engine connects to no Kafka
        p.put("converter.schemas.enable", "true"); // the schema tells timestamps from numbers
        p.put("snapshot.mode", first.snapshot() ? "initial" : "no_data");
        p.put("tombstones.on.delete", "false");
        p.put("include.schema.changes", "false");
        p.put("decimal.handling.mode", "double");
        p.put("skipped.operations", "none");
        p.put("database.hostname", host);
        p.put("database.port", String.valueOf(port));
        p.put("database.user", first.user());
        p.put("database.password", first.password().reveal());
        p.put("table.include.list", String.join(",", streamsByTable.keySet().stream().map(Pattern::quote).toList()));
        if (kind.equals("postgresql")) {
            p.put("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
            p.put("plugin.name", "pgoutput");
            p.put("database.dbname", database);
            String slot = ("watershed_" + id);
            p.put("slot.name", slot.length() > 63 ? slot.substring(0, 63) : slot);
            p.put("publication.name", slot.length() > 63 ? slot.substring(0, 63) : slot);
            p.put("publication.autocreate.mode", "filtered");
        } else {
            p.put("connector.class", "io.debezium.connector.mariadb.MariaDbConnector");
            p.put("database.server.id", String.valueOf(5400 + Math.floorMod(id.hashCode(), 100_000)));
            p.put("database.include.list", String.join(",", streamsByTable.keySet().stream()
                    .map(t -> Pattern.quote(t.substring(0, t.indexOf('.')))).distinct().toList()));
            p.put("database.ssl.mode", "disable");
            p.put("schema.history.internal", "io.debezium.storage.file.history.FileSchemaHistory");
            p.put("schema.history.internal.file.filename", directory.resolve(id + ".history").toString());
        }
        io.micrometer.core.instrument.Gauge.builder("watershed.source.cdc.behind.seconds", behindMillis, b -> b.get() < 0 ? -1 : b.get() / 1000.0)
                .tag("source", name).description("How far behind its database the last captured change was published (-1: none yet)")
                .register(publisher.meters());
        executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "watershed-cdc-" + name);
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public void start() {
        Thread supervisor = new Thread(this::supervise, "watershed-cdc-supervisor-" + name);
        supervisor.setDaemon(true);
        supervisor.start();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public SourceStatus.Cdc status() {
        Map<String, String> tables = new LinkedHashMap<>();
        streamsByTable.forEach((table, stream) -> tables.put(table, stream.name()));
        return new SourceStatus.Cdc(name, kind + "://" + host + ":" + port + "/" + database, properties.getProperty("database.user"),
                io.watershed.spi.Secret.of(properties.getProperty("database.password")), tables, engine != null && running,
                events.get(), lastEventAt == null ? null : lastEventAt.toString(), lastError);
    }

    /** Runs the engine; when it ends with an error (the database or the bus was away), starts it again after a pause. */
    private void supervise() {
        try {
            while (running) {
                synchronized (engineEnded) {
                    ended = false;
                }
                DebeziumEngine<ChangeEvent<String, String>> e = DebeziumEngine.create(Json.class)
                        .using(properties)
                        .using((success, message, error) -> {
                            if (!success && running) {
                                lastError = message + (error == null ? "" : ": " + error.getMessage());
                                publisher.error(name, null, "cdc");
                                LOG.warn("CDC {}: the engine stopped: {}; it starts again in 5s", name, lastError);
                            }
                            synchronized (engineEnded) {
                                ended = true;
                                engineEnded.notifyAll();
                            }
                        })
                        .notifying(this::handleBatch)
                        .build();
                engine = e;
                try {
                    executor.execute(e);
                } catch (java.util.concurrent.RejectedExecutionException rejected) {
                    return; // closed meanwhile
                }
                synchronized (engineEnded) {
                    while (!ended && running) {
                        engineEnded.wait(1000);
                    }
                }
                if (running) {
                    stopped.await(5, TimeUnit.SECONDS);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private record Change(StreamSpec stream, EventBus.Event event, String position, long sourceMillis) {}

    private void handleBatch(List<ChangeEvent<String, String>> records,
            DebeziumEngine.RecordCommitter<ChangeEvent<String, String>> committer) throws InterruptedException {
        List<Change> changes = new ArrayList<>();
        for (ChangeEvent<String, String> record : records) {
            String table = destinations.get(record.destination());
            if (table != null && record.value() != null) {
                Change change = convert(streamsByTable.get(table), table, record.value());
                if (change != null) {
                    changes.add(change);
                }
            }
        }
        // consecutive changes of one stream are published together, in order
        int i = 0;
        while (i < changes.size()) {
            int j = i;
            StreamSpec stream = changes.get(i).stream;
            boolean snapshot = changes.get(i).position == null;
            while (j < changes.size() && changes.get(j).stream == stream && (changes.get(j).position == null) == snapshot) {
                j++;
            }
            publish(stream, changes.subList(i, j));
            i = j;
        }
        for (ChangeEvent<String, String> record : records) {
            committer.markProcessed(record);
        }
        committer.markBatchFinished();
        if (!changes.isEmpty()) {
            events.addAndGet(changes.size());
            lastEventAt = Instant.now();
            long source = changes.get(changes.size() - 1).sourceMillis;
            if (source > 0) {
                behindMillis.set(Math.max(0, System.currentTimeMillis() - source));
            }
        }
        lastError = null;
    }

    /** Publishes the changes; a run already published (from a change on) is skipped by its first change's position. */
    private void publish(StreamSpec stream, List<Change> changes) throws InterruptedException {
        String source = stream.name() + ".cdc";
        // backpressure: the engine waits here, and reads no more of the database's log, while the stream may not take events
        publisher.awaitAdmitted(source, stream, () -> running);
        if (changes.get(0).position == null) {
            publisher.publish(source, stream, changes.stream().map(Change::event).toList(), null);
            return;
        }
        int i = 0;
        while (i < changes.size()) {
            List<Change> rest = changes.subList(i, changes.size());
            int published = publisher.publish(source, stream, rest.stream().map(Change::event).toList(),
                    "cdc:" + name + ":" + rest.get(0).position);
            i += Math.max(1, published);
        }
    }

    private Change convert(StreamSpec stream, String table, String value) {
        JsonNode envelope;
        try {
            envelope = JSON.readTree(value);
        } catch (IOException e) {
            publisher.error(name, stream.name(), "undecodable");
            return new Change(stream, EventBus.Event.deadLetter(value.getBytes(StandardCharsets.UTF_8),
                    "the change event of " + table + " is not JSON: " + e.getMessage(), System.currentTimeMillis()), null, 0);
        }
        JsonNode payload = envelope.has("payload") ? envelope.get("payload") : envelope;
        JsonNode schema = envelope.path("schema");
        String op = payload.path("op").asText("");
        JsonNode source = payload.path("source");
        ObjectNode row = JSON.createObjectNode();
        JsonNode image = op.equals("d") ? payload.get("before") : payload.get("after");
        if (image != null && image.isObject()) {
            Map<String, String> logical = logicalTypes(schema, op.equals("d") ? "before" : "after");
            image.fields().forEachRemaining(f -> row.set(f.getKey(), logicalValue(logical.get(f.getKey()), f.getValue())));
        }
        if (!op.equals("t") && row.isEmpty()) {
            return null; // nothing to say about a row (a delete without its key cannot happen with a primary key)
        }
        row.put("__op", op.isEmpty() ? "u" : op);
        long sourceMillis = source.path("ts_ms").asLong(payload.path("ts_ms").asLong());
        row.put("__source_ts_ms", sourceMillis);
        String position;
        if (op.equals("r") || source.path("snapshot").asText("false").matches("true|first|last|first_in_data_collection|"
                + "last_in_data_collection|incremental")) {
            position = null;
        } else if (kind.equals("postgresql")) {
            position = "lsn:" + source.path("lsn").asText() + ":" + source.path("txId").asText();
        } else {
            position = "binlog:" + source.path("file").asText() + ":" + source.path("pos").asText() + ":" + source.path("row").asText();
        }
        row.put("__position", position == null ? "snapshot" : position);
        byte[] key = stream.key().map(row::get).filter(k -> k != null && !k.isNull()).map(k -> k.asText()
                .getBytes(StandardCharsets.UTF_8)).orElse(null);
        try {
            return new Change(stream, new EventBus.Event(key, JSON.writeValueAsBytes(row), System.currentTimeMillis()), position,
                    sourceMillis);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Field name → Debezium logical type name (io.debezium.time.MicroTimestamp...) of the before or after struct. */
    private static Map<String, String> logicalTypes(JsonNode schema, String struct) {
        Map<String, String> types = new HashMap<>();
        for (JsonNode field : schema.path("fields")) {
            if (field.path("field").asText().equals(struct)) {
                for (JsonNode column : field.path("fields")) {
                    if (column.has("name")) {
                        types.put(column.path("field").asText(), column.path("name").asText());
                    }
                }
            }
        }
        return types;
    }

    /** Dates and times as ISO-8601 text (what the lake reads as timestamps), everything else as it came. */
    static JsonNode logicalValue(String type, JsonNode value) {
        if (type == null || value == null || value.isNull() || !value.isNumber()) {
            return value;
        }
        long v = value.asLong();
        String text = switch (type) {
            case "io.debezium.time.Date", "org.apache.kafka.connect.data.Date" -> LocalDate.ofEpochDay(v).toString();
            case "io.debezium.time.Timestamp", "org.apache.kafka.connect.data.Timestamp" ->
                    LocalDateTime.ofInstant(Instant.ofEpochMilli(v), ZoneOffset.UTC).toString();
            case "io.debezium.time.MicroTimestamp" ->
                    LocalDateTime.ofInstant(Instant.ofEpochSecond(Math.floorDiv(v, 1_000_000L), Math.floorMod(v, 1_000_000L) * 1000),
                            ZoneOffset.UTC).toString();
            case "io.debezium.time.NanoTimestamp" ->
                    LocalDateTime.ofInstant(Instant.ofEpochSecond(Math.floorDiv(v, 1_000_000_000L), Math.floorMod(v, 1_000_000_000L)),
                            ZoneOffset.UTC).toString();
            case "io.debezium.time.Time", "org.apache.kafka.connect.data.Time" -> LocalTime.ofNanoOfDay(v * 1_000_000L).toString();
            case "io.debezium.time.MicroTime" -> LocalTime.ofNanoOfDay(v * 1000L).toString();
            case "io.debezium.time.NanoTime" -> LocalTime.ofNanoOfDay(v).toString();
            default -> null;
        };
        return text == null ? value : JSON.getNodeFactory().textNode(text);
    }

    @Override
    public void close() {
        running = false;
        stopped.countDown();
        DebeziumEngine<ChangeEvent<String, String>> e = engine;
        if (e != null) {
            try {
                e.close(); // flushes the offsets of what was handled
            } catch (IOException ex) {
                LOG.warn("CDC {}: cannot stop the engine cleanly: {}", name, ex.toString());
            } catch (IllegalStateException ex) {
                LOG.debug("CDC {}: the engine had stopped already: {}", name, ex.getMessage()); // it failed (database away)
            }
        }
        executor.shutdown();
        try {
            if (!executor.awaitTermination(30, TimeUnit.SECONDS)) {
                LOG.warn("CDC {}: the engine did not stop within 30s", name);
            }
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }
}
