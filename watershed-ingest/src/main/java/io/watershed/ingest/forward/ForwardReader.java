package io.watershed.ingest.forward;

import io.watershed.ingest.LimitedInputStream;
import io.watershed.ingest.SourcePublisher;
import io.watershed.spi.EventBus;
import io.watershed.spi.StreamSpec;
import io.watershed.spi.WatershedException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.GZIPInputStream;
import org.msgpack.core.ExtensionTypeHeader;
import org.msgpack.core.MessageFormat;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessagePackException;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.ValueType;

/**
 * Reads one forward message (Message, Forward, PackedForward or CompressedPackedForward mode) into the events of its
 * stream: the tag is routed, each record becomes JSON with its tag and time fields, and a record that cannot be an
 * event goes to the dead letters with the reason. Framing that cannot be read throws {@link Malformed}.
 */
final class ForwardReader {
    /** Largest CompressedPackedForward payload after decompression. */
    static final long MAX_DECOMPRESSED_BYTES = 256L << 20;

    private final SourcePublisher publisher;
    private final TagRouter router;
    private final boolean createOnFirstUse;

    /** One message's events, and its {@code chunk} id when the client asked for an ack. */
    record Message(Batch batch, String chunk) {}

    ForwardReader(SourcePublisher publisher, TagRouter router, boolean createOnFirstUse) {
        this.publisher = publisher;
        this.router = router;
        this.createOnFirstUse = createOnFirstUse;
    }

    Message read(MessageUnpacker in, CountingInputStream counted) throws IOException {
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
                if (length > ForwardServer.MAX_MESSAGE_BYTES) {
                    throw new Malformed("a packed message of " + length + " bytes is over the limit of "
                            + ForwardServer.MAX_MESSAGE_BYTES, batch.streamName());
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
        return new Message(batch, option.get("chunk"));
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

    static String string(MessageUnpacker in, String what) throws IOException {
        return new String(bytes(in, what), StandardCharsets.UTF_8);
    }

    static byte[] bytes(MessageUnpacker in, String what) throws IOException {
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

    /** The events of one forward message, published together (and acknowledged together). */
    static final class Batch {
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
}
