package io.watershed.it;

import io.watershed.testing.DeliveryLog;
import io.watershed.testing.LoadGenerator;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.ValueFactory;

/**
 * A Fluentd-style forward producer: chunks of {@code batch} records {@code {producer, seq, key, ts}} in Forward mode with a
 * {@code chunk} id and {@code require_ack_response}, as Fluentd's out_forward sends them. A chunk without an ack (the
 * platform was killed, the connection broke) is sent again, with the same id, once the platform is back; so its records
 * must be stored exactly once. Each chunk's fate goes to the {@link DeliveryLog}.
 */
final class ForwardLoad implements AutoCloseable {
    private final DeliveryLog log;
    private final String producer;
    private final String tag;
    private final int port;
    private final BooleanSupplier up;
    private final int batch;
    private final int keys;
    private final long pauseNanos;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread thread;

    /** @param up whether a platform runs now (the listener keeps its port across restarts) */
    ForwardLoad(DeliveryLog log, String producer, String tag, int port, BooleanSupplier up, int eventsPerSecond, int batch, int keys) {
        this.log = log;
        this.producer = producer;
        this.tag = tag;
        this.port = port;
        this.up = up;
        this.batch = batch;
        this.keys = keys;
        this.pauseNanos = (long) (1e9 / Math.max(0.1, eventsPerSecond / (double) batch));
        this.thread = new Thread(this::run, "forward-" + producer);
        thread.setDaemon(true);
        thread.start();
    }

    private void run() {
        long seq = 0;
        while (running.get()) {
            byte[] chunk = chunk(seq);
            String id = producer + "-" + seq;
            DeliveryLog.Fate fate = DeliveryLog.Fate.INDETERMINATE;
            while (running.get() && fate != DeliveryLog.Fate.ACKNOWLEDGED) {
                if (!up.getAsBoolean()) {
                    LoadGenerator.pause(50_000_000L);
                    continue;
                }
                try (Socket socket = new Socket()) {
                    socket.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
                    socket.setSoTimeout(15_000);
                    socket.getOutputStream().write(chunk);
                    socket.getOutputStream().flush();
                    MessageUnpacker in = MessagePack.newDefaultUnpacker(socket.getInputStream());
                    String ack = in.unpackValue().asMapValue().map().get(ValueFactory.newString("ack")).asStringValue().asString();
                    if (ack.equals(id)) {
                        fate = DeliveryLog.Fate.ACKNOWLEDGED;
                    }
                } catch (IOException | RuntimeException e) {
                    LoadGenerator.pause(100_000_000L); // no ack: the same chunk again
                }
            }
            log.record(producer, seq, batch, fate);
            seq += batch;
            LoadGenerator.pause(pauseNanos);
        }
    }

    private byte[] chunk(long first) {
        try (MessageBufferPacker m = MessagePack.newDefaultBufferPacker()) {
            String ts = Instant.now().toString();
            m.packArrayHeader(3).packString(tag).packArrayHeader(batch);
            for (int i = 0; i < batch; i++) {
                long s = first + i;
                m.packArrayHeader(2).packLong(System.currentTimeMillis() / 1000).packMapHeader(4)
                        .packString("producer").packString(producer).packString("seq").packLong(s)
                        .packString("key").packString("k" + (s % keys)).packString("ts").packString(ts);
            }
            m.packMapHeader(2).packString("chunk").packString(producer + "-" + first).packString("size").packInt(batch);
            return m.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        running.set(false);
        try {
            thread.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
