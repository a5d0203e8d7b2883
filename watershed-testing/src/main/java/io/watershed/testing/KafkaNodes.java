package io.watershed.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * A real two-node Kafka cluster (KRaft) in the test JVM: node 1 is broker and controller, node 2 a broker only,
 * formatted at the latest production metadata version as the embedded broker is (so transactions run version 2).
 * A test places partitions on either node and stops and restarts node 2, so that the partitions on it have no
 * leader: Kafka's transaction coordinator (on node 1) then skips their commit markers, which is how a transaction
 * is torn after a restart, here without any kill timing.
 */
public final class KafkaNodes implements AutoCloseable {
    private final Path directory;
    private final String clusterId = Uuid.randomUuid().toString();
    private final int controllerPort = freePort();
    private final int[] ports = {0, freePort(), freePort()};
    private final KafkaRaftServer[] servers = new KafkaRaftServer[3];
    private final Admin admin;

    public KafkaNodes(Path directory) {
        this.directory = directory;
        start(1);
        admin = io.watershed.bus.BusClients.admin(connection(), "kafka-nodes", Map.of(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                "15000", AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000"));
        // the transaction log (one partition) is created on node 1, the only node so far: its coordinator stays up
        Await.until("the transaction coordinator on node 1", Duration.ofSeconds(60), () -> quietly(() -> {
            try {
                admin.describeTransactions(List.of("watershed-probe")).description("watershed-probe").get();
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof org.apache.kafka.common.errors.TransactionalIdNotFoundException)) {
                    return false;
                }
            }
            return admin.listTopics(new org.apache.kafka.clients.admin.ListTopicsOptions().listInternal(true)).names().get()
                    .contains("__transaction_state");
        }));
        start(2);
        Await.until("node 2 registered", Duration.ofSeconds(60), () -> quietly(() -> admin.describeCluster().nodes().get().size() == 2));
    }

    /** The bootstrap address: node 1, which stays up. */
    public String bootstrapServers() {
        return "127.0.0.1:" + ports[1];
    }

    /** How a client reaches node 1 (a plain listener). */
    public io.watershed.spi.BusConnection connection() {
        return io.watershed.spi.BusConnection.plain(bootstrapServers());
    }

    public Admin admin() {
        return admin;
    }

    /** Creates a topic with each partition's one replica on the given node (1 or 2), in partition order. */
    public void createTopic(String name, Map<String, String> configs, int... nodeOfPartition) {
        Map<Integer, List<Integer>> assignment = new java.util.HashMap<>();
        for (int p = 0; p < nodeOfPartition.length; p++) {
            assignment.put(p, List.of(nodeOfPartition[p]));
        }
        try {
            admin.createTopics(List.of(new NewTopic(name, assignment).configs(configs))).all().get();
        } catch (InterruptedException | ExecutionException e) {
            throw new IllegalStateException("Cannot create topic " + name + ": " + e, e);
        }
        Await.until("leaders of " + name, Duration.ofSeconds(30), () -> java.util.stream.IntStream.range(0, nodeOfPartition.length)
                .allMatch(p -> leader(new TopicPartition(name, p)).isPresent()));
    }

    /** Deletes a topic, waiting until it is gone. */
    public void deleteTopic(String name) {
        try {
            admin.deleteTopics(List.of(name)).all().get();
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException)) {
                throw new IllegalStateException("Cannot delete topic " + name + ": " + e, e);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        Await.until(name + " deleted", Duration.ofSeconds(30), () -> quietly(() -> !admin.listTopics().names().get().contains(name)));
    }

    /** The partition's leader as node 1 sees it; empty while it has none. */
    public Optional<Integer> leader(TopicPartition partition) {
        try {
            var description = admin.describeTopics(List.of(partition.topic())).allTopicNames().get().get(partition.topic());
            Node leader = description.partitions().get(partition.partition()).leader();
            return leader == null || leader.isEmpty() || leader.id() < 0 ? Optional.empty() : Optional.of(leader.id());
        } catch (InterruptedException | ExecutionException e) {
            return Optional.empty();
        }
    }

    /** Stops node 2 and waits until the given partitions (all on node 2) have no leader. */
    public void stopNode2(TopicPartition... onNode2) {
        KafkaRaftServer server = servers[2];
        servers[2] = null;
        server.shutdown();
        server.awaitShutdown();
        for (TopicPartition partition : onNode2) {
            Await.until(partition + " without a leader", Duration.ofSeconds(60), () -> leader(partition).isEmpty());
        }
    }

    /** Starts node 2 again on its log and waits until the given partitions have their leader back. */
    public void startNode2(TopicPartition... onNode2) {
        start(2);
        for (TopicPartition partition : onNode2) {
            Await.until(partition + " led again", Duration.ofSeconds(60), () -> leader(partition).isPresent());
        }
    }

    /** The partitions among these on which a transaction is open, of any producer. */
    public List<TopicPartition> openTransactions(java.util.Collection<TopicPartition> partitions) {
        try {
            List<TopicPartition> open = new java.util.ArrayList<>();
            for (var entry : admin.describeProducers(partitions).all().get().entrySet()) {
                if (entry.getValue().activeProducers().stream().anyMatch(s -> s.currentTransactionStartOffset().isPresent())) {
                    open.add(entry.getKey());
                }
            }
            return open;
        } catch (InterruptedException | ExecutionException e) {
            throw new IllegalStateException("Cannot describe the producers of " + partitions + ": " + e, e);
        }
    }

