package io.watershed.testing;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.config.DefaultDriverOption;
import com.datastax.oss.driver.api.core.config.DriverConfigLoader;
import com.datastax.oss.driver.api.core.cql.Row;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A real Apache Cassandra 5.0 server, one node, in a JVM of its own: the classpath Maven resolved into the resource
 * {@code io/watershed/testing/cassandra.classpath} (module watershed-testing-cassandra), Cassandra's Java 17 module
 * options and jamm agent, a small heap, free ports on the loopback address, its data under the given directory. It can
 * be stopped and started again on the same data and ports. Its datacenter is {@value #DATACENTER}; it asks for no login.
 * Start it once per test class: it takes some 10 to 30 s.
 */
public final class CassandraNode implements AutoCloseable {
    /** The datacenter of a node with Cassandra's {@code SimpleSnitch}. */
    public static final String DATACENTER = "datacenter1";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(180);
    /** Cassandra's jvm17-server.options, without its GC settings (this node runs the serial collector on a small heap). */
    private static final List<String> JVM17_OPTIONS = List.of("-Djdk.attach.allowAttachSelf=true",
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
            "--add-exports", "java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
            "--add-exports", "java.rmi/sun.rmi.registry=ALL-UNNAMED",
            "--add-exports", "java.rmi/sun.rmi.server=ALL-UNNAMED",
            "--add-exports", "java.sql/java.sql=ALL-UNNAMED",
            "--add-exports", "java.base/java.lang.ref=ALL-UNNAMED",
            "--add-exports", "jdk.unsupported/sun.misc=ALL-UNNAMED",
            "--add-exports", "jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
            "--add-exports", "jdk.attach/sun.tools.attach=ALL-UNNAMED",
            "--add-opens", "java.base/java.lang.module=ALL-UNNAMED",
            "--add-opens", "java.base/jdk.internal.loader=ALL-UNNAMED",
            "--add-opens", "java.base/jdk.internal.ref=ALL-UNNAMED",
            "--add-opens", "java.base/jdk.internal.reflect=ALL-UNNAMED",
            "--add-opens", "java.base/jdk.internal.math=ALL-UNNAMED",
            "--add-opens", "java.base/jdk.internal.module=ALL-UNNAMED",
            "--add-opens", "java.base/jdk.internal.util.jar=ALL-UNNAMED",
            "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
            "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
            "--add-opens", "java.base/java.io=ALL-UNNAMED",
            "--add-opens", "java.base/java.lang.reflect=ALL-UNNAMED",
            "--add-opens", "jdk.compiler/com.sun.tools.javac=ALL-UNNAMED",
            "--add-opens", "java.base/java.lang=ALL-UNNAMED",
            "--add-opens", "java.base/java.util=ALL-UNNAMED",
            "-Dio.netty.tryReflectionSetAccessible=true");

    private final Path directory;
    private final String classpath;
    private final int storagePort;
    private final int nativePort;
    private final Thread shutdownHook = new Thread(this::kill, "cassandra-node-shutdown");
    private Process process;
    private CqlSession session;

    private CassandraNode(Path directory) {
        this.directory = directory;
        this.classpath = classpath();
        int[] ports = freePorts();
        this.storagePort = ports[0];
        this.nativePort = ports[1];
    }

    /** Starts a node with its data and logs in {@code directory} ({@code system.log}, {@code output.log}). */
    public static CassandraNode start(Path directory) {
        CassandraNode node = new CassandraNode(directory);
        try {
            Files.createDirectories(directory);
            Files.writeString(directory.resolve("cassandra.yaml"), node.yaml());
            Files.writeString(directory.resolve("logback.xml"), """
                    <configuration>
                      <appender name="FILE" class="ch.qos.logback.core.FileAppender">
                        <file>%s</file>
                        <encoder><pattern>%%-5level [%%thread] %%date{ISO8601} %%F:%%L - %%msg%%n</pattern></encoder>
                      </appender>
                      <root level="INFO"><appender-ref ref="FILE"/></root>
                    </configuration>
                    """.formatted(directory.resolve("system.log")));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the configuration of a Cassandra node in " + directory, e);
        }
        Runtime.getRuntime().addShutdownHook(node.shutdownHook);
        node.start();
        return node;
    }

    /** {@code 127.0.0.1:<port>} of its CQL port. */
    public String contactPoint() {
        return "127.0.0.1:" + nativePort;
    }

    /** A driver session on the node (kept open until {@link #stop()} or {@link #close()}). */
    public synchronized CqlSession session() {
        if (session == null) {
            session = CqlSession.builder().addContactPoint(new InetSocketAddress("127.0.0.1", nativePort))
                    .withLocalDatacenter(DATACENTER)
                    .withConfigLoader(DriverConfigLoader.programmaticBuilder()
                            .withDuration(DefaultDriverOption.REQUEST_TIMEOUT, Duration.ofSeconds(20))
                            .withInt(DefaultDriverOption.NETTY_IO_SHUTDOWN_QUIET_PERIOD, 0)
                            .withInt(DefaultDriverOption.NETTY_ADMIN_SHUTDOWN_QUIET_PERIOD, 0).build())
                    .build();
        }
        return session;
    }

    /** The answer to a CQL query, each row its values as text joined by single spaces (null as {@code null}). */
    public List<String> rows(String cql) {
        List<String> rows = new ArrayList<>();
        for (Row row : session().execute(cql)) {
            List<String> values = new ArrayList<>();
            for (int i = 0; i < row.getColumnDefinitions().size(); i++) {
                Object value = row.getObject(i);
                values.add(String.valueOf(value));
            }
            rows.add(String.join(" ", values));
        }
        return rows;
    }

    /** Starts the stopped node again on its data and ports; returns once it takes CQL connections. */
    public synchronized void start() {
        if (process != null) {
            throw new IllegalStateException("Cannot start the Cassandra node: it is running");
        }
        String jamm = Stream.of(classpath.split(java.io.File.pathSeparator)).filter(j -> j.contains("jamm")).findFirst()
                .orElseThrow(() -> new IllegalStateException("Cannot start Cassandra: no jamm jar on its classpath"));
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xms128m", "-Xmx384m", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError", "-javaagent:" + jamm));
        command.addAll(JVM17_OPTIONS);
        command.addAll(List.of("-Dcassandra.config=" + directory.resolve("cassandra.yaml").toUri(),
                "-Dcassandra.storagedir=" + directory.resolve("storage"),
                "-Dcassandra-foreground=yes",
                "-Dlogback.configurationFile=" + directory.resolve("logback.xml"),
                // one node alone: nothing to wait for
                "-Dcassandra.skip_wait_for_gossip_to_settle=0", "-Dcassandra.ring_delay_ms=0",
                "-cp", classpath, "org.apache.cassandra.service.CassandraDaemon"));
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(directory.resolve("output.log").toFile())).start();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot start a Cassandra node", e);
        }
        Process started = process;
        try {
            Await.until("Cassandra to take CQL connections on port " + nativePort, START_TIMEOUT,
                    () -> !started.isAlive() || listening(nativePort));
        } catch (AssertionError e) {
            kill();
            process = null;
            throw new AssertionError(e.getMessage() + "\n" + logTail(), e);
        }
        if (!started.isAlive()) {
            process = null;
            throw new IllegalStateException("Cassandra exited (" + started.exitValue() + ") while starting\n" + logTail());
        }
    }

    /** Stops the node (SIGTERM: it flushes its memtables), keeping its data and ports for {@link #start()}. */
    public synchronized void stop() {
        closeSession();
        if (process == null) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    /** The last lines of the node's log, for failure messages. */
    public String logTail() {
        try {
            Path log = directory.resolve("system.log");
            List<String> lines = Files.exists(log) ? Files.readAllLines(log, StandardCharsets.UTF_8)
                    : Files.readAllLines(directory.resolve("output.log"), StandardCharsets.UTF_8);
            return "Cassandra's log (" + directory + "):\n"
                    + lines.subList(Math.max(0, lines.size() - 30), lines.size()).stream().collect(Collectors.joining("\n"));
        } catch (IOException e) {
            return "(no log of Cassandra in " + directory + ")";
        }
    }

    private void kill() {
        Process p = process;
        if (p != null) {
            p.destroyForcibly();
        }
    }

    private void closeSession() {
        if (session != null) {
            session.close();
            session = null;
        }
    }

    /** Stops the node; its directory is the caller's. */
    @Override
    public void close() {
        stop();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs anyway
        }
    }

    private String yaml() {
        return """
                cluster_name: watershed-test
                num_tokens: 1
                initial_token: 0
                partitioner: org.apache.cassandra.dht.Murmur3Partitioner
                endpoint_snitch: SimpleSnitch
                commitlog_sync: periodic
                commitlog_sync_period: 10000ms
                seed_provider:
                  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
                    parameters:
                      - seeds: "127.0.0.1:%d"
                listen_address: 127.0.0.1
                rpc_address: 127.0.0.1
                storage_port: %d
                native_transport_port: %d
                start_native_transport: true
                auto_snapshot: false
                """.formatted(storagePort, storagePort, nativePort);
    }

    private static boolean listening(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static String classpath() {
        try (InputStream in = CassandraNode.class.getResourceAsStream("cassandra.classpath")) {
            if (in == null) {
                throw new IllegalStateException("Cannot start Cassandra: no resource io/watershed/testing/cassandra.classpath; "
                        + "build the module watershed-testing-cassandra");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int[] freePorts() {
        try (ServerSocket a = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                ServerSocket b = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return new int[] {a.getLocalPort(), b.getLocalPort()};
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot find free ports", e);
        }
    }
}
