package io.watershed.ingest.mqtt;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * The last {@value #SLOTS} messages a source started to publish, kept in a file of fixed slots, so that after a crash
 * the source knows which deliveries may be repeats (published, their acknowledgement lost). Paho hands a message over
 * without its DUP flag, so this is how a redelivery is told from a new message that reuses an acknowledged packet id.
 * A slot is written before its message is published; the page cache keeps it through a kill -9.
 */
final class RecentDeliveries implements AutoCloseable {
    static final int SLOTS = 1024;
    private static final int SLOT_BYTES = 64;

    private final FileChannel file;
    private final String[] slots = new String[SLOTS];
    private final Map<String, Integer> known = new HashMap<>();
    private int next;

    RecentDeliveries(Path path) {
        try {
            Files.createDirectories(path.getParent());
            file = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            ByteBuffer all = ByteBuffer.allocate(SLOTS * SLOT_BYTES);
            while (all.hasRemaining() && file.read(all) > 0) {
                // reads what the file holds
            }
            for (int i = 0; i < SLOTS; i++) {
                String entry = new String(all.array(), i * SLOT_BYTES, SLOT_BYTES, StandardCharsets.US_ASCII).trim();
                if (!entry.isEmpty() && entry.indexOf('\u0000') < 0) {
                    slots[i] = entry;
                    known.merge(entry, 1, Integer::sum);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot open " + path + ": " + e.getMessage(), e);
        }
    }

    /** Whether this delivery (packet id and digest) was among the last ones started, here or before a restart. */
    synchronized boolean seen(String entry) {
        return known.containsKey(entry);
    }

    /** Records a delivery about to be published. */
    synchronized void record(String entry) {
        if (entry.length() > SLOT_BYTES) {
            throw new IllegalArgumentException("a delivery's entry has at most " + SLOT_BYTES + " characters: " + entry);
        }
        String old = slots[next];
        if (old != null) {
            known.computeIfPresent(old, (k, n) -> n == 1 ? null : n - 1);
        }
        slots[next] = entry;
        known.merge(entry, 1, Integer::sum);
        byte[] bytes = String.format("%-" + SLOT_BYTES + "s", entry).getBytes(StandardCharsets.US_ASCII);
        try {
            file.write(ByteBuffer.wrap(bytes), (long) next * SLOT_BYTES);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot record a delivery: " + e.getMessage(), e);
        }
        next = (next + 1) % SLOTS;
    }

    @Override
    public synchronized void close() {
        try {
            file.close();
        } catch (IOException e) {
            // nothing is lost: each slot was written when recorded
        }
    }
}
