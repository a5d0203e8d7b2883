package io.watershed.ingest.tail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;

/**
 * One file a {@link FileTailSource} reads: its identity (device and inode, which survive a rename), the open channel,
 * the offset up to which its records are published, the generation that names its batches, and the fingerprint of
 * its first bytes that tells a rewritten file or a copytruncate copy from the one read before.
 */
final class TrackedFile {
    /** A file's identity: it keeps it when renamed by rotation. */
    record Key(long device, long inode) {}

    final Key key;
    final FileChannel channel;
    Path path;
    String generation;
    long offset;
    String fingerprint = "";
    int fingerprintLength;
    boolean skipToNewline;
    boolean pendingSkip;
    boolean following = true;
    boolean closed;
    long lastSize = -1;
    long lastChange = System.nanoTime();

    TrackedFile(Key key, Path path, FileChannel channel) {
        this.key = key;
        this.path = path;
        this.channel = channel;
    }

    void close() {
        closed = true;
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    /** Where a record starts, as messages name it. */
    String where(long at) {
        return path + " at byte " + at;
    }

    static Key key(Path path) throws IOException {
        Map<String, Object> attributes = Files.readAttributes(path, "unix:dev,ino");
        return new Key(((Number) attributes.get("dev")).longValue(), ((Number) attributes.get("ino")).longValue());
    }

    /** SHA-256 of the file's first {@code length} bytes; {@code short:<n>} if it has only n. */
    static String fingerprint(FileChannel channel, int length) throws IOException {
        if (length <= 0) {
            return "";
        }
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, buffer.position()) < 0) {
                break;
            }
        }
        if (buffer.position() < length) {
            return "short:" + buffer.position();
        }
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(buffer.array()));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