    /** Waits until the coordinator describes the transactional id in this state. */
    public void awaitTransactionState(String transactionalId, org.apache.kafka.clients.admin.TransactionState state) {
        Await.until(transactionalId + " in " + state, Duration.ofSeconds(60), () -> quietly(() ->
                admin.describeTransactions(List.of(transactionalId)).description(transactionalId).get().state() == state));
    }

    /**
     * How many times each value is in the topic, read with {@code read_committed} to its last stable offset; the no-op
     * records that complete a torn transaction (header {@code watershed-noop}) are not values.
     */
    public Map<String, Integer> committedValues(String topic) {
        Map<String, Integer> seen = new java.util.HashMap<>();
        for (var record : readCommitted(topic)) {
            if (record.headers().lastHeader(io.watershed.spi.EventBus.NOOP_HEADER) == null && record.value() != null) {
                seen.merge(new String(record.value(), java.nio.charset.StandardCharsets.UTF_8), 1, Integer::sum);
            }
        }
        return seen;
    }

    /** Every record of the topic that {@code read_committed} shows, to its last stable offset. */
    public List<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> readCommitted(String topic) {
        List<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> records = new java.util.ArrayList<>();
        try (var consumer = io.watershed.bus.BusClients.consumer(connection(), "kafka-nodes-reader",
                Map.of("isolation.level", "read_committed"))) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(info -> new TopicPartition(topic, info.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("Cannot read " + topic + " to " + end + " within 30 s");
                }
            }
        }
        return records;
    }

    /** Fails saying how many values were lost and doubled unless {@code seen} holds each expected value exactly once. */
    public static void assertEachOnce(java.util.Collection<String> expected, Map<String, Integer> seen, String what) {
        List<String> lost = expected.stream().filter(v -> !seen.containsKey(v)).toList();
        List<String> doubled = seen.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList();
        List<String> unexpected = seen.keySet().stream().filter(v -> !expected.contains(v)).toList();
        if (!lost.isEmpty() || !doubled.isEmpty() || !unexpected.isEmpty()) {
            throw new AssertionError(what + " lost (" + lost.size() + "), written more than once (" + doubled.size() + "), not written "
                    + "by the test (" + unexpected.size() + "); e.g. lost " + lost.stream().limit(3).toList() + ", doubled "
                    + doubled.stream().limit(3).toList());
        }
    }

    public boolean node2Running() {
        return servers[2] != null;
    }

    private synchronized void start(int node) {
        Path logDir = directory.resolve("node-" + node);
        Properties props = new Properties();
        props.put("process.roles", node == 1 ? "broker,controller" : "broker");
        props.put("node.id", String.valueOf(node));
        props.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        props.put("listeners", "PLAINTEXT://127.0.0.1:" + ports[node] + (node == 1 ? ",CONTROLLER://127.0.0.1:" + controllerPort : ""));
        props.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + ports[node]);
        props.put("controller.listener.names", "CONTROLLER");
        props.put("inter.broker.listener.name", "PLAINTEXT");
        props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        props.put("log.dirs", logDir.toString());
        props.put("metadata.log.dir", logDir.toString());
        props.put("offsets.topic.replication.factor", "1");
        props.put("offsets.topic.num.partitions", "1");
        props.put("transaction.state.log.replication.factor", "1");
        props.put("transaction.state.log.min.isr", "1");
        props.put("transaction.state.log.num.partitions", "1");
        props.put("share.coordinator.state.topic.replication.factor", "1");
        props.put("share.coordinator.state.topic.min.isr", "1");
        props.put("group.initial.rebalance.delay.ms", "0");
        props.put("auto.create.topics.enable", "false");
        props.put("min.insync.replicas", "1");
        props.put("unclean.leader.election.enable", "false");
        props.put("broker.session.timeout.ms", "2000");
        props.put("broker.heartbeat.interval.ms", "500");
        props.put("num.network.threads", "1");
        props.put("num.io.threads", "2");
        props.put("log.cleaner.threads", "1");
        props.put("controlled.shutdown.enable", "true");
        try {
            Files.createDirectories(logDir);
            if (!Files.exists(logDir.resolve("meta.properties"))) {
                new Formatter()
                        .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                        .setNodeId(node)
                        .setClusterId(clusterId)
                        .setDirectories(List.of(logDir.toString()))
                        .setMetadataLogDirectory(logDir.toString())
                        .setControllerListenerName("CONTROLLER")
                        .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
                        .run();
            }
        } catch (Exception e) {
            throw new IllegalStateException("Cannot format node " + node + ": " + e.getMessage(), e);
        }
        KafkaRaftServer server = new KafkaRaftServer(new KafkaConfig(props, false), Time.SYSTEM);
        server.startup();
        servers[node] = server;
    }

    private static boolean quietly(java.util.concurrent.Callable<Boolean> condition) {
        try {
            return condition.call();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (Exception e) {
            return false;
        }
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        admin.close(Duration.ofSeconds(2));
        for (int node = 2; node >= 1; node--) {
            if (servers[node] != null) {
                servers[node].shutdown();
                servers[node].awaitShutdown();
                servers[node] = null;
            }
        }
    }
}
