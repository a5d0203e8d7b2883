package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded broker's side door is closed: outside clients log in with a token over SASL/SCRAM or SASL/PLAIN and may
 * use only the topics the token's grants name; no credentials, a wrong password or a revoked token gets nothing; grant
 * changes apply to open connections at once; the platform's own topics are nobody's. Debian's kcat (librdkafka 2.0.2,
 * installed by the build), whose SCRAM fails with Kafka 4, logs in with PLAIN.
 */
class KafkaAccessIT {
    @TempDir
    static Path root;

    static Platform platform;
    static WatershedHttp admin;

    @BeforeAll
    static void start() {
        platform = Platform.start(TestProject.in(root.resolve("project")).stream("clicks", "").stream("payroll", "")
                .stream("readings", "").load(), root.resolve("data"));
        admin = new WatershedHttp(platform.url(), platform.adminToken());
        assertThat(admin.events("payroll", "{\"id\":1,\"salary\":90000}").status()).isEqualTo(200);
    }

    @AfterAll
    static void stop() {
        if (platform != null) {
            platform.close();
        }
    }

    static KafkaProducer<byte[], byte[]> producer(Properties p) {
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "5000");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "8000");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    static KafkaConsumer<byte[], byte[]> consumer(Properties p, String group) {
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    static void send(KafkaProducer<byte[], byte[]> producer, String topic, String value) throws Exception {
        producer.send(new ProducerRecord<>(topic, value.getBytes(StandardCharsets.UTF_8))).get();
    }

    static Throwable cause(ThrowingRunnable r) {
        try {
            r.run();
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (Throwable e) {
            return e;
        }
        throw new AssertionError("expected a refusal");
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    /** What a run of Debian's kcat did. */
    record Kcat(int exit, String stdout, String stderr) {}

    /**
     * Runs {@code /usr/bin/kcat} on the embedded broker, logged in over SASL/PLAIN as {@code user} with {@code password},
     * with {@code input} on its standard input.
     */
    static Kcat kcatAs(String user, String password, String input, String... arguments) throws Exception {
        Path run = java.nio.file.Files.createTempDirectory(root, "kcat");
        java.nio.file.Files.writeString(run.resolve("in"), input);
        List<String> command = new java.util.ArrayList<>(List.of("/usr/bin/kcat", "-b", platform.kafkaAddress(),
                "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN",
                "-X", "sasl.username=" + user, "-X", "sasl.password=" + password));
        command.addAll(List.of(arguments));
        Process process = new ProcessBuilder(command).redirectInput(run.resolve("in").toFile())
                .redirectOutput(run.resolve("out").toFile()).redirectError(run.resolve("err").toFile()).start();
        if (!process.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("kcat " + arguments[0] + " did not end within 60 s: " + java.nio.file.Files.readString(run.resolve("err")));
        }
        return new Kcat(process.exitValue(), java.nio.file.Files.readString(run.resolve("out")),
                java.nio.file.Files.readString(run.resolve("err")));
    }

    /** The same, logged in with {@code token} under its id. */
    static Kcat kcat(String token, String input, String... arguments) throws Exception {
        return kcatAs(io.watershed.access.AccessStore.tokenId(token).orElseThrow(), token, input, arguments);
    }

    @Test
    void debiansKcatWritesAndReadsAStreamOverPlainAndTheJavaClientStillUsesScram() throws Exception {
        String token = Tokens.issue(admin, "kcat", Map.of(), "write stream:readings", "read table:raw.readings");
        String records = java.util.stream.IntStream.range(0, 5000).mapToObj(i -> "{\"n\":" + i + ",\"via\":\"kcat\"}")
                .collect(java.util.stream.Collectors.joining("\n", "", "\n"));
        Kcat produced = kcat(token, records, "-P", "-t", "readings");
        assertThat(produced.exit()).as(produced.stderr()).isZero();
        Await.until("kcat's 5,000 records in raw.readings", Duration.ofSeconds(60),
                () -> admin.count("SELECT count(*) FROM raw.readings WHERE via = 'kcat'") == 5000);
        assertThat(admin.count("SELECT count(DISTINCT n) FROM raw.readings WHERE via = 'kcat' AND n BETWEEN 0 AND 4999"))
                .isEqualTo(5000);

        try (KafkaProducer<byte[], byte[]> producer = producer(Tokens.kafka(platform.kafkaAddress(), token))) {
            send(producer, "readings", "{\"n\":5000,\"via\":\"java-scram\"}");
        }
        Kcat consumed = kcat(token, "", "-C", "-t", "readings", "-o", "beginning", "-e", "-q");
        assertThat(consumed.exit()).as(consumed.stderr()).isZero();
        assertThat(consumed.stdout().lines().toList()).as("kcat's records and the Java client's, read back over PLAIN")
                .hasSize(5001).contains("{\"n\":0,\"via\":\"kcat\"}", "{\"n\":4999,\"via\":\"kcat\"}",
                        "{\"n\":5000,\"via\":\"java-scram\"}");
    }

    @Test
    void kcatWithAWrongPasswordOrARevokedTokenIsRefused() throws Exception {
        String token = Tokens.issue(admin, "kcat-refused", Map.of(), "write stream:readings");
        String id = io.watershed.access.AccessStore.tokenId(token).orElseThrow();
        Kcat wrong = kcatAs(id, token.substring(0, token.length() - 2) + "xx", "", "-L", "-m", "5");
        assertThat(wrong.exit()).isNotZero();
        assertThat(wrong.stderr()).contains("Authentication failed: Invalid username or password");
        assertThat(kcatAs(id, id, "", "-L", "-m", "5").stderr()).as("the id as password")
                .contains("Authentication failed: Invalid username or password");
        Kcat right = kcat(token, "", "-L", "-m", "10");
        assertThat(right.exit()).as(right.stderr()).isZero();
        assertThat(right.stdout()).contains("topic \"readings\"");

        assertThat(admin.delete("/v1/access/tokens/" + id).status()).isEqualTo(200);
        Kcat revoked = kcat(token, "", "-L", "-m", "5");
        assertThat(revoked.exit()).isNotZero();
        assertThat(revoked.stderr()).contains("Authentication failed: Invalid username or password");
        Kcat revokedWriter = kcat(token, "{\"n\":-1,\"via\":\"revoked\"}\n", "-P", "-t", "readings", "-X",
                "message.timeout.ms=5000");
        assertThat(revokedWriter.exit()).isNotZero();
        assertThat(revokedWriter.stderr()).contains("Authentication failed");
    }

    @Test
    void aClientWithoutCredentialsOrWithAWrongPasswordGetsNothing() {
        Properties plain = new Properties();
        plain.put("bootstrap.servers", platform.kafkaAddress());
        try (KafkaProducer<byte[], byte[]> anonymous = producer(plain)) {
            assertThat(cause(() -> send(anonymous, "clicks", "{\"user\":\"anon\"}")))
                    .isInstanceOf(org.apache.kafka.common.errors.TimeoutException.class);
        }
        String token = Tokens.issue(admin, "clicker", Map.of(), "write stream:clicks");
        try (KafkaProducer<byte[], byte[]> wrong = producer(Tokens.kafka(platform.kafkaAddress(), token.substring(0, token.length() - 2) + "xx"))) {
            assertThat(cause(() -> send(wrong, "clicks", "{\"user\":\"wrong\"}"))).isInstanceOf(SaslAuthenticationException.class);
        }
        assertThat(admin.count("SELECT count(*) FROM raw.clicks WHERE \"user\" IN ('anon', 'wrong')")).isZero();
    }

    @Test
    void aTokenUsesTheTopicsItsGrantsNameAndLosesThemAtOnce() throws Exception {
        String writer = Tokens.issue(admin, "writer", Map.of(), "write stream:clicks");
        try (KafkaProducer<byte[], byte[]> producer = producer(Tokens.kafka(platform.kafkaAddress(), writer))) {
            send(producer, "clicks", "{\"user\":\"kafka-writer\"}");
            assertThat(cause(() -> send(producer, "payroll", "{\"id\":2,\"salary\":1}"))).isInstanceOf(TopicAuthorizationException.class);
            Await.until("the event in the lake", Duration.ofSeconds(30),
                    () -> admin.count("SELECT count(*) FROM raw.clicks WHERE \"user\" = 'kafka-writer'") == 1);
            assertThat(admin.postJson("/v1/access/revoke", Map.of("role", "writer", "privilege", "write", "object", "stream:clicks"))
                    .status()).isEqualTo(200);
            assertThat(cause(() -> send(producer, "clicks", "{\"user\":\"after-revoke\"}"))).as("an open connection, at once")
                    .isInstanceOf(TopicAuthorizationException.class);
        }

        String reader = Tokens.issue(admin, "reader", Map.of(), "read table:raw.payroll");
        Properties readerProps = Tokens.kafka(platform.kafkaAddress(), reader);
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(readerProps, "reader.audit-job")) {
            consumer.subscribe(List.of("payroll"));
            int[] seen = {0};
            Await.until("payroll records", Duration.ofSeconds(30), () -> {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(500));
                seen[0] += records.count();
                return seen[0] >= 1;
            });
        }
        try (KafkaConsumer<byte[], byte[]> other = consumer(Tokens.kafka(platform.kafkaAddress(), reader), "someone-elses-group")) {
            other.subscribe(List.of("payroll"));
            assertThatThrownBy(() -> other.poll(Duration.ofSeconds(5))).isInstanceOf(GroupAuthorizationException.class);
        }
        try (KafkaConsumer<byte[], byte[]> clicks = consumer(Tokens.kafka(platform.kafkaAddress(), reader), "reader.clicks")) {
            clicks.subscribe(List.of("clicks"));
            assertThatThrownBy(() -> {
                for (int i = 0; i < 10; i++) {
                    clicks.poll(Duration.ofMillis(500));
                }
            }).isInstanceOf(TopicAuthorizationException.class);
        }

        String tokenId = io.watershed.access.AccessStore.tokenId(reader).orElseThrow();
        assertThat(admin.delete("/v1/access/tokens/" + tokenId).status()).isEqualTo(200);
        try (KafkaConsumer<byte[], byte[]> revoked = consumer(Tokens.kafka(platform.kafkaAddress(), reader), "reader.again")) {
            revoked.subscribe(List.of("payroll"));
            assertThatThrownBy(() -> revoked.poll(Duration.ofSeconds(5))).isInstanceOf(SaslAuthenticationException.class);
        }
    }

    @Test
    void aStreamTokenWritesItsTopicOnlyAndNobodyWritesThePlatformsTopics() throws Exception {
        String scoped = Tokens.issue(admin, "collector", Map.of("stream", "clicks"), "write stream:*");
        try (KafkaProducer<byte[], byte[]> producer = producer(Tokens.kafka(platform.kafkaAddress(), scoped))) {
            send(producer, "clicks", "{\"user\":\"scoped\"}");
            assertThat(cause(() -> send(producer, "payroll", "{\"id\":3}"))).isInstanceOf(TopicAuthorizationException.class);
        }
        try (KafkaProducer<byte[], byte[]> producer = producer(Tokens.kafka(platform.kafkaAddress(), platform.adminToken()))) {
            send(producer, "clicks", "{\"user\":\"admin-over-kafka\"}");
            assertThat(cause(() -> send(producer, "watershed_audit", "{\"action\":\"forged\"}")))
                    .isInstanceOf(TopicAuthorizationException.class);
        }
    }
}
