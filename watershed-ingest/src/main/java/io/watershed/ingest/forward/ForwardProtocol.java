package io.watershed.ingest.forward;

import io.watershed.ingest.SourcePublisher;
import io.watershed.spi.WatershedException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessagePackException;
import org.msgpack.core.MessageUnpacker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One side of the forward protocol for each client connection: the {@code shared_key} handshake (HELO, PING, PONG),
 * then message after message, each published before its {@code ack} is sent. A chunk id is the batch id of the
 * publishing, so a chunk sent again after a lost ack is acknowledged without being written twice. What ends a
 * connection (unreadable framing, a wrong key, the bus not confirming) is counted and logged here.
 */
final class ForwardProtocol {
    private static final Logger LOG = LoggerFactory.getLogger(ForwardProtocol.class);

    private final SourcePublisher publisher;
    private final ForwardReader reader;
    private final byte[] sharedKey;
    private final String hostname;
    private final BooleanSupplier closed;
    private final AtomicLong messages = new AtomicLong();
    private final Map<String, Long> unroutedWarned = new ConcurrentHashMap<>();
    private final SecureRandom random = new SecureRandom();

    /**
     * @param sharedKey the key both sides must know; null: no handshake
     * @param closed whether the listener is closing (a connection then ends without counting an error)
     */
    ForwardProtocol(SourcePublisher publisher, ForwardReader reader, byte[] sharedKey, String hostname, BooleanSupplier closed) {
        this.publisher = publisher;
        this.reader = reader;
        this.sharedKey = sharedKey;
        this.hostname = hostname;
        this.closed = closed;
    }

    /** Messages read since the start. */
    long messages() {
        return messages.get();
    }

    /** Serves the connection until the client closes it, it breaks the protocol, or the listener closes; closes the socket. */
    void serve(Socket socket) {
        String peer = String.valueOf(socket.getRemoteSocketAddress());
        try (socket) {
            socket.setTcpNoDelay(true);
            CountingInputStream counted = new CountingInputStream(new BufferedInputStream(socket.getInputStream(), 64 * 1024));
            MessageUnpacker in = MessagePack.newDefaultUnpacker(counted);
            OutputStream out = new BufferedOutputStream(socket.getOutputStream());
            if (sharedKey != null && !handshake(in, out, peer)) {
                return;
            }
            while (!closed.getAsBoolean() && in.hasNext()) {
                counted.mark();
                ForwardReader.Message message = reader.read(in, counted);
                publish(message.batch(), message.chunk(), peer);
                if (message.chunk() != null) {
                    MessageBufferPacker ack = MessagePack.newDefaultBufferPacker();
                    ack.packMapHeader(1).packString("ack").packString(message.chunk());
                    out.write(ack.toByteArray());
                    out.flush();
                }
                messages.incrementAndGet();
            }
        } catch (Malformed e) {
            publisher.error(ForwardServer.SOURCE, e.stream, "malformed");
            LOG.warn("Fluentd forward: closing the connection from {}: {}", peer, e.getMessage());
        } catch (MessagePackException | IOException e) {
            if (!closed.getAsBoolean() && !(e instanceof SocketException)) {
                publisher.error(ForwardServer.SOURCE, null, "malformed");
                LOG.warn("Fluentd forward: closing the connection from {}: not a forward message: {}", peer, e.getMessage());
            }
        } catch (WatershedException e) {
            // the bus did not confirm: no ack, so a client that asked for one sends the chunk again
            LOG.warn("Fluentd forward: closing the connection from {} without an ack: {}", peer, e.getMessage());
        } catch (RuntimeException e) {
            publisher.error(ForwardServer.SOURCE, null, "malformed");
            LOG.warn("Fluentd forward: closing the connection from {}: {}", peer, e.toString());
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
        String kind = size > 0 ? ForwardReader.string(in, "the handshake") : "";
        if (!kind.equals("PING") || size < 4) {
            throw new Malformed("expected PING after HELO, got " + (kind.isEmpty() ? "an array of " + size : kind), null);
        }
        byte[] clientHost = ForwardReader.bytes(in, "a handshake field");
        byte[] salt = ForwardReader.bytes(in, "a handshake field");
        String digest = ForwardReader.string(in, "the PING digest");
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
            publisher.error(ForwardServer.SOURCE, null, "auth");
            LOG.warn("Fluentd forward: {} sent a wrong shared key; closing. Set the same shared_key on both sides "
                    + "(ingest.forward_shared_key here)", peer);
        }
        return ok;
    }

    private void publish(ForwardReader.Batch batch, String chunk, String peer) {
        if (batch.unrouted > 0) {
            publisher.error(ForwardServer.SOURCE, null, "unrouted");
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
        publisher.publish(ForwardServer.SOURCE, batch.stream, batch.events, chunk == null ? null : "forward:" + chunk);
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
}
