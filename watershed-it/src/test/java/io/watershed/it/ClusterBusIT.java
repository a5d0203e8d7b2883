package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.DeliveryChecker;
import io.watershed.testing.DeliveryLog;
import io.watershed.testing.KafkaCluster;
import io.watershed.testing.LoadGenerator;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cluster profile's bus: the platform on a three-node Kafka cluster (each node its own JVM) whose client listeners
 * take SASL over TLS only and authorize with ACLs, logged in as a user that is not a super user, with its access tables
 * in PostgreSQL ({@code metadata.url}). The project's files name the cluster in a profile ({@code profiles: cluster:}),
 * with the password from the environment.
 */
class ClusterBusIT {
    private static final String PASSWORD = "staple-battery-horse";

    @TempDir
    static Path root;

    static KafkaCluster kafka;
    static EmbeddedPostgres postgres;
    static Platform platform;
    static WatershedHttp http;

    @BeforeAll
    static void start() throws Exception {
        postgres = EmbeddedPostgres.builder().start();
        kafka = new KafkaCluster(root.resolve("kafka"));
        kafka.addScramUser("watershed", PASSWORD);
        kafka.grantAll("watershed");
        TestProject project = TestProject.in(root.resolve("project"))
                .yaml("profiles:\n"
                        + "  cluster:\n"
                        + "    bus:\n"
                        + "      bootstrap_servers: " + kafka.bootstrapServers() + "\n"
                        + "      security_protocol: SASL_SSL\n"
                        + "      sasl_mechanism: SCRAM-SHA-512\n"
                        + "      sasl_username: watershed\n"
                        + "      sasl_password: ${KAFKA_PASSWORD}\n"
                        + "      ssl_truststore: " + kafka.truststore() + "\n"
                        + "      ssl_truststore_password: ${KAFKA_TRUSTSTORE_PASSWORD}\n"
                        + "      replication_factor: 3\n"
                        + "      min_insync_replicas: 2\n"
                        + "      manage_acls: true\n"
                        + "    metadata:\n"
                        + "      url: " + postgres.getJdbcUrl("postgres", "postgres") + "\n"
                        + "      user: postgres\n")
                // fields declared: the pipeline reading it is planned before any event arrives
                .stream("orders", "partitions: 3\nkey: key\nfields:\n  producer: string\n  seq: long\n  key: string\n  ts: string\n")
                .stream("payroll", "partitions: 1\n")
                .pipeline("copy", "INSERT INTO streams.orders_copy SELECT producer, seq, `key` FROM streams.orders;\n");
        platform = Platform.start(project.load("cluster", Map.of("KAFKA_PASSWORD", PASSWORD, "KAFKA_TRUSTSTORE_PASSWORD",
                kafka.truststorePassword())), root.resolve("data"));
        http = new WatershedHttp(platform.url(), platform.adminToken());
        assertThat(platform.embeddedBus()).isFalse();
        // before any test stops a broker: the pipeline creates its output topic with 3 replicas as it starts
        http.awaitPipelinesRunning(1, Duration.ofSeconds(180));
    }

    @AfterAll
    static void stop() throws Exception {
        if (platform != null) {
            platform.close();
        }
        if (kafka != null) {
            kafka.close();
        }
        if (postgres != null) {
            postgres.close();
        }
    }

    @Test
    void everyTopicThePlatformCreatesIsReplicatedAsTheProfileSays() throws Exception {
        assertThat(http.events("orders", "{\"producer\":\"x\",\"seq\":0,\"key\":\"k\"}\n", "Idempotency-Key", "placement-1").status())
                .as("keyed: creates the transaction and key logs").isEqualTo(200);
        Await.until("the pipeline's sink wrote its commit record", Duration.ofSeconds(120),
                () -> http.count("SELECT count(*) FROM raw.orders_copy") >= 1);
        Set<String> topics = kafka.admin().listTopics().names().get(30, TimeUnit.SECONDS);
        List<String> ours = topics.stream().filter(t -> !t.startsWith("__")).sorted().toList();
        assertThat(ours).as("streams, the audit log, keyed ingest's logs, the sink's commit records")
                .contains("orders", "payroll", "orders_copy", "watershed_audit", "_watershed_transactions", "_watershed_idempotency",
                        "_watershed_pipeline_commits");
        Map<String, TopicDescription> described = kafka.admin().describeTopics(ours).allTopicNames().get(30, TimeUnit.SECONDS);
        Map<ConfigResource, Config> configs = kafka.admin().describeConfigs(ours.stream()
                .map(t -> new ConfigResource(ConfigResource.Type.TOPIC, t)).toList()).all().get(30, TimeUnit.SECONDS);
        for (String topic : ours) {
            assertThat(described.get(topic).partitions()).as(topic).allSatisfy(p -> assertThat(p.replicas()).hasSize(3));
            assertThat(configs.get(new ConfigResource(ConfigResource.Type.TOPIC, topic)).get("min.insync.replicas").value())
                    .as(topic).isEqualTo("2");
        }
        String health = http.get("/v1/health").body();
        assertThat(health).contains(kafka.bootstrapServers()).doesNotContain(PASSWORD);
        assertThat(http.get("/v1/sources").body()).contains("user = token id").doesNotContain(PASSWORD);
    }

