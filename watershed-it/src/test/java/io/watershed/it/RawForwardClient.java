package io.watershed.it;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.Value;

/**
 * A forward-protocol client written from the specification, for what no fluent-logger library sends on purpose:
 * a chunk sent twice, a record that is not a map, garbage framing, a wrong shared key.
 */
final class RawForwardClient implements AutoCloseable {
    final Socket socket;
    final OutputStream out;
    final MessageUnpacker in;
    /** The PONG's authentication result, when a handshake ran. */
    boolean authenticated = true;
    String refusal = "";

    RawForwardClient(int port, String sharedKey) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(30_000);
        out = socket.getOutputStream();
        in = MessagePack.newDefaultUnpacker(new BufferedInputStream(socket.getInputStream()));
        if (sharedKey != null) {
            Value helo = in.unpackValue();
            byte[] nonce = helo.asArrayValue().get(1).asMapValue().map().get(org.msgpack.value.ValueFactory.newString("nonce"))
                    .asRawValue().asByteArray();
            byte[] salt = "it-salt".getBytes(StandardCharsets.UTF_8);
            byte[] host = "raw-client".getBytes(StandardCharsets.UTF_8);
            MessageBufferPacker ping = MessagePack.newDefaultBufferPacker();
            ping.packArrayHeader(6).packString("PING").packString("raw-client").packString("it-salt")
                    .packString(sha512(salt, host, nonce, sharedKey.getBytes(StandardCharsets.UTF_8))).packString("").packString("");
            out.write(ping.toByteArray());
            out.flush();
            Value pong = in.unpackValue();
            authenticated = pong.asArrayValue().get(1).asBooleanValue().getBoolean();
            refusal = pong.asArrayValue().get(2).asStringValue().asString();
        }
    }

    static String sha512(byte[]... parts) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-512");
            for (byte[] p : parts) {
                d.update(p);
            }
            return HexFormat.of().formatHex(d.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    void send(byte[] message) throws IOException {
        out.write(message);
        out.flush();
    }

    /** The next answer's {@code ack} value. */
    String ack() throws IOException {
        return in.unpackValue().asMapValue().map().get(org.msgpack.value.ValueFactory.newString("ack")).asStringValue().asString();
    }

    /** Whether the server closed the connection (reads end) within the socket timeout. */
    boolean closedByServer() throws IOException {
        try {
            return socket.getInputStream().read() < 0;
        } catch (java.net.SocketException e) {
            return true; // reset
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
