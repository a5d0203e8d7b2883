package io.watershed.ingest.forward;

import io.watershed.ingest.LimitedInputStream;
import io.watershed.ingest.SourcePublisher;
import io.watershed.spi.EventBus;
import io.watershed.spi.Settings;
import io.watershed.spi.StreamSpec;
import io.watershed.spi.WatershedException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPInputStream;
import org.msgpack.core.ExtensionTypeHeader;
import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessageFormat;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessagePackException;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.ValueType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Fluentd forward protocol (v1) on TCP, so Fluentd's and Fluent Bit's {@code forward} output and the
 * fluent-logger libraries ship to Watershed unchanged: Message, Forward, PackedForward and
 * CompressedPackedForward modes; {@code chunk}/{@code ack}; the {@code shared_key} handshake; heartbeats
 * over UDP (answered) and TCP (a connection that sends nothing).
 *
 * <p>An {@code ack} is sent only once every event of the message is durable in Kafka. A message with a
 * {@code chunk} id is published in one Kafka transaction with that id, so the retry of a chunk whose ack
 * was lost is acknowledged again without being written twice. A record that cannot be an event (not a
 * map, invalid UTF-8, nested too deep) goes to the stream's dead-letter table with the reason; framing that
 * cannot be read closes the connection and is counted.
 */