    @Test
    void anAcknowledgedEventSurvivesAStoppedBroker() {
        DeliveryLog deliveries = new DeliveryLog();
        LoadGenerator.Target target = new LoadGenerator.Target(platform.url(), platform.adminToken());
        try (LoadGenerator load = new LoadGenerator(deliveries, () -> target, "orders", 2, 300, 20, 8)) {
            deliveries.awaitMore(DeliveryLog.Fate.ACKNOWLEDGED, 500, Duration.ofSeconds(60));
            kafka.stop(3);
            long before = deliveries.count(DeliveryLog.Fate.ACKNOWLEDGED);
            deliveries.awaitMore(DeliveryLog.Fate.ACKNOWLEDGED, 500, Duration.ofSeconds(60)); // two of three replicas: still acks
            assertThat(deliveries.count(DeliveryLog.Fate.ACKNOWLEDGED)).isGreaterThan(before);
            kafka.start(3);
            deliveries.awaitMore(DeliveryLog.Fate.ACKNOWLEDGED, 500, Duration.ofSeconds(60));
        }
        DeliveryChecker.Report report = DeliveryChecker.awaitCommittedAndCheck(deliveries, http, "raw.orders");
        assertThat(report.lost()).as(report.toString()).isZero();
        assertThat(report.duplicated()).as(report.toString()).isZero();
    }

    @Test
    void aTokenLogsInToTheClusterWithItsOwnScramLoginAndReadsOnlyWhatItsGrantsName() throws Exception {
        assertThat(http.events("orders", "{\"producer\":\"token\",\"seq\":1,\"key\":\"t\"}\n").status()).isEqualTo(200);
        assertThat(http.events("payroll", "{\"salary\":1}\n").status()).isEqualTo(200);
        String token = Tokens.issue(http, "analyst", Map.of(), "read table:raw.orders");
        String id = io.watershed.access.AccessStore.tokenId(token).orElseThrow();
        try (java.sql.Connection c = postgres.getPostgresDatabase().getConnection(); java.sql.Statement s = c.createStatement();
                java.sql.ResultSet rs = s.executeQuery("SELECT \"user\" FROM watershed.tokens WHERE id = '" + id + "'")) {
            assertThat(rs.next()).as("the token is kept in PostgreSQL (metadata.url)").isTrue();
            assertThat(rs.getString(1)).isEqualTo("analyst");
        }
        try (KafkaConsumer<byte[], byte[]> consumer = KafkaAccessIT.consumer(login(id, token), "analyst.orders")) {
            consumer.subscribe(List.of("orders"));
            Await.until("the token reads orders", Duration.ofSeconds(60), () -> !consumer.poll(Duration.ofMillis(500)).isEmpty());
        }
        try (KafkaConsumer<byte[], byte[]> consumer = KafkaAccessIT.consumer(login(id, token), "analyst.payroll")) {
            consumer.subscribe(List.of("payroll"));
            assertThat(KafkaAccessIT.cause(() -> {
                ConsumerRecords<byte[], byte[]> ignored = consumer.poll(Duration.ofSeconds(10));
            })).isInstanceOf(TopicAuthorizationException.class);
        }
        assertThat(http.delete("/v1/access/tokens/" + id).status()).isEqualTo(200);
        Await.until("the revoked token's login is gone", Duration.ofSeconds(60), () -> {
            try (KafkaConsumer<byte[], byte[]> consumer = KafkaAccessIT.consumer(login(id, token), "analyst.after")) {
                return KafkaAccessIT.cause(() -> consumer.partitionsFor("orders", Duration.ofSeconds(5)))
                        instanceof SaslAuthenticationException;
            }
        });
    }

    /** A token's login over SASL_SSL with SCRAM-SHA-512, trusting the cluster's certificate. */
    private static Properties login(String user, String password) {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put("security.protocol", "SASL_SSL");
        p.put("sasl.mechanism", "SCRAM-SHA-512");
        p.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user
                + "\" password=\"" + password + "\";");
        p.put("ssl.truststore.location", kafka.truststore().toString());
        p.put("ssl.truststore.password", kafka.truststorePassword());
        return p;
    }
}
