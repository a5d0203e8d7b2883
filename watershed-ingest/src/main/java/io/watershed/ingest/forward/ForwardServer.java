package io.watershed.ingest.forward;

import io.watershed.ingest.Source;
import io.watershed.ingest.SourcePublisher;
import io.watershed.spi.Settings;
import io.watershed.spi.SourceStatus;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Fluentd forward protocol (v1) on TCP, so Fluentd's and Fluent Bit's {@code forward} output and the
 * fluent-logger libraries ship to Watershed unchanged: Message, Forward, PackedForward and
 * CompressedPackedForward modes; {@code chunk}/{@code ack}; the {@code shared_key} handshake; heartbeats
 * over UDP (answered) and TCP (a connection that sends nothing).
 *
 * <p>This class is the listener: it binds the port (at construction, so a taken port fails the start), accepts up
 * to {@value #MAX_CONNECTIONS} connections and answers UDP heartbeats. {@link ForwardProtocol} serves each
 * connection; {@link ForwardReader} turns a message into events. An {@code ack} is sent only once every event of the
 * message is durable in Kafka. A record that cannot be an event (not a map, invalid UTF-8, nested too deep) goes to
 * the stream's dead-letter table with the reason; framing that cannot be read closes the connection and is counted.
 */
public final class ForwardServer implements Source {
    private static final Logger LOG = LoggerFactory.getLogger(ForwardServer.class);
    /** Largest message (one chunk) read into memory before it is published; Fluentd's chunks are 8 MiB by default. */
    public static final int MAX_MESSAGE_BYTES = 64 << 20;
    static final int MAX_CONNECTIONS = 256;
    static final String SOURCE = "forward";

    private final SourcePublisher publisher;
    private final Settings.Ingest settings;
    private final Map<String, List<String>> tags;
    private final ForwardProtocol protocol;
    private final ServerSocket server;
    private final DatagramSocket heartbeat;
    private final Set<Socket> connections = ConcurrentHashMap.newKeySet();
    private final AtomicInteger connectionCount = new AtomicInteger();
    private volatile boolean closed;

    /**
     * Binds the forward port ({@code ingest.forward_host}, {@code ingest.forward_port}).
     *
     * @param tags each stream's declared tag patterns, as the status shows them
     * @throws IOException the port cannot be bound
     */
    public ForwardServer(SourcePublisher publisher, TagRouter router, Map<String, List<String>> tags, Settings.Ingest settings)
            throws IOException {
        this.publisher = publisher;
        this.settings = settings;
        this.tags = tags;
        byte[] sharedKey = settings.forwardSharedKey().isEmpty() ? null
                : settings.forwardSharedKey().reveal().getBytes(StandardCharsets.UTF_8);
        this.protocol = new ForwardProtocol(publisher, new ForwardReader(publisher, router, settings.autoCreateStreams()), sharedKey,
                "watershed-" + localName(), () -> closed);
        InetAddress address = InetAddress.getByName(settings.forwardHost());
        server = new ServerSocket();
        server.setReuseAddress(true);
        try {
            server.bind(new InetSocketAddress(address, settings.forwardPort()), 128);
        } catch (IOException e) {
            server.close();
            throw new IOException("Cannot listen for Fluentd forward on " + settings.forwardHost() + ":" + settings.forwardPort()
                    + ": " + e.getMessage() + "; set ingest.forward_port to a free port (0 picks one, -1 turns it off)", e);
        }
        DatagramSocket udp;
        try {
            udp = new DatagramSocket(new InetSocketAddress(address, server.getLocalPort()));
        } catch (SocketException e) {
            LOG.warn("Fluentd forward: cannot answer UDP heartbeats on port {} ({}); TCP heartbeats still work",
                    server.getLocalPort(), e.getMessage());
            udp = null;
        }
        heartbeat = udp;
    }

    @Override
    public void start() {
        Thread accept = new Thread(this::acceptLoop, "watershed-forward-accept");
        accept.setDaemon(true);
        accept.start();
        if (heartbeat != null) {
            Thread udpThread = new Thread(this::heartbeatLoop, "watershed-forward-heartbeat");
            udpThread.setDaemon(true);
            udpThread.start();
        }
        LOG.info("Fluentd forward protocol on {}:{}{}", settings.forwardHost(), port(),
                settings.forwardSharedKey().isEmpty() ? "" : " (shared-key handshake required)");
    }

    @Override
    public String name() {
        return SOURCE;
    }

    @Override
    public SourceStatus.Forward status() {
        return new SourceStatus.Forward(SOURCE, settings.forwardHost() + ":" + port(), settings.forwardSharedKey(), tags,
                settings.autoCreateStreams(), connections(), messages());
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Messages read since the start. */
    public long messages() {
        return protocol.messages();
    }

    /** Open client connections. */
    public int connections() {
        return connectionCount.get();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket socket;
            try {
                socket = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("Fluentd forward: accept failed: {}", e.toString());
                }
                continue;
            }
            if (connectionCount.incrementAndGet() > MAX_CONNECTIONS) {
                connectionCount.decrementAndGet();
                publisher.error(SOURCE, null, "too_many_connections");
                LOG.warn("Fluentd forward: refusing {}: {} connections are open already", socket.getRemoteSocketAddress(),
                        MAX_CONNECTIONS);
                closeQuietly(socket);
                continue;
            }
            connections.add(socket);
            Thread t = new Thread(() -> {
                try {
                    protocol.serve(socket);
                } finally {
                    connections.remove(socket);
                    connectionCount.decrementAndGet();
                }
            }, "watershed-forward-" + socket.getPort());
            t.setDaemon(true);
            t.start();
        }
    }

    /** Fluentd's in_forward answers a UDP heartbeat with one byte; out_forward with heartbeat_type udp waits for it. */
    private void heartbeatLoop() {
        byte[] buffer = new byte[64];
        while (!closed) {
            try {
                DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
                heartbeat.receive(packet);
                heartbeat.send(new DatagramPacket(new byte[] {0}, 1, packet.getSocketAddress()));
            } catch (IOException e) {
                if (!closed) {
                    LOG.debug("Fluentd forward: heartbeat: {}", e.toString());
                }
            }
        }
    }

    private static String localName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(server);
        if (heartbeat != null) {
            heartbeat.close();
        }
        for (Socket socket : connections) {
            closeQuietly(socket);
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // closing
        }
    }
}
