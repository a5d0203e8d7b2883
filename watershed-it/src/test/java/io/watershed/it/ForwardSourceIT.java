package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.testing.Await;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;

/**
 * The Fluentd forward protocol with a real fluent-logger client (the {@code @fluent-org/logger} npm package, run by
 * the machine's Node) in every mode with and without ack, behind the shared-key handshake; plus what no client
 * sends on purpose, from a client written from the specification.
 */
class ForwardSourceIT extends SourceConformance {
    @Override
    String sourceType() {
        return "forward";
    }

    static final String KEY = "it-shared-key-4f1c9a";
    static final Path NODE_CLIENT = Path.of("src/test/node").toAbsolutePath();

    @Override
    String streamBody(Path root) {
        return "key: id\nsources:\n  - type: forward\n    tags: [app.**, 'legacy.{web,api}']\n";
    }

    /** Where the file source of stream {@code ecs} reads. */
    Path ecsLogs;

    /**
     * Beside {@code conf}, the stream {@code ecs}: dotted and case-twin field names, from its forward tags and a file, and
     * from HTTP and Kafka, which every platform serves.
     */
    @Override
    TestProject configure(TestProject project) throws Exception {
        ecsLogs = Files.createDirectories(root.resolve("ecs-logs"));
        return project.ingest("forward_shared_key", KEY).stream("ecs", "partitions: 2\nsources:\n  - type: forward\n"
                + "    tags: [ecs.**]\n  - type: file\n    paths: [" + ecsLogs + "/*.log]\n    format: json\n");
    }

    @Override
    String secret() {
        return KEY;
    }

    int port() {
        return platform.forwardPort().orElseThrow();
    }

