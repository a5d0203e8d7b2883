package io.watershed.testing;

import io.watershed.bus.BusClients;
import io.watershed.spi.BusConnection;
import io.watershed.spi.Secret;
import io.watershed.spi.Settings;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * A real three-node Kafka cluster (KRaft, the Kafka of the test's classpath), each node a combined broker and
 * controller in a JVM of its own ({@code kafka.Kafka}, 256 MB heap), so a test can stop one with SIGTERM, kill it with
 * SIGKILL and start it again on its log, as an operator would. All listeners bind 127.0.0.1. Everything lives in the
 * directory given: the nodes' properties, data directories and logs ({@code nodeN.log}: stdout, stderr, WARN and
 * above), and the TLS stores.
 *
 * <p>Secured like a production cluster: clients reach the {@code CLIENT} listeners ({@link #bootstrapServers()}) with
 * SASL_SSL only, as the super user {@code admin} (PLAIN, a password made for this fixture) or as users added with
 * {@link #addScramUser} (SCRAM-SHA-256/512). TLS uses a self-signed certificate for 127.0.0.1 and localhost made with
 * the JDK's keytool; clients trust it through {@link #truststore()}. The StandardAuthorizer checks every request with
 * {@code allow.everyone.if.no.acl.found=false}: a SCRAM user may do nothing until granted ({@link #grantAll}). The nodes
 * talk among themselves (inter-broker and controller listeners) with SASL_PLAINTEXT/PLAIN as the super user
 * {@code broker}: on loopback, TLS there would only slow the tests down. Kafka's internal topics are replicated three
 * times ({@code min.insync.replicas=2}) and created at start; a topic that does not ask gets Kafka's own defaults,
 * one replica and {@code min.insync.replicas=1}, so a test sees whether a client asked for more. No unclean leader
 * election, no automatic topic creation; a stopped node is fenced within about 3 s.
 *
 * <p>{@link #close()} kills every node; a shutdown hook does the same should the test JVM exit first.
 */
public final class KafkaCluster implements AutoCloseable {
    public static final int NODES = 3;
    private static final String ADMIN = "admin";
    private static final String BROKER = "broker";
    private static final Duration TIMEOUT = Duration.ofSeconds(90);
    private static final String PLAIN = "org.apache.kafka.common.security.plain.PlainLoginModule required ";
    private static final String LOG4J2 = """
            <Configuration status="WARN">
              <Appenders><Console name="out" target="SYSTEM_OUT">
                <PatternLayout pattern="%d{HH:mm:ss.SSS} %-5level %c{1} - %msg%n"/></Console></Appenders>
              <Loggers><Root level="WARN"><AppenderRef ref="out"/></Root></Loggers>
            </Configuration>
            """;
    /** What every node has in common but its passwords and paths. */
    private static final String SERVER_PROPERTIES = """
            process.roles=broker,controller
            controller.listener.names=CONTROLLER
            inter.broker.listener.name=INTERNAL
            listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,INTERNAL:SASL_PLAINTEXT,CLIENT:SASL_SSL
            sasl.mechanism.controller.protocol=PLAIN
            sasl.mechanism.inter.broker.protocol=PLAIN
            listener.name.controller.sasl.enabled.mechanisms=PLAIN
            listener.name.internal.sasl.enabled.mechanisms=PLAIN
            listener.name.client.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
            listener.name.client.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
            listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
            listener.name.client.ssl.keystore.type=PKCS12
            authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
            allow.everyone.if.no.acl.found=false
            super.users=User:admin;User:broker
            default.replication.factor=1
            min.insync.replicas=1
            offsets.topic.replication.factor=3
            offsets.topic.num.partitions=5
            transaction.state.log.replication.factor=3
            transaction.state.log.min.isr=2
            transaction.state.log.num.partitions=5
            share.coordinator.state.topic.num.partitions=5
            auto.create.topics.enable=false
            unclean.leader.election.enable=false
            group.initial.rebalance.delay.ms=0
            broker.session.timeout.ms=3000
            broker.heartbeat.interval.ms=500
            num.network.threads=1
            num.io.threads=2
            background.threads=2
            num.recovery.threads.per.data.dir=1
            log.cleaner.threads=1
            # 128 MB by default: half the heap
            log.cleaner.dedupe.buffer.size=16777216
            """;

    private final Path directory;
    private final String adminPassword = secret();
    private final String brokerPassword = secret();
    private final String storePassword = secret();
    /** Node n's controller, inter-broker and client port are ports[3n-3], [3n-2] and [3n-1], all distinct. */
    private final int[] ports = freePorts(3 * NODES);
    private final Process[] processes = new Process[NODES + 1];
    private final Thread shutdownHook = new Thread(this::destroyAll, "kafka-cluster-shutdown");
    private final Admin admin;

    /** Formats and starts the three nodes; returns once each is a registered broker and the internal topics exist. */
    public KafkaCluster(Path directory) {
        this.directory = directory.toAbsolutePath();
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        try {
            Files.createDirectories(this.directory);
            Files.writeString(this.directory.resolve("log4j2.xml"), LOG4J2);
            createStores();
            String clusterId = Uuid.randomUuid().toString();
            for (int node = 1; node <= NODES; node++) {
                writeProperties(node);
                format(node, clusterId);
            }
            IntStream.rangeClosed(1, NODES).forEach(this::launch);
            // before any client tries them: each failed try logs a warning in the test's log
            Await.until("the nodes' client listeners", TIMEOUT,
                    () -> IntStream.rangeClosed(1, NODES).allMatch(n -> !running(n) || listening(n)));
            admin = BusClients.admin(adminConnection(), "kafka-cluster",
                    Map.of("default.api.timeout.ms", "15000", "request.timeout.ms", "5000"));
            awaitBrokers("all " + NODES + " brokers registered", ids -> ids.size() == NODES);
            // as on a cluster in use, the coordinators' topics exist before a test stops a node (they need 3 nodes to be
            // created); a coordinator's lookup creates its topic, whatever the answer (no such group, no such id)
            Await.until("the internal topics", TIMEOUT, () -> quietly(() -> {
                admin.listConsumerGroupOffsets("probe").all().toCompletionStage().handle((r, e) -> r).toCompletableFuture().get();
                admin.describeTransactions(List.of("probe")).all().toCompletionStage().handle((r, e) -> r).toCompletableFuture().get();
                return admin.listTopics(new ListTopicsOptions().listInternal(true)).names().get()
                        .containsAll(Set.of("__consumer_offsets", "__transaction_state"));
            }));
        } catch (IOException e) {
            destroyAll();
            throw new UncheckedIOException("Cannot set up the Kafka cluster in " + this.directory, e);
        } catch (RuntimeException | Error e) {
            destroyAll();
            throw e;
        }
    }

    /** The CLIENT listeners (SASL_SSL) of the three nodes, comma-separated. */
    public String bootstrapServers() {
        return IntStream.rangeClosed(1, NODES).mapToObj(this::address).collect(Collectors.joining(","));
    }

    /** A PKCS#12 trust store with the nodes' certificate. */
    public Path truststore() {
        return directory.resolve("truststore.p12");
    }

    public String truststorePassword() {
        return storePassword;
    }

    /** The password of the super user {@code admin} (PLAIN). */
    public String adminPassword() {
        return adminPassword;
    }

    /** How the super user {@code admin} reaches the cluster: SASL_SSL, PLAIN, the fixture's trust store. */
    public BusConnection adminConnection() {
        return connection("PLAIN", ADMIN, adminPassword);
    }

    /**
     * How {@code user} reaches the cluster with SASL_SSL and {@code mechanism} (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512):
     * the client properties the platform derives from the same {@code bus.*} settings.
     */
    public BusConnection connection(String mechanism, String user, String password) {
        return BusConnection.external(new Settings.Bus(Optional.of(bootstrapServers()), 0, "127.0.0.1", false, false, "SASL_SSL",
                Optional.of(mechanism), Optional.of(user), Secret.of(password), Optional.of(truststore().toString()),
                Secret.of(storePassword), Optional.empty(), Secret.of(""), 0, 0, false));
    }

    /** An admin client of the super user (closed with the cluster). */
    public Admin admin() {
        return admin;
    }

    /** Adds {@code user} with SCRAM-SHA-512 and SCRAM-SHA-256 credentials; returns once it logs in on every running node. */
    public void addScramUser(String user, String password) {
        for (ScramMechanism mechanism : List.of(ScramMechanism.SCRAM_SHA_512, ScramMechanism.SCRAM_SHA_256)) { // one a request
            quietly(() -> admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(user,
                    new ScramCredentialInfo(mechanism, 8192), password))).all().get(30, TimeUnit.SECONDS));
        }
        IntStream.rangeClosed(1, NODES).filter(this::running).forEach(node -> Stream.of("SCRAM-SHA-512", "SCRAM-SHA-256")
                .forEach(mechanism -> Await.until(user + " logging in with " + mechanism + " on node " + node, TIMEOUT,
                        () -> canLogIn(node, mechanism, user, password))));
    }

    /** Whether {@code user} logs in on {@code node}: a client bootstrapped there lists topics (which needs no ACL). */
    public boolean canLogIn(int node, String mechanism, String user, String password) {
        try (Admin client = BusClients.admin(new BusConnection(address(node), connection(mechanism, user, password).security()),
                "kafka-cluster-login", Map.of("default.api.timeout.ms", "5000", "request.timeout.ms", "5000"))) {
            client.listTopics().names().get();
            return true;
        } catch (ExecutionException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * Allows {@code user} every operation on every topic, group and transactional id and on the cluster (creating
     * topics, SCRAM credentials and ACLs, altering configs): what a platform that is no super user needs. Returns once
     * the ACLs are committed to the metadata log and listed; the other brokers apply them within milliseconds.
     */
    public void grantAll(String user) {
        List<AclBinding> bindings = Stream.of(ResourceType.TOPIC, ResourceType.GROUP, ResourceType.TRANSACTIONAL_ID, ResourceType.CLUSTER)
                .map(type -> new ResourcePattern(type, type == ResourceType.CLUSTER ? "kafka-cluster" : "*", PatternType.LITERAL))
                .map(resource -> new AclBinding(resource,
                        new AccessControlEntry("User:" + user, "*", AclOperation.ALL, AclPermissionType.ALLOW)))
                .toList();
        quietly(() -> admin.createAcls(bindings).all().get(30, TimeUnit.SECONDS));
        Await.until("the ACLs of " + user, TIMEOUT,
                () -> quietly(() -> admin.describeAcls(AclBindingFilter.ANY).values().get().containsAll(bindings)));
    }

    /** SIGTERM (a controlled shutdown); returns once the process exited and the other nodes no longer list it. */
    public void stop(int node) {
        halt(node, false);
    }

    /** SIGKILL; returns once the process is gone and the other nodes fenced it (broker.session.timeout.ms, 3 s). */
    public void kill(int node) {
        halt(node, true);
    }

    /**
     * Starts a stopped node again on its log; returns once the cluster lists it as a broker and it is back in the ISR of
     * each of its partitions (so the next node may go down, as in a rolling restart). Needs a quorum: two nodes running.
     */
    public void start(int node) {
        if (running(node)) {
            throw new IllegalStateException("Cannot start node " + node + ": it runs");
        }
        launch(node);
        awaitBrokers("node " + node + " back in the cluster", ids -> ids.contains(node));
        Await.until("node " + node + " in the ISR of its partitions", TIMEOUT, () -> quietly(() -> partitionsOutOfSync(node)),
                List::isEmpty);
    }

    public boolean running(int node) {
        return processes[node] != null && processes[node].isAlive();
    }

    /** Where a node writes its stdout, stderr and log. */
    public Path log(int node) {
        return directory.resolve("node" + node + ".log");
    }

    /** The partitions with a replica on {@code node} that is not in sync. */
    private List<String> partitionsOutOfSync(int node) throws Exception {
        Set<String> topics = admin.listTopics(new ListTopicsOptions().listInternal(true)).names().get();
        return admin.describeTopics(topics).allTopicNames().get().values().stream().flatMap(topic -> topic.partitions().stream()
                        .filter(p -> p.replicas().stream().anyMatch(r -> r.id() == node) && p.isr().stream().noneMatch(r -> r.id() == node))
                        .map(p -> topic.name() + "-" + p.partition()))
                .toList();
    }

    private void halt(int node, boolean kill) {
        Process process = processes[node];
        if (process == null) {
            throw new IllegalStateException("Cannot stop node " + node + ": it is not running");
        }
        Instant start = Instant.now();
        if (kill) {
            process.destroyForcibly();
        } else {
            process.destroy();
        }
        if (!quietly(() -> process.waitFor(60, TimeUnit.SECONDS))) {
            process.destroyForcibly();
            throw new AssertionError("Node " + node + " did not exit within 60 s of SIGTERM; killed it\n" + logTails());
        }
        processes[node] = null;
        appendToLog(node, (kill ? "killed" : "stopped") + " after " + Duration.between(start, Instant.now()).toMillis() + " ms");
        if (IntStream.rangeClosed(1, NODES).anyMatch(this::running)) {
            awaitBrokers("the other nodes to notice that node " + node + " is gone", ids -> !ids.contains(node));
        }
    }

    private void launch(int node) {
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m", "-Xms64m",
                "-XX:+UseSerialGC", "-Dlog4j2.configurationFile=" + directory.resolve("log4j2.xml"), "-cp",
                System.getProperty("java.class.path"), "kafka.Kafka", directory.resolve("node" + node + ".properties").toString());
        appendToLog(node, "starting");
        try {
            processes[node] = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log(node).toFile())).start();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot start Kafka node " + node, e);
        }
    }

    /** Waits until the brokers the cluster lists satisfy {@code condition}; fails at once if a node that should run exited. */
    private void awaitBrokers(String what, Predicate<Set<Integer>> condition) {
        List<Integer> expected = IntStream.rangeClosed(1, NODES).filter(n -> processes[n] != null).boxed().toList();
        try {
            Await.until(what, TIMEOUT, () -> !expected.stream().allMatch(this::running) || condition.test(quietly(() ->
                    admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).stream().map(Node::id).collect(Collectors.toSet()))));
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n" + logTails(), e.getCause());
        }
        expected.stream().filter(n -> !running(n)).findFirst().ifPresent(n -> {
            throw new IllegalStateException("Kafka node " + n + " exited (" + processes[n].exitValue() + ") while waiting for " + what
                    + "\n" + logTails());
        });
    }

    private void writeProperties(int node) throws IOException {
        Properties props = new Properties();
        props.load(new StringReader(SERVER_PROPERTIES));
        String nodes = PLAIN + "username=\"" + BROKER + "\" password=\"" + brokerPassword + "\" user_" + BROKER + "=\"" + brokerPassword
                + "\";";
        props.put("node.id", String.valueOf(node));
        props.put("controller.quorum.voters", IntStream.rangeClosed(1, NODES).mapToObj(n -> n + "@127.0.0.1:" + ports[3 * n - 3])
                .collect(Collectors.joining(",")));
        props.put("listeners", "CONTROLLER://127.0.0.1:" + ports[3 * node - 3] + ",INTERNAL://127.0.0.1:" + ports[3 * node - 2]
                + ",CLIENT://" + address(node));
        props.put("advertised.listeners", "INTERNAL://127.0.0.1:" + ports[3 * node - 2] + ",CLIENT://" + address(node));
        props.put("listener.name.controller.plain.sasl.jaas.config", nodes);
        props.put("listener.name.internal.plain.sasl.jaas.config", nodes);
        props.put("listener.name.client.plain.sasl.jaas.config", PLAIN + "user_" + ADMIN + "=\"" + adminPassword + "\";");
        props.put("listener.name.client.ssl.keystore.location", directory.resolve("keystore.p12").toString());
        props.put("listener.name.client.ssl.keystore.password", storePassword);
        props.put("listener.name.client.ssl.key.password", storePassword);
        props.put("log.dirs", directory.resolve("node" + node).toString());
        props.put("metadata.log.dir", directory.resolve("node" + node).toString());
        try (OutputStream out = Files.newOutputStream(directory.resolve("node" + node + ".properties"))) {
            props.store(out, "Kafka node " + node + " of " + directory);
        }
    }

    private void format(int node, String clusterId) {
        String data = directory.resolve("node" + node).toString();
        try {
            new Formatter().setPrintStream(new PrintStream(OutputStream.nullOutputStream())).setNodeId(node).setClusterId(clusterId)
                    .setDirectories(List.of(data)).setMetadataLogDirectory(data).setControllerListenerName("CONTROLLER")
                    .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION).run();
        } catch (Exception e) {
            throw new IllegalStateException("Cannot format Kafka node " + node + " in " + data + ": " + e.getMessage(), e);
        }
    }

    /** A self-signed key pair for 127.0.0.1 and localhost (all nodes share it) and a trust store holding its certificate. */
    private void createStores() {
        String keystore = directory.resolve("keystore.p12").toString();
        String certificate = directory.resolve("node.crt").toString();
        keytool("-genkeypair", "-alias", "node", "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "30", "-dname", "CN=localhost",
                "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-storetype", "PKCS12", "-keystore", keystore, "-storepass", storePassword);
        keytool("-exportcert", "-rfc", "-alias", "node", "-keystore", keystore, "-storepass", storePassword, "-file", certificate);
        keytool("-importcert", "-noprompt", "-alias", "node", "-file", certificate, "-storetype", "PKCS12", "-keystore",
                truststore().toString(), "-storepass", storePassword);
    }

    private static void keytool(String... arguments) {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
        command.addAll(List.of(arguments));
        try {
            Process keytool = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(keytool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (keytool.waitFor() != 0) {
                throw new IllegalStateException("Cannot run keytool " + arguments[0] + ": " + output.strip());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot run keytool", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private String address(int node) {
        return "127.0.0.1:" + ports[3 * node - 1];
    }

    private boolean listening(int node) {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), ports[3 * node - 1])) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private void appendToLog(int node, String event) {
        try {
            Files.writeString(log(node), "=== " + Instant.now() + " KafkaCluster: node " + node + " " + event + "\n",
                    StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write " + log(node), e);
        }
    }

    /** The last lines of each node's log, for a failure message. */
    private String logTails() {
        StringBuilder tails = new StringBuilder();
        for (int node = 1; node <= NODES; node++) {
            tails.append("--- ").append(log(node)).append(" (last 15 lines):\n");
            try {
                List<String> lines = Files.exists(log(node)) ? Files.readAllLines(log(node), StandardCharsets.UTF_8) : List.of();
                lines.subList(Math.max(0, lines.size() - 15), lines.size()).forEach(line -> tails.append(line).append('\n'));
            } catch (IOException e) {
                tails.append("(cannot read it: ").append(e).append(")\n");
            }
        }
        return tails.toString();
    }

    /** Calls {@code call}, turning a checked exception into an unchecked one (Await retries on those). */
    private static <T> T quietly(Callable<T> call) {
        try {
            return call.call();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    private static String secret() {
        return java.util.UUID.randomUUID().toString().replace("-", "");
    }

    private static int[] freePorts(int count) {
        Set<Integer> ports = new LinkedHashSet<>(); // distinct: a free port stays free only until bound, so asks may repeat
        while (ports.size() < count) {
            try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                ports.add(socket.getLocalPort());
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot find a free port", e);
            }
        }
        return ports.stream().mapToInt(Integer::intValue).toArray();
    }

    private void destroyAll() {
        for (Process process : processes) {
            if (process != null) {
                process.destroyForcibly();
                quietly(() -> process.waitFor(10, TimeUnit.SECONDS));
            }
        }
    }

    /** Kills every node (SIGKILL: nothing of a test cluster needs to survive it). */
    @Override
    public void close() {
        admin.close(Duration.ofSeconds(1));
        destroyAll();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs anyway
        }
    }
}
