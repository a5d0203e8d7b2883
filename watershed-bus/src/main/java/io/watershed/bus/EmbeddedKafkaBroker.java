package io.watershed.bus;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Apache Kafka broker in KRaft mode (combined broker and controller, one node) running in
 * this JVM, with its log in {@code logDirectory} so it survives restarts. Kafka's server classes
 * are internal and have no compatibility promise; this is the only class that touches them.
 *
 * <p>Two client listeners: {@code INTERNAL}, plaintext on a loopback port of its own, for the platform's own clients
 * (the principal {@code User:watershed}, a super user); and {@code EXTERNAL} on {@code bus.host:bus.port} for everyone
 * else, which takes SASL/SCRAM-SHA-256/512 logins (credentials kept by the broker, {@link BrokerAccess}) and, when given
 * {@link TokenPlainCallbackHandler.Logins}, SASL/PLAIN logins checked by them; either way a token logs in as
 * {@code User:<its id>}, and every request is authorized with the ACLs the platform derives from its grants. With
 * {@code bus.plaintext} the external listener takes anyone, unchecked.
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);
    private static final int NODE_ID = 1;

    static final String INTERNAL = "INTERNAL";
    private static final String EXTERNAL = "EXTERNAL";

    private final KafkaRaftServer server;
    private final int port;
    private final int internalPort;
    private final String host;
    private final boolean plaintext;
    /** The handle of the PLAIN logins ({@link TokenPlainCallbackHandler}), or null when PLAIN is off. */
    private final String plainLogins;

    /** A broker whose only client port is {@code port} on loopback, open to anyone (tests of the bus alone). */
    public EmbeddedKafkaBroker(Path logDirectory, int port) {
        this(logDirectory, "127.0.0.1", port, true);
    }

    /** A broker whose external listener takes SASL/SCRAM logins only (unless {@code plaintext}). */
    public EmbeddedKafkaBroker(Path logDirectory, String host, int port, boolean plaintext) {
        this(logDirectory, host, port, plaintext, Optional.empty());
    }

    /**
     * Formats the log directory on first use, then starts the broker.
     *
     * @param host the address the external client listener binds
     * @param port its port, or 0 for a free one
     * @param plaintext whether that listener takes unauthenticated clients instead of SASL logins
     * @param plain when present (and not {@code plaintext}), the listener also takes SASL/PLAIN logins, checked by
     *     these; PLAIN sends the password as it is, so offer it only where no one else can read the connection
     */
    public EmbeddedKafkaBroker(Path logDirectory, String host, int port, boolean plaintext,
            Optional<TokenPlainCallbackHandler.Logins> plain) {
        this.host = host;
        this.plaintext = plaintext;
        explainHalts(logDirectory);
        // Ports chosen for a data directory are kept for its next start: the metadata log remembers the
        // broker's endpoints, and a broker that comes back elsewhere leaves the transaction coordinator
        // writing commit markers to the old address for a while (transactions then resolve late).
        Path portsFile = logDirectory.resolveSibling("kafka-ports.properties");
        Properties ports = new Properties();
        if (Files.exists(portsFile)) {
            try (var in = Files.newInputStream(portsFile)) {
                ports.load(in);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read " + portsFile, e);
            }
        }
        // three distinct ports: a free port is free until bound, so two asks in a row can get the same one (a CI run did)
        java.util.Set<Integer> chosen = new java.util.HashSet<>();
        this.port = port != 0 ? port : reuseOrFree(ports.getProperty("broker"), chosen);
        chosen.add(this.port);
        int controllerPort = reuseOrFree(ports.getProperty("controller"), chosen);
        chosen.add(controllerPort);
        this.internalPort = reuseOrFree(ports.getProperty("internal"), chosen);
        ports.setProperty("broker", String.valueOf(this.port));
        ports.setProperty("controller", String.valueOf(controllerPort));
        ports.setProperty("internal", String.valueOf(internalPort));
        try {
            Files.createDirectories(logDirectory);
            try (var out = Files.newOutputStream(portsFile)) {
                ports.store(out, "ports of the embedded Kafka broker, reused at the next start");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write " + portsFile, e);
        }
        String logDir = logDirectory.toAbsolutePath().toString();
        try {
            Files.createDirectories(logDirectory);
            if (!Files.exists(logDirectory.resolve("meta.properties"))) {
                format(logDir);
            }
        } catch (Exception e) {
            throw new IllegalStateException("Cannot format the Kafka log directory " + logDir + ": " + e.getMessage(), e);
        }
        this.plainLogins = plaintext ? null : plain.map(TokenPlainCallbackHandler::register).orElse(null);
        Properties props = new Properties();
        props.put("process.roles", "broker,controller");
        props.put("node.id", String.valueOf(NODE_ID));
        props.put("controller.quorum.voters", NODE_ID + "@127.0.0.1:" + controllerPort);
        String advertisedHost = host.equals("0.0.0.0") || host.equals("::") ? "127.0.0.1" : host;
        props.put("listeners", INTERNAL + "://127.0.0.1:" + internalPort + "," + EXTERNAL + "://" + host + ":" + this.port
                + ",CONTROLLER://127.0.0.1:" + controllerPort);
        props.put("advertised.listeners", INTERNAL + "://127.0.0.1:" + internalPort + "," + EXTERNAL + "://" + advertisedHost + ":" + this.port);
        props.put("controller.listener.names", "CONTROLLER");
        props.put("inter.broker.listener.name", INTERNAL);
        props.put("listener.security.protocol.map", INTERNAL + ":PLAINTEXT," + EXTERNAL + ":" + (plaintext ? "PLAINTEXT" : "SASL_PLAINTEXT")
                + ",CONTROLLER:PLAINTEXT");
        if (!plaintext) {
            String listener = "listener.name." + EXTERNAL.toLowerCase(java.util.Locale.ROOT) + ".";
            props.put(listener + "sasl.enabled.mechanisms", String.join(",", mechanisms()));
            props.put(listener + "scram-sha-256.sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required;");
            props.put(listener + "scram-sha-512.sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required;");
            if (plainLogins != null) {
                // Kafka wants a JAAS configuration for every enabled mechanism of a listener; this one names no users
                // (PlainLoginModule's user_<name> options): the handler checks the platform's tokens instead
                props.put(listener + "plain.sasl.jaas.config", TokenPlainCallbackHandler.jaasConfig(plainLogins));
                props.put(listener + "plain.sasl.server.callback.handler.class", TokenPlainCallbackHandler.class.getName());
            }
            // a revoked token's credential is gone at once for new connections and its ACLs for every request; an open
            // connection must also log in again within this long
            props.put(listener + "connections.max.reauth.ms", "300000");
            props.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
            props.put("allow.everyone.if.no.acl.found", "false");
            props.put("super.users", PlatformPrincipalBuilder.PLATFORM.toString());
            props.put("principal.builder.class", PlatformPrincipalBuilder.class.getName());
        }
        props.put("log.dirs", logDir);
        props.put("metadata.log.dir", logDir);
        props.put("offsets.topic.replication.factor", "1");
        props.put("offsets.topic.num.partitions", "4");
        props.put("transaction.state.log.replication.factor", "1");
        props.put("transaction.state.log.min.isr", "1");
        props.put("transaction.state.log.num.partitions", "4");
        props.put("share.coordinator.state.topic.replication.factor", "1");
        props.put("share.coordinator.state.topic.min.isr", "1");
        props.put("group.initial.rebalance.delay.ms", "0");
        props.put("auto.create.topics.enable", "false");
        props.put("num.partitions", "2");
        props.put("min.insync.replicas", "1");
        props.put("log.retention.hours", "168");
        props.put("num.network.threads", "2");
        props.put("num.io.threads", "4");
        props.put("log.cleaner.threads", "1");
        props.put("unclean.leader.election.enable", "false");
        // one in-process node: after a kill -9 its old registration must expire before it may rejoin,
        // so keep the session short (the default 9 s adds that much to every restart after a crash)
        props.put("broker.session.timeout.ms", "4000");
        props.put("broker.heartbeat.interval.ms", "1000");
        try {
            this.server = new KafkaRaftServer(new KafkaConfig(props, false), Time.SYSTEM);
            server.startup();
        } catch (RuntimeException | Error e) {
            unregisterPlainLogins();
            throw e;
        }
        LOG.info("Embedded Kafka broker (KRaft): clients on {}:{} ({}), the platform on 127.0.0.1:{}, log in {}", host, this.port,
                plaintext ? "plaintext, no authentication" : "SASL " + String.join(", ", mechanisms()), internalPort, logDir);
    }

    private void unregisterPlainLogins() {
        if (plainLogins != null) {
            TokenPlainCallbackHandler.unregister(plainLogins);
        }
    }

    private static void format(String logDir) throws Exception {
        new Formatter()
                .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                .setNodeId(NODE_ID)
                .setClusterId(Uuid.randomUuid().toString())
                .setDirectories(List.of(logDir))
                .setMetadataLogDirectory(logDir)
                .setControllerListenerName("CONTROLLER")
                .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
                .run();
    }

    private static int reuseOrFree(String previous, java.util.Set<Integer> chosen) {
        if (previous != null && !chosen.contains(Integer.parseInt(previous.trim()))) {
            int candidate = Integer.parseInt(previous.trim());
            try (ServerSocket socket = new ServerSocket()) {
                socket.setReuseAddress(true); // as Kafka's acceptor does: connections of the last run may linger in TIME_WAIT
                socket.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), candidate));
                return candidate;
            } catch (IOException taken) {
                LOG.warn("Port {} used by the embedded broker last time is taken; picking another", candidate);
            }
        }
        for (int attempt = 0; attempt < 50; attempt++) {
            int candidate = freePort();
            if (!chosen.contains(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException("Cannot find a free port for the embedded broker distinct from " + chosen);
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot find a free port", e);
        }
    }

    /** The platform's own listener (loopback, plaintext, super user). */
    public String bootstrapServers() {
        return "127.0.0.1:" + internalPort;
    }

    /** The address outside clients use ({@code bus.host:bus.port}). */
    public String externalAddress() {
        return (host.equals("0.0.0.0") || host.equals("::") ? "127.0.0.1" : host) + ":" + port;
    }

    /** Whether outside clients log in with SASL (else they are let in unchecked). */
    public boolean authenticated() {
        return !plaintext;
    }

    /** The SASL mechanisms outside clients log in with: PLAIN (when given logins), SCRAM-SHA-256 and -512; none with plaintext. */
    public List<String> mechanisms() {
        if (plaintext) {
            return List.of();
        }
        return plainLogins != null ? List.of("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512") : List.of("SCRAM-SHA-256", "SCRAM-SHA-512");
    }

    @Override
    public void close() {
        try {
            server.shutdown();
            server.awaitShutdown();
        } finally {
            unregisterPlainLogins();
        }
    }

    /**
     * Kafka halts the JVM when it cannot write its log (all log directories failed: a full disk, a disk error), as a
     * Kafka broker does; here that stops the whole platform. Before it does, say so in words a user can act on. The
     * halt itself stays: acknowledged events are in the log already, and a restart recovers them as after kill -9.
     */
    private static void explainHalts(Path logDirectory) {
        Path directory = logDirectory.toAbsolutePath();
        org.apache.kafka.common.utils.Exit.setHaltProcedure((code, message) -> {
            long free = directory.toFile().getUsableSpace();
            LOG.error("The embedded Kafka broker stopped Watershed (exit {}){}: {} bytes are free on the disk of {}. Every "
                    + "acknowledged event is in the bus's log; {}, then start again (recovery is the same as after kill -9)", code,
                    message == null ? "" : " (" + message + ")", free, directory,
                    free < (64L << 20) ? "free space on that disk" : "check that disk (the log above says what failed)");
            Runtime.getRuntime().halt(code);
        });
    }
}