public final class ForwardServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ForwardServer.class);
    /** Largest message (one chunk) read into memory before it is published; Fluentd's chunks are 8 MiB by default. */
    public static final int MAX_MESSAGE_BYTES = 64 << 20;
    /** Largest CompressedPackedForward payload after decompression. */
    static final long MAX_DECOMPRESSED_BYTES = 256L << 20;
    static final int MAX_CONNECTIONS = 256;
    static final String SOURCE = "forward";

    private final SourcePublisher publisher;
    private final TagRouter router;
    private final boolean createOnFirstUse;
    private final byte[] sharedKey;
    private final String hostname;
    private final ServerSocket server;
    private final DatagramSocket heartbeat;
    private final Set<Socket> connections = ConcurrentHashMap.newKeySet();
    private final AtomicInteger connectionCount = new AtomicInteger();
    private final Map<String, Long> unroutedWarned = new ConcurrentHashMap<>();
    private final AtomicLong messages = new AtomicLong();
    private final SecureRandom random = new SecureRandom();
    private volatile boolean closed;

    public ForwardServer(SourcePublisher publisher, TagRouter router, boolean createOnFirstUse, Settings.Ingest settings)
            throws IOException {
        this.publisher = publisher;
        this.router = router;
        this.createOnFirstUse = createOnFirstUse;
        this.sharedKey = settings.forwardSharedKey().isEmpty() ? null
                : settings.forwardSharedKey().reveal().getBytes(StandardCharsets.UTF_8);
        this.hostname = "watershed-" + localName();
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
        Thread accept = new Thread(this::acceptLoop, "watershed-forward-accept");
        accept.setDaemon(true);
        accept.start();
        if (heartbeat != null) {
            Thread udpThread = new Thread(this::heartbeatLoop, "watershed-forward-heartbeat");
            udpThread.setDaemon(true);
            udpThread.start();
        }
        LOG.info("Fluentd forward protocol on {}:{}{}", settings.forwardHost(), port(),
                sharedKey == null ? "" : " (shared-key handshake required)");
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Messages read since the start. */
    public long messages() {
        return messages.get();
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
            Thread t = new Thread(() -> serve(socket), "watershed-forward-" + socket.getPort());
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

    private void serve(Socket socket) {
        String peer = String.valueOf(socket.getRemoteSocketAddress());
        try (socket) {
            socket.setTcpNoDelay(true);
            CountingInputStream counted = new CountingInputStream(new BufferedInputStream(socket.getInputStream(), 64 * 1024));
            MessageUnpacker in = MessagePack.newDefaultUnpacker(counted);
            OutputStream out = new BufferedOutputStream(socket.getOutputStream());
            if (sharedKey != null && !handshake(in, out, peer)) {
                return;
            }
            while (!closed && in.hasNext()) {
                counted.mark();
                message(in, counted, out, peer);
                messages.incrementAndGet();
            }
        } catch (Malformed e) {
            publisher.error(SOURCE, e.stream, "malformed");
            LOG.warn("Fluentd forward: closing the connection from {}: {}", peer, e.getMessage());
        } catch (MessagePackException | IOException e) {
            if (!closed && !(e instanceof SocketException)) {
                publisher.error(SOURCE, null, "malformed");
                LOG.warn("Fluentd forward: closing the connection from {}: not a forward message: {}", peer, e.getMessage());
            }
        } catch (WatershedException e) {
            // the bus did not confirm: no ack, so a client that asked for one sends the chunk again
            LOG.warn("Fluentd forward: closing the connection from {} without an ack: {}", peer, e.getMessage());
        } catch (RuntimeException e) {
            publisher.error(SOURCE, null, "malformed");
            LOG.warn("Fluentd forward: closing the connection from {}: {}", peer, e.toString());
        } finally {
            connections.remove(socket);
            connectionCount.decrementAndGet();
        }
    }

    /** HELO → PING → PONG; false (and the connection closes) when the client's key does not match. */
    private boolean handshake(MessageUnpacker in, OutputStream out, String peer) throws IOException {
        byte[] nonce = new byte[16];
        random.nextBytes(nonce);
        MessageBufferPacker helo = MessagePack.newDefaultBufferPacker();
        helo.packArrayHeader(2).packString("HELO").packMapHeader(3);
        helo.packString("nonce").packBinaryHeader(nonce.length).writePayload(nonce);
        helo.packString("auth").packString("");
        helo.packString("keepalive").packBoolean(true);
        out.write(helo.toByteArray());
        out.flush();
        if (!in.hasNext()) {
            return false;
        }
        int size = in.unpackArrayHeader();
        String kind = size > 0 ? string(in, "the handshake") : "";
        if (!kind.equals("PING") || size < 4) {
            throw new Malformed("expected PING after HELO, got " + (kind.isEmpty() ? "an array of " + size : kind), null);
        }
        byte[] clientHost = bytes(in);
        byte[] salt = bytes(in);
        String digest = string(in, "the PING digest");
        for (int i = 4; i < size; i++) {
            in.skipValue(); // username and password: user authentication is not offered (auth is empty in HELO)
        }
        boolean ok = MessageDigest.isEqual(digest.getBytes(StandardCharsets.US_ASCII),
                sha512Hex(salt, clientHost, nonce, sharedKey).getBytes(StandardCharsets.US_ASCII));
        MessageBufferPacker pong = MessagePack.newDefaultBufferPacker();
        pong.packArrayHeader(5).packString("PONG").packBoolean(ok).packString(ok ? "" : "shared_key mismatch")
                .packString(hostname).packString(ok ? sha512Hex(salt, hostname.getBytes(StandardCharsets.UTF_8), nonce, sharedKey) : "");
        out.write(pong.toByteArray());
        out.flush();
        if (!ok) {
            publisher.error(SOURCE, null, "auth");
            LOG.warn("Fluentd forward: {} sent a wrong shared key; closing. Set the same shared_key on both sides "
                    + "(ingest.forward_shared_key here)", peer);
        }
        return ok;
    }

    private void message(MessageUnpacker in, CountingInputStream counted, OutputStream out, String peer) throws IOException {
        MessageFormat first = in.getNextFormat();
        if (first.getValueType() != ValueType.ARRAY) {
            throw new Malformed("a forward message is a MessagePack array [tag, ...], got " + MsgpackJson.article(first.getValueType())
                    + " (is the client speaking another protocol to the forward port?)", null);
        }
        int size = in.unpackArrayHeader();
        if (size < 2 || size > 4) {
            throw new Malformed("a forward message has 2 to 4 elements, got " + size, null);
        }
        String tag = string(in, "the tag");
        Optional<TagRouter.Route> route = router.route(tag);
        Optional<StreamSpec> stream = route.flatMap(r -> publisher.stream(r.stream(),
                createOnFirstUse && r.source() == TagRouter.CREATED_ON_FIRST_USE));
        Batch batch = new Batch(tag, route.orElse(null), stream.orElse(null));
        ValueType mode = in.getNextFormat().getValueType();
        int consumed = 2;
        switch (mode) {
            case ARRAY -> { // Forward: [tag, [[time, record], ...], option?]
                int entries = in.unpackArrayHeader();
                for (int i = 0; i < entries; i++) {
                    entry(in, batch);
                    counted.check(batch.streamName());
                }
            }
            case STRING, BINARY -> { // PackedForward: [tag, <concatenated [time, record] entries>, option?]
                int length = mode == ValueType.BINARY ? in.unpackBinaryHeader() : in.unpackRawStringHeader();
                if (length > MAX_MESSAGE_BYTES) {
                    throw new Malformed("a packed message of " + length + " bytes is over the limit of " + MAX_MESSAGE_BYTES,
                            batch.streamName());
                }
                batch.packed = MsgpackJson.payload(in, length);
            }
            case INTEGER, FLOAT, EXTENSION -> { // Message: [tag, time, record, option?]
                if (size < 3) {
                    throw new Malformed("a Message-mode message [tag, time, record] has no record", batch.streamName());
                }
                Instant time = time(in);
                record(in, batch, time);
                consumed = 3;
            }
            default -> throw new Malformed("the second element of a forward message is " + MsgpackJson.article(mode)
                    + "; expected entries, packed entries or a time", batch.streamName());
        }
        Map<String, String> option = size > consumed ? option(in) : Map.of();
        for (int i = consumed + 1; i < size; i++) {
            in.skipValue();
        }
        if (batch.packed != null) {
            unpack(batch, "gzip".equals(option.get("compressed")));
        }
        String chunk = option.get("chunk");
        publish(batch, chunk, peer);
        if (chunk != null) {
            MessageBufferPacker ack = MessagePack.newDefaultBufferPacker();
            ack.packMapHeader(1).packString("ack").packString(chunk);
            out.write(ack.toByteArray());
            out.flush();
        }
    }

    private void unpack(Batch batch, boolean gzip) throws IOException {
        InputStream entries = new ByteArrayInputStream(batch.packed);
        if (gzip) {
            entries = new LimitedInputStream(new GZIPInputStream(entries, 64 * 1024), MAX_DECOMPRESSED_BYTES);
        }
        try (MessageUnpacker in = MessagePack.newDefaultUnpacker(entries)) {
            while (in.hasNext()) {
                entry(in, batch);
            }
        } catch (IOException | MessagePackException | WatershedException | Malformed e) {
            // the message's framing is intact, but its entries cannot be read past this point: they go to the dead-letter
            // table (base64, at most 64 KiB of them), and the connection goes on
            int kept = Math.min(batch.packed.length, 64 * 1024);
            batch.deadLetter(("base64:" + java.util.Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(batch.packed, kept)))
                    .getBytes(StandardCharsets.US_ASCII), "the " + (gzip ? "compressed " : "") + "packed entries of tag '" + batch.tag
                    + "' (" + batch.packed.length + " bytes" + (kept < batch.packed.length ? ", the first 64 KiB kept" : "")
                    + ") cannot be read after entry " + batch.events.size() + ": " + e.getMessage());
        }
        batch.packed = null;
    }

    /** One {@code [time, record]} entry; Fluent Bit 2 may send {@code [[time, metadata], record]}. */
    private void entry(MessageUnpacker in, Batch batch) throws IOException {
        if (in.getNextFormat().getValueType() != ValueType.ARRAY) {
            throw new Malformed("an entry is [time, record], got " + MsgpackJson.article(in.getNextFormat().getValueType()),
                    batch.streamName());
        }
        int size = in.unpackArrayHeader();
        if (size < 2) {
            throw new Malformed("an entry is [time, record], got an array of " + size, batch.streamName());
        }
        Instant time;
        if (in.getNextFormat().getValueType() == ValueType.ARRAY) {
            int parts = in.unpackArrayHeader();
            time = time(in);
            for (int i = 1; i < parts; i++) {
                in.skipValue();
            }
        } else {
            time = time(in);
        }
        record(in, batch, time);
        for (int i = 2; i < size; i++) {
            in.skipValue();
        }
    }

    private void record(MessageUnpacker in, Batch batch, Instant time) throws IOException {
        if (batch.stream == null) {
            in.skipValue();
            batch.unrouted++;
            return;
        }
        Map<String, String> extra = new LinkedHashMap<>();
        batch.route.source().tagField().ifPresent(f -> extra.put(f, batch.tag));
        batch.route.source().timeField().ifPresent(f -> extra.put(f, time.toString()));
        String[] key = new String[1];
        byte[] json = batch.json.record(in, extra, batch.stream.key().orElse(null), key);
        String problem = batch.json.problem();
        if (problem != null) {
            batch.deadLetter(json, problem + " (tag '" + batch.tag + "')");
        } else if (json.length > io.watershed.ingest.EventParser.MAX_EVENT_BYTES) {
            batch.deadLetter(java.util.Arrays.copyOf(json, 64 * 1024), "the record has " + json.length + " bytes as JSON; one "
                    + "event may have at most " + io.watershed.ingest.EventParser.MAX_EVENT_BYTES + " (tag '" + batch.tag + "', "
                    + "first 64 KiB kept)");
        } else {
            batch.events.add(new EventBus.Event(key[0] == null ? null : key[0].getBytes(StandardCharsets.UTF_8), json,
                    batch.acceptedAt));
        }
    }

    private void publish(Batch batch, String chunk, String peer) {
        if (batch.unrouted > 0) {
            publisher.error(SOURCE, null, "unrouted");
            long now = System.currentTimeMillis();
            Long last = unroutedWarned.get(batch.tag);
            if (last == null || now - last > 60_000) {
                unroutedWarned.put(batch.tag, now);
                LOG.warn("Fluentd forward: {} event(s) with tag '{}' from {} match no stream and were not stored; add the tag "
                        + "to a stream's sources: [{type: forward, tags: [...]}] (counted in watershed_source_errors_total"
                        + "{reason=\"unrouted\"})", batch.unrouted, batch.tag, peer);
            }
        }
        if (batch.stream == null || batch.events.isEmpty()) {
            return;
        }
        publisher.publish(SOURCE, batch.stream, batch.events, chunk == null ? null : "forward:" + chunk);
    }

    private static Instant time(MessageUnpacker in) throws IOException {
        ValueType type = in.getNextFormat().getValueType();
        switch (type) {
            case INTEGER:
                return Instant.ofEpochSecond(in.unpackLong());
            case FLOAT: {
                double seconds = in.unpackDouble();
                long whole = (long) Math.floor(seconds);
                return Instant.ofEpochSecond(whole, (long) ((seconds - whole) * 1e9));
            }
            case EXTENSION: {
                ExtensionTypeHeader header = in.unpackExtensionTypeHeader();
                Instant time = MsgpackJson.extensionTime(header.getType(), MsgpackJson.payload(in, header.getLength()));
                if (time == null) {
                    throw new Malformed("an event time is extension type " + header.getType() + " of " + header.getLength()
                            + " bytes; expected EventTime (type 0, 8 bytes)", null);
                }
                return time;
            }
            case NIL:
                in.unpackNil();
                return Instant.now();
            default:
                throw new Malformed("an event time is " + MsgpackJson.article(type) + "; expected an integer or EventTime", null);
        }
    }

    /** The option map: string values only (size, chunk, compressed; others are ignored). */
    private static Map<String, String> option(MessageUnpacker in) throws IOException {
        if (in.getNextFormat().getValueType() != ValueType.MAP) {
            in.skipValue();
            return Map.of();
        }
        int size = in.unpackMapHeader();
        Map<String, String> option = new LinkedHashMap<>();
        for (int i = 0; i < size; i++) {
            ValueType keyType = in.getNextFormat().getValueType();
            if (keyType != ValueType.STRING && keyType != ValueType.BINARY) {
                in.skipValue();
                in.skipValue();
                continue;
            }
            String key = string(in, "an option key");
            ValueType valueType = in.getNextFormat().getValueType();
            if (valueType == ValueType.STRING || valueType == ValueType.BINARY) {
                option.put(key, string(in, "option " + key));
            } else {
                in.skipValue();
            }
        }
        return option;
    }

    private static String string(MessageUnpacker in, String what) throws IOException {
        return new String(bytes(in, what), StandardCharsets.UTF_8);
    }

    private static byte[] bytes(MessageUnpacker in) throws IOException {
        return bytes(in, "a handshake field");
    }

    private static byte[] bytes(MessageUnpacker in, String what) throws IOException {
        ValueType type = in.getNextFormat().getValueType();
        if (type == ValueType.STRING) {
            int length = in.unpackRawStringHeader();
            check(length, what);
            return MsgpackJson.payload(in, length);
        }
        if (type == ValueType.BINARY) {
            int length = in.unpackBinaryHeader();
            check(length, what);
            return MsgpackJson.payload(in, length);
        }
        throw new Malformed(what + " must be a string, got " + MsgpackJson.article(type), null);
    }

    private static void check(int length, String what) {
        if (length > 64 * 1024) {
            throw new Malformed(what + " has " + length + " bytes; at most 65536 are allowed", null);
        }
    }

    static String sha512Hex(byte[]... parts) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-512");
            for (byte[] part : parts) {
                digest.update(part);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
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

    /** The events of one forward message, published together (and acknowledged together). */
    private static final class Batch {
        final String tag;
        final TagRouter.Route route;
        final StreamSpec stream;
        final List<EventBus.Event> events = new ArrayList<>();
        final MsgpackJson json = new MsgpackJson();
        final long acceptedAt = System.currentTimeMillis();
        byte[] packed;
        int unrouted;

        Batch(String tag, TagRouter.Route route, StreamSpec stream) {
            this.tag = tag;
            this.route = route;
            this.stream = stream;
        }

        String streamName() {
            return stream == null ? null : stream.name();
        }

        void deadLetter(byte[] input, String reason) {
            if (stream == null) {
                unrouted++;
            } else {
                events.add(EventBus.Event.deadLetter(input, reason, acceptedAt));
            }
        }
    }

    /** Framing that cannot be read: the connection closes, since what follows cannot be found. */
    static final class Malformed extends RuntimeException {
        final String stream;

        Malformed(String message, String stream) {
            super(message);
            this.stream = stream;
        }
    }

    /** Counts bytes read since the message began, so one message cannot hold more than {@link #MAX_MESSAGE_BYTES}. */
    private static final class CountingInputStream extends FilterInputStream {
        private long count;
        private long mark;

        CountingInputStream(InputStream in) {
            super(in);
        }

        void mark() {
            mark = count;
        }

        /** Called between entries; the unpacker reads ahead, so this bounds memory, it is not exact. */
        void check(String stream) {
            if (count - mark > MAX_MESSAGE_BYTES + (1 << 20)) {
                throw new Malformed("a message is over the limit of " + MAX_MESSAGE_BYTES + " bytes", stream);
            }
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                count++;
            }
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int n = super.read(buffer, offset, length);
            if (n > 0) {
                count += n;
            }
            return n;
        }
    }
}
