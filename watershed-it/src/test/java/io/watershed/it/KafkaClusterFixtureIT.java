package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watershed.bus.BusClients;
import io.watershed.spi.BusConnection;
import io.watershed.testing.Await;
import io.watershed.testing.KafkaCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The three-node, secured Kafka cluster the cluster-profile tests run on ({@link KafkaCluster}): a SCRAM user that is
 * no super user writes transactionally to a topic replicated three times, over SASL_SSL, through the loss and return of
 * a node; wrong credentials and a client that does not trust the cluster's certificate are turned away.
 */
class KafkaClusterFixtureIT {
    private static final String USER = "watershed";
    private static final String PASSWORD = "correct-horse-battery";
    private static final Map<String, String> SHORT = Map.of("default.api.timeout.ms", "5000", "request.timeout.ms", "5000");

    @TempDir
    static Path root;

    private static KafkaCluster cluster;

    @BeforeAll
    static void startTheCluster() {
        long start = System.nanoTime();
        cluster = new KafkaCluster(root.resolve("kafka"));
        System.out.printf("KafkaCluster: 3 nodes started in %d ms%n", millisSince(start));
        start = System.nanoTime();
        cluster.addScramUser(USER, PASSWORD);
        cluster.grantAll(USER);
        System.out.printf("KafkaCluster: SCRAM user and ACLs in %d ms%n", millisSince(start));
    }

    @AfterAll
    static void stopTheCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void aScramUserWritesTransactionallyThroughTheLossAndReturnOfANode() throws Exception {
        BusConnection user = cluster.connection("SCRAM-SHA-512", USER, PASSWORD);
        try (Admin admin = BusClients.admin(user, "fixture-it-admin", Map.of())) {
            admin.createTopics(List.of(new NewTopic("orders", 3, (short) 3))).all().get();
        }
        Await.until("orders with 3 in-sync replicas", Duration.ofSeconds(30), () -> inSyncReplicas("orders") == 9);
        Set<String> written = new HashSet<>();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(BusClients.properties(user, "fixture-it-producer",
                Map.of("acks", "all", "transactional.id", "fixture-it")), new StringSerializer(), new StringSerializer())) {
            producer.initTransactions();
            writeInOneTransaction(producer, 0, written);

            long start = System.nanoTime();
            cluster.stop(2);
            System.out.printf("KafkaCluster: node 2 stopped (SIGTERM) and fenced in %d ms%n", millisSince(start));
            assertThat(cluster.running(2)).isFalse();
            start = System.nanoTime();
            writeInOneTransaction(producer, 1000, written);
            System.out.printf("KafkaCluster: 1000 records in one transaction on two nodes in %d ms%n", millisSince(start));
        }

        Set<String> read = new HashSet<>();
        long start = System.nanoTime();
        try (var consumer = BusClients.consumer(user, "fixture-it-consumer", Map.of("group.id", "fixture-it", "isolation.level",
                "read_committed", "auto.offset.reset", "earliest"))) {
            consumer.subscribe(List.of("orders"));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (read.size() < 2000 && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(r -> read.add(new String(r.value())));
            }
            consumer.commitSync();
        }
        System.out.printf("KafkaCluster: 2000 records consumed (read_committed, a group) in %d ms%n", millisSince(start));
        assertThat(read).as("every record written, read once the transactions committed").isEqualTo(written).hasSize(2000);

        start = System.nanoTime();
        cluster.start(2);
        System.out.printf("KafkaCluster: node 2 restarted, registered and in sync in %d ms%n", millisSince(start));
        assertThat(inSyncReplicas("orders")).as("node 2 back in the ISR of every partition of orders").isEqualTo(9);
    }

    @Test
    void aKilledNodeIsFencedAndRejoins() {
        long start = System.nanoTime();
        cluster.kill(3);
        System.out.printf("KafkaCluster: node 3 killed (SIGKILL) and fenced in %d ms%n", millisSince(start));
        start = System.nanoTime();
        cluster.start(3);
        System.out.printf("KafkaCluster: node 3 restarted after SIGKILL, registered and in sync in %d ms%n", millisSince(start));
        assertThat(cluster.running(3)).isTrue();
        assertThat(cluster.canLogIn(3, "SCRAM-SHA-512", USER, PASSWORD)).isTrue();
    }

    @Test
    void theGrantedUserManagesCredentialsAndAclsWithoutBeingASuperUser() throws Exception {
        try (Admin admin = BusClients.admin(cluster.connection("SCRAM-SHA-256", USER, PASSWORD), "fixture-it-admin", SHORT)) {
            admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion("reader",
                    new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), "reader-password"))).all().get();
            AclBinding read = new AclBinding(new ResourcePattern(ResourceType.TOPIC, "orders", PatternType.LITERAL),
                    new AccessControlEntry("User:reader", "*", AclOperation.READ, AclPermissionType.ALLOW));
            admin.createAcls(List.of(read)).all().get();
            assertThat(admin.describeAcls(read.toFilter()).values().get()).containsExactly(read);
        }
        try (Admin reader = BusClients.admin(cluster.connection("SCRAM-SHA-256", "reader", "reader-password"), "fixture-it-reader",
                SHORT)) {
            assertThatThrownBy(() -> reader.createTopics(List.of(new NewTopic("not-allowed", 1, (short) 3))).all().get())
                    .as("a user without grants").hasCauseInstanceOf(TopicAuthorizationException.class);
        }
    }

    @Test
    void wrongCredentialsAndUntrustedClientsAreTurnedAway() {
        long start = System.nanoTime();
        assertThat(cluster.canLogIn(1, "SCRAM-SHA-256", USER, PASSWORD)).isTrue();
        assertThatThrownBy(() -> listTopics(cluster.connection("SCRAM-SHA-512", USER, "wrong")))
                .hasCauseInstanceOf(SaslAuthenticationException.class);
        assertThatThrownBy(() -> listTopics(cluster.connection("PLAIN", "admin", "wrong")))
                .hasCauseInstanceOf(SaslAuthenticationException.class);
        Map<String, String> untrusting = new HashMap<>(cluster.adminConnection().security());
        untrusting.remove("ssl.truststore.location");
        untrusting.remove("ssl.truststore.password");
        assertThatThrownBy(() -> listTopics(new BusConnection(cluster.bootstrapServers(), untrusting)))
                .as("the JVM's own trusted certificates do not include the cluster's").hasCauseInstanceOf(SslAuthenticationException.class);
        System.out.printf("KafkaCluster: refusals in %d ms%n", millisSince(start));
    }

    private static Set<String> listTopics(BusConnection connection) throws Exception {
        try (Admin admin = BusClients.admin(connection, "fixture-it-refused", SHORT)) {
            return admin.listTopics().names().get();
        }
    }

    private static void writeInOneTransaction(KafkaProducer<String, String> producer, int from, Set<String> written) {
        producer.beginTransaction();
        for (int i = from; i < from + 1000; i++) {
            producer.send(new ProducerRecord<>("orders", "k" + i, "v" + i));
            written.add("v" + i);
        }
        producer.commitTransaction();
    }

    /** The in-sync replicas of all partitions of the topic, counted as the super user sees them. */
    private static int inSyncReplicas(String topic) {
        try {
            return cluster.admin().describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().stream()
                    .mapToInt(p -> p.isr().size()).sum();
        } catch (InterruptedException | ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long millisSince(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }
}
