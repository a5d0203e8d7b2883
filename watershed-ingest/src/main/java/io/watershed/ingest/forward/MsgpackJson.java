package io.watershed.ingest.forward;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import org.msgpack.core.ExtensionTypeHeader;
import org.msgpack.core.MessageFormat;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.ValueType;

/**
 * Writes one MessagePack value as JSON, straight from the unpacker. It always consumes the whole value, so the
 * stream stays in step even when the value cannot be an event: then {@link #problem()} says why and the JSON
 * written is a faithful-as-possible rendering for the dead-letter table (invalid UTF-8 replaced, subtrees
 * nested too deep elided).
 */
final class MsgpackJson {
    static final int MAX_DEPTH = 200;
    /** Large values are read in pieces of this size, as they arrive. */
    private static final int CHUNK = 64 << 10;
    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(com.fasterxml.jackson.core.json.JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8) // emoji as UTF-8
            .build();
    /** Fluentd's EventTime: extension type 0, 4 bytes seconds and 4 bytes nanoseconds, big-endian. */
    static final byte EVENT_TIME = 0;

    private String problem;

    String problem() {
        return problem;
    }

    /**
     * A record: must be a map. Adds {@code extra} fields the record does not have itself.
     *
     * @return the JSON bytes; check {@link #problem()}
     */
    byte[] record(MessageUnpacker in, Map<String, String> extra, String keyField, String[] keyOut) throws IOException {
        problem = null;
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator json = JSON.createGenerator(out)) {
            MessageFormat format = in.getNextFormat();
            if (format.getValueType() != ValueType.MAP) {
                problem = "the record is " + article(format.getValueType()) + ", not a map";
                value(in, json, 0, null);
            } else {
                int size = in.unpackMapHeader();
                json.writeStartObject();
                java.util.Set<String> seen = new java.util.HashSet<>();
                for (int i = 0; i < size; i++) {
                    String name = key(in);
                    if (!seen.add(name)) {
                        problem = problem == null ? "the record has the field '" + name + "' twice" : problem;
                    }
                    json.writeFieldName(name);
                    if (name.equals(keyField) && keyOut != null) {
                        keyOut[0] = scalarText(in, json);
                    } else {
                        value(in, json, 1, name);
                    }
                }
                for (Map.Entry<String, String> e : extra.entrySet()) {
                    if (!seen.contains(e.getKey())) {
                        json.writeStringField(e.getKey(), e.getValue());
                    }
                }
                json.writeEndObject();
            }
        }
        return out.toByteArray();
    }

    /** A scalar written as JSON whose text also keys the Kafka record; other values are written and give no key. */
    private String scalarText(MessageUnpacker in, JsonGenerator json) throws IOException {
        ValueType type = in.getNextFormat().getValueType();
        return switch (type) {
            case STRING, BINARY -> {
                String s = text(in, "key");
                json.writeString(s);
                yield s;
            }
            case INTEGER -> {
                String s = integer(in).toString();
                json.writeNumber(s);
                yield s;
            }
            default -> {
                value(in, json, 1, "key");
                yield null;
            }
        };
    }

    private void value(MessageUnpacker in, JsonGenerator json, int depth, String field) throws IOException {
        if (depth > MAX_DEPTH) {
            in.skipValue();
            json.writeString("(nested deeper than " + MAX_DEPTH + ")");
            problem = problem == null ? "the record is nested deeper than " + MAX_DEPTH + " levels" : problem;
            return;
        }
        MessageFormat format = in.getNextFormat();
        switch (format.getValueType()) {
            case NIL -> {
                in.unpackNil();
                json.writeNull();
            }
            case BOOLEAN -> json.writeBoolean(in.unpackBoolean());
            case INTEGER -> {
                Number n = integer(in);
                if (n instanceof BigInteger big) {
                    json.writeNumber(big);
                } else {
                    json.writeNumber(n.longValue());
                }
            }
            case FLOAT -> {
                double d = in.unpackDouble();
                if (Double.isFinite(d)) {
                    json.writeNumber(d);
                } else {
                    json.writeNull();
                    problem = problem == null ? "field '" + field + "' is " + d + ", which JSON cannot hold" : problem;
                }
            }
            case STRING, BINARY -> json.writeString(text(in, field));
            case ARRAY -> {
                int size = in.unpackArrayHeader();
                json.writeStartArray();
                for (int i = 0; i < size; i++) {
                    value(in, json, depth + 1, field);
                }
                json.writeEndArray();
            }
            case MAP -> {
                int size = in.unpackMapHeader();
                json.writeStartObject();
                for (int i = 0; i < size; i++) {
                    json.writeFieldName(key(in));
                    value(in, json, depth + 1, field);
                }
                json.writeEndObject();
            }
            case EXTENSION -> {
                ExtensionTypeHeader header = in.unpackExtensionTypeHeader();
                byte[] data = payload(in, header.getLength());
                Instant time = extensionTime(header.getType(), data);
                json.writeString(time != null ? time.toString() : Base64.getEncoder().encodeToString(data));
            }
            default -> throw new IOException("unknown MessagePack type " + format);
        }
    }

    private String key(MessageUnpacker in) throws IOException {
        ValueType type = in.getNextFormat().getValueType();
        if (type == ValueType.STRING || type == ValueType.BINARY) {
            return text(in, "(a key)");
        }
        if (type == ValueType.INTEGER) {
            return integer(in).toString();
        }
        problem = problem == null ? "a map key is " + article(type) + ", not a string" : problem;
        // skipped, not rendered: a key rendered as JSON inside a key rendered inside a key... grows exponentially
        // (ForwardFuzzTest turned 307 bytes into an out-of-memory that way)
        in.skipValue();
        return "(" + article(type) + ")";
    }

    /** A str or bin as text: UTF-8, or for bin that is not UTF-8, base64. A str that is not UTF-8 is a problem. */
    private String text(MessageUnpacker in, String field) throws IOException {
        boolean binary = in.getNextFormat().getValueType() == ValueType.BINARY;
        int length = binary ? in.unpackBinaryHeader() : in.unpackRawStringHeader();
        byte[] bytes = payload(in, length);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            if (binary) {
                return Base64.getEncoder().encodeToString(bytes);
            }
            problem = problem == null ? "field '" + field + "' is not valid UTF-8" : problem;
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    /**
     * The {@code length} bytes a str, bin or ext header announced, read as they arrive: a header is five bytes that
     * may claim 2 GiB the peer never sends, so nothing is allocated ahead of the data (ForwardFuzzTest found the
     * platform's heap exhausted by 16 such bytes). One value may not be larger than a whole message.
     */
    static byte[] payload(MessageUnpacker in, int length) throws IOException {
        if (length < 0 || length > ForwardServer.MAX_MESSAGE_BYTES) {
            throw new IOException("a value of " + Integer.toUnsignedString(length) + " bytes is over the limit of "
                    + ForwardServer.MAX_MESSAGE_BYTES + " bytes for one message");
        }
        if (length <= CHUNK) {
            return in.readPayload(length);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(CHUNK);
        for (int left = length; left > 0; left -= CHUNK) {
            out.write(in.readPayload(Math.min(left, CHUNK)));
        }
        return out.toByteArray();
    }

    private static Number integer(MessageUnpacker in) throws IOException {
        BigInteger big = in.unpackBigInteger();
        return big.bitLength() < 64 ? (Number) big.longValue() : big;
    }

    /** Fluentd's EventTime (type 0) or MessagePack's timestamp (type -1), else null. */
    static Instant extensionTime(byte type, byte[] data) {
        ByteBuffer b = ByteBuffer.wrap(data);
        if (type == EVENT_TIME && data.length == 8) {
            return Instant.ofEpochSecond(b.getInt() & 0xFFFFFFFFL, b.getInt() & 0xFFFFFFFFL);
        }
        if (type == -1 && data.length == 4) {
            return Instant.ofEpochSecond(b.getInt() & 0xFFFFFFFFL);
        }
        if (type == -1 && data.length == 8) {
            long v = b.getLong();
            return Instant.ofEpochSecond(v & 0x3FFFFFFFFL, v >>> 34);
        }
        if (type == -1 && data.length == 12) {
            long nanos = b.getInt() & 0xFFFFFFFFL;
            return Instant.ofEpochSecond(b.getLong(), nanos);
        }
        return null;
    }

    static String article(ValueType type) {
        return switch (type) {
            case NIL -> "nil";
            case ARRAY, INTEGER, EXTENSION -> "an " + type.name().toLowerCase();
            default -> "a " + type.name().toLowerCase();
        };
    }
}