    /** Runs the npm client: the events on its stdin; returns once it printed "sent n" (every ack received). */
    void nodeSend(List<String> events, String mode, String tag, boolean ack) throws Exception {
        Path input = Files.createTempFile(root, "events", ".ndjson");
        Files.writeString(input, String.join("\n", events) + "\n");
        Path log = Files.createTempFile(root, "node", ".log");
        Process node = new ProcessBuilder("node", "send.js", String.valueOf(port()), mode, tag, ack ? "ack" : "noack", KEY)
                .directory(NODE_CLIENT.toFile()).redirectInput(input.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        assertThat(node.waitFor(120, TimeUnit.SECONDS)).as("the client finished; its output: %s", log).isTrue();
        String output = Files.readString(log);
        assertThat(node.exitValue()).as(output).isZero();
        assertThat(output).contains("sent " + events.size());
    }

    @Override
    void send(List<String> events) throws Exception {
        nodeSend(events, "PackedForward", "app.conf", true);
    }

    @Override
    Undecodable sendUndecodable() throws Exception {
        try (RawForwardClient client = new RawForwardClient(port(), KEY)) {
            MessageBufferPacker m = MessagePack.newDefaultBufferPacker();
            m.packArrayHeader(4).packString("app.bad").packLong(System.currentTimeMillis() / 1000).packString("just a string")
                    .packMapHeader(1).packString("chunk").packString("bad-chunk-1");
            client.send(m.toByteArray());
            assertThat(client.ack()).isEqualTo("bad-chunk-1");
        }
        return new Undecodable(false, "the record is a string, not a map (tag 'app.bad')");
    }

    @Override
    String undecodableMetric() {
        return "watershed_source_dead_letters_total{source=\"forward\",stream=\"conf\"}";
    }

    @Test
    @Order(10)
    void everyModeWithAndWithoutAckLandsExactlyOnceWithTagAndTime() throws Exception {
        List<String> modes = List.of("Message", "Forward", "PackedForward", "CompressedPackedForward");
        int expected = 0;
        for (String mode : modes) {
            for (boolean ack : new boolean[] {true, false}) {
                List<String> events = new ArrayList<>();
                for (int i = 0; i < 150; i++) {
                    events.add("{\"id\":\"m-" + mode + "-" + ack + "-" + i + "\",\"n\":" + i + ",\"text\":\"🌊\"}");
                }
                nodeSend(events, mode, ack ? "legacy.web" : "app.deep.er", ack);
                expected += events.size();
                if (ack) {
                    // acknowledged means durable: the events are queryable at once (the fresh tail reads Kafka)
                    int acked = expected;
                    assertThat(http.count("SELECT count(*) FROM raw.conf WHERE id LIKE 'm-%'")).isGreaterThanOrEqualTo(acked);
                }
            }
        }
        int total = expected;
        Await.until(total + " events, each once", Duration.ofSeconds(90),
                () -> http.rows("SELECT count(*), count(DISTINCT id) FROM raw.conf WHERE id LIKE 'm-%'"),
                rows -> rows.equals(List.of(total + " " + total)));
        assertThat(http.rows("SELECT DISTINCT tag FROM raw.conf WHERE id LIKE 'm-%' ORDER BY tag"))
                .containsExactly("app.deep.er", "legacy.web");
        assertThat(http.count("SELECT count(*) FROM raw.conf WHERE id LIKE 'm-%' AND (time IS NULL OR NOT regexp_matches(time, "
                + "'^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z$'))")).as("every event has its ISO time").isZero();
    }

    /** An ECS-style log event and a Kubernetes-labelled one, as {@code source} sends them. */
    static List<String> ecsAndKubernetesEvents(String source) {
        return List.of("{\"event.id\":\"" + source + "-ecs\",\"@timestamp\":\"2026-11-21T10:00:00.000Z\",\"log.level\":\"error\","
                        + "\"http.request.method\":\"GET\",\"http.response.status_code\":500,\"url.path\":\"/cart\"}",
                "{\"event.id\":\"" + source + "-k8s\",\"app.kubernetes.io/name\":\"checkout\",\"app.kubernetes.io/instance\":\"checkout-7f9\","
                        + "\"user\":\"ann\",\"User\":\"ANN\"}");
    }

    /**
     * Issue 27: dotted keys (ECS, OpenTelemetry, Kubernetes labels) and names that differ only in case land from every
     * input alike, each value in a column named by the one rule (a dot becomes '_', a case twin gets _2), the column's
     * doc naming the field; nothing is dead-lettered.
     */
    @Test
    @Order(20)
    void dottedAndCaseTwinFieldNamesFromHttpForwardFileAndKafkaLandWithEveryValueQueryable() throws Exception {
        WatershedHttp.Response posted = http.events("ecs", String.join("\n", ecsAndKubernetesEvents("http")));
        assertThat(posted.status()).as(posted.body()).isEqualTo(200);
        nodeSend(ecsAndKubernetesEvents("forward"), "PackedForward", "ecs.app", true);
        Files.writeString(ecsLogs.resolve("app.log"), String.join("\n", ecsAndKubernetesEvents("file")) + "\n");
        String token = Tokens.issue(http, "ecs-producer", java.util.Map.of("stream", "ecs"), "write stream:ecs");
        try (KafkaProducer<byte[], byte[]> producer = Tokens.producer(platform.kafkaAddress(), token)) {
            for (String event : ecsAndKubernetesEvents("kafka")) {
                producer.send(new ProducerRecord<>("ecs", event.getBytes(StandardCharsets.UTF_8))).get();
            }
        }

        String select = "SELECT event_id, \"@timestamp\", log_level, http_request_method, http_response_status_code, url_path, "
                + "\"app_kubernetes_io/name\", \"app_kubernetes_io/instance\", \"user\", \"User_2\" FROM raw.ecs ORDER BY event_id";
        List<String> expected = new ArrayList<>();
        for (String source : List.of("file", "forward", "http", "kafka")) {
            expected.add(source + "-ecs 2026-11-21T10:00:00.000Z error GET 500 /cart null null null null");
            expected.add(source + "-k8s null null null null null checkout checkout-7f9 ann ANN");
        }
        Await.until("both events of every input in raw.ecs", Duration.ofSeconds(90), () -> http.rows(select),
                rows -> rows.equals(expected));
        Await.until("the events committed", Duration.ofSeconds(60),
                () -> http.count("SELECT count(*) FROM committed.raw.ecs") == expected.size());
        assertThat(http.count("SELECT count(*) FROM raw.ecs__dlq")).as("nothing dead-lettered").isZero();

        Map<String, String> docs = new java.util.TreeMap<>();
        for (JsonNode column : http.get("/v1/tables/raw.ecs").json().path("columns")) {
            if (column.path("doc").isTextual() && !column.path("name").asText().startsWith("_")) {
                docs.put(column.path("name").asText(), column.path("doc").asText());
            }
        }
        assertThat(docs).as("each renamed column's doc names its field; no other column has one").isEqualTo(Map.of(
                "event_id", "Event field \"event.id\"",
                "log_level", "Event field \"log.level\"",
                "http_request_method", "Event field \"http.request.method\"",
                "http_response_status_code", "Event field \"http.response.status_code\"",
                "url_path", "Event field \"url.path\"",
                "app_kubernetes_io/name", "Event field \"app.kubernetes.io/name\"",
                "app_kubernetes_io/instance", "Event field \"app.kubernetes.io/instance\"",
                "User_2", "Event field \"User\""));
    }

    @Test
    @Order(11)
    void aChunkSentAgainIsAcknowledgedAgainButStoredOnce() throws Exception {
        MessageBufferPacker m = MessagePack.newDefaultBufferPacker();
        m.packArrayHeader(3).packString("app.retry").packArrayHeader(3);
        for (int i = 0; i < 3; i++) {
            m.packArrayHeader(2).packLong(1_700_000_000L).packMapHeader(1).packString("id").packString("retry-" + i);
        }
        m.packMapHeader(2).packString("chunk").packString("chunk-retried-7").packString("size").packInt(3);
        byte[] message = m.toByteArray();
        try (RawForwardClient client = new RawForwardClient(port(), KEY)) {
            client.send(message);
            assertThat(client.ack()).isEqualTo("chunk-retried-7");
        }
        try (RawForwardClient client = new RawForwardClient(port(), KEY)) { // as after a lost ack: a new connection, the same chunk
            client.send(message);
            assertThat(client.ack()).isEqualTo("chunk-retried-7");
        }
        Await.until("the retried chunk's events", Duration.ofSeconds(60),
                () -> http.rows("SELECT id, count(*) FROM raw.conf WHERE id LIKE 'retry-%' GROUP BY id ORDER BY id"),
                rows -> rows.equals(List.of("retry-0 1", "retry-1 1", "retry-2 1")));
        assertThat(http.get("/metrics").body()).contains("watershed_source_repeats_total{source=\"forward\",stream=\"conf\"} 1.0");
    }

    @Test
    @Order(12)
    void aWrongSharedKeyIsRefusedAndCounted() throws Exception {
        try (RawForwardClient client = new RawForwardClient(port(), "not-the-key")) {
            assertThat(client.authenticated).isFalse();
            assertThat(client.refusal).contains("shared_key");
            assertThat(client.closedByServer()).isTrue();
        }
        assertThat(http.get("/metrics").body()).contains("watershed_source_errors_total{reason=\"auth\",source=\"forward\",stream=\"\"}");
    }

    @Test
    @Order(13)
    void bytesThatAreNoForwardMessageCloseTheConnectionAndAreCounted() throws Exception {
        try (RawForwardClient client = new RawForwardClient(port(), KEY)) {
            client.send(new byte[] {(byte) 0x93, (byte) 0xc1, 1, 2}); // an array whose first element is the never-used 0xc1
            assertThat(client.closedByServer()).isTrue();
        }
        try (RawForwardClient client = new RawForwardClient(port(), KEY)) {
            client.send("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(client.closedByServer()).isTrue();
        }
        Await.until("malformed input counted", Duration.ofSeconds(10), () -> http.get("/metrics").body()
                .contains("watershed_source_errors_total{reason=\"malformed\",source=\"forward\""));
        nodeSend(List.of("{\"id\":\"after-garbage\"}"), "Message", "app.ok", true); // the listener still serves
    }

    @Test
    @Order(16)
    void packedEntriesThatCannotBeReadGoToTheDeadLetterTableAndTheConnectionGoesOn() throws Exception {
        try (RawForwardClient client = new RawForwardClient(port(), KEY)) {
            MessageBufferPacker entries = MessagePack.newDefaultBufferPacker();
            entries.packArrayHeader(2).packLong(1_700_000_000L).packMapHeader(1).packString("id").packString("packed-ok");
            entries.packString("not an entry");
            byte[] packed = entries.toByteArray();
            MessageBufferPacker m = MessagePack.newDefaultBufferPacker();
            m.packArrayHeader(3).packString("app.packed").packBinaryHeader(packed.length).writePayload(packed)
                    .packMapHeader(1).packString("chunk").packString("bad-packed-1");
            client.send(m.toByteArray());
            assertThat(client.ack()).isEqualTo("bad-packed-1");
            MessageBufferPacker after = MessagePack.newDefaultBufferPacker();
            after.packArrayHeader(4).packString("app.packed").packLong(1_700_000_000L).packMapHeader(1).packString("id")
                    .packString("packed-after").packMapHeader(1).packString("chunk").packString("after-1");
            client.send(after.toByteArray());
            assertThat(client.ack()).as("the same connection still serves").isEqualTo("after-1");
        }
        Await.until("the readable entry and the message after it, and the rest dead-lettered", Duration.ofSeconds(60),
                () -> http.rows("SELECT id FROM raw.conf WHERE id LIKE 'packed-%' ORDER BY id").equals(List.of("packed-after", "packed-ok"))
                        && http.rows("SELECT reason FROM raw.conf__dlq").stream().anyMatch(r -> r.startsWith(
                                "the packed entries of tag 'app.packed' (") && r.contains("cannot be read after entry 1")));
    }

    @Test
    @Order(14)
    void anUnknownTagIsCountedNotStored() throws Exception {
        nodeSend(List.of("{\"id\":\"nobody\"}"), "Forward", "other.tag", true);
        Await.until("the unrouted event counted", Duration.ofSeconds(10), () -> http.get("/metrics").body()
                .contains("watershed_source_errors_total{reason=\"unrouted\",source=\"forward\""));
        assertThat(http.count("SELECT count(*) FROM raw.conf WHERE id = 'nobody'")).isZero();
    }

    @Test
    @Order(15)
    void aUdpHeartbeatIsAnswered() throws Exception {
        try (DatagramSocket udp = new DatagramSocket()) {
            udp.setSoTimeout(10_000);
            udp.send(new DatagramPacket(new byte[] {0}, 1, new InetSocketAddress("127.0.0.1", port())));
            DatagramPacket answer = new DatagramPacket(new byte[8], 8);
            udp.receive(answer);
            assertThat(answer.getLength()).isEqualTo(1);
        }
    }
}
