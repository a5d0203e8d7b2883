package io.watershed.ingest;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Parses an ingest body: one JSON object, a JSON array of objects, or NDJSON (objects one per line).
 * Parsing is all-or-nothing: the first problem aborts with an INVALID_INPUT error naming the line,
 * column and reason, so nothing of a malformed request is ever published.
 */
public final class EventParser {
    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
            .build();

    private EventParser() {}

    /** One parsed event: its compact JSON bytes and the text of its key field, if any. */
    public record ParsedEvent(byte[] json, Optional<String> key) {}

    /** Largest single event, in bytes: Kafka's default record limit (max.request.size 1 MiB) less room for headers. */
    public static final int MAX_EVENT_BYTES = 1_000_000;

    /**
     * Each event is stored byte for byte as it was sent (a slice of the body): numbers keep their
     * digits, nothing is re-encoded.
     *
     * @param keyField field whose value keys the record, or empty
     * @throws WatershedException INVALID_INPUT with details {@code line}, {@code column}, {@code reason};
     *     PAYLOAD_TOO_LARGE for an event over {@link #MAX_EVENT_BYTES}
     */
    public static List<ParsedEvent> parse(InputStream body, Optional<String> keyField) throws IOException {
        return parse(body.readAllBytes(), keyField);
    }

    public static List<ParsedEvent> parse(byte[] body, Optional<String> keyField) throws IOException {
        List<ParsedEvent> events = new ArrayList<>();
        try (JsonParser parser = FACTORY.createParser(body)) {
            JsonToken first = parser.nextToken();
            if (first == null) {
                throw invalid(parser.currentLocation(), "the body is empty; send a JSON object, an array of objects or NDJSON");
            }
            if (first == JsonToken.START_ARRAY) {
                JsonToken token;
                while ((token = parser.nextToken()) != JsonToken.END_ARRAY) {
                    events.add(readObject(body, parser, token, keyField, "array element " + (events.size() + 1)));
                }
                JsonToken trailing = parser.nextToken();
                if (trailing != null) {
                    throw invalid(parser.currentTokenLocation(), "unexpected content after the closing ']' of the array");
                }
            } else {
                JsonToken token = first;
                while (token != null) {
                    events.add(readObject(body, parser, token, keyField, "event " + (events.size() + 1)));
                    token = parser.nextToken();
                }
            }
        } catch (JsonParseException e) {
            throw invalid(e.getLocation(), e.getOriginalMessage());
        } catch (com.fasterxml.jackson.core.exc.StreamConstraintsException e) {
            // nesting deeper than 1,000, a number longer than 1,000 digits, a name or string past Jackson's limits
            throw invalid(e.getLocation(), e.getOriginalMessage());
        }
        if (events.isEmpty()) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot accept events: the array is empty",
                    Map.of("line", 1, "column", 1, "reason", "empty array"), null, null);
        }
        return events;
    }

    private static ParsedEvent readObject(byte[] body, JsonParser parser, JsonToken token, Optional<String> keyField, String what)
            throws IOException {
        if (token != JsonToken.START_OBJECT) {
            throw invalid(parser.currentTokenLocation(), what + " must be a JSON object, got " + describe(token));
        }
        JsonLocation start = parser.currentTokenLocation();
        String key = null;
        int depth = 1;
        while (depth > 0) {
            JsonToken next = parser.nextToken();
            if (next == null) {
                throw invalid(parser.currentLocation(), what + " is not closed: the input ends inside it");
            }
            if (next == JsonToken.START_OBJECT || next == JsonToken.START_ARRAY) {
                depth++;
            } else if (next == JsonToken.END_OBJECT || next == JsonToken.END_ARRAY) {
                depth--;
            } else if (depth == 1 && next == JsonToken.FIELD_NAME && keyField.isPresent()
                    && keyField.get().equals(parser.currentName())) {
                JsonToken value = parser.nextToken();
                if (value == JsonToken.START_OBJECT || value == JsonToken.START_ARRAY) {
                    depth++;
                } else if (value != JsonToken.VALUE_NULL) {
                    key = parser.getText();
                }
            }
        }
        int from = (int) start.getByteOffset();
        int to = (int) parser.currentLocation().getByteOffset();
        if (from < 0 || to < from) {
            // Jackson read the body as UTF-16 or UTF-32 (NUL bytes among the first four): it keeps no byte offsets then
            throw invalid(start, "the body is not UTF-8: its first bytes look like UTF-16 or UTF-32 (NUL bytes); "
                    + "send JSON encoded as UTF-8");
        }
        if (to - from > MAX_EVENT_BYTES) {
            throw new WatershedException(ErrorCode.PAYLOAD_TOO_LARGE, "Cannot accept events: " + what + " (line "
                    + start.getLineNr() + ") has " + (to - from) + " bytes; one event may have at most " + MAX_EVENT_BYTES
                    + ". Nothing from this request was stored", Map.of("line", start.getLineNr(), "limit_bytes", MAX_EVENT_BYTES),
                    null, null);
        }
        byte[] json = Arrays.copyOfRange(body, from, to);
        checkUtf8(json, start, what);
        return new ParsedEvent(json, Optional.ofNullable(key));
    }

    /**
     * Jackson checks the UTF-8 of what it decodes, but skips over string values it is not asked for, and it takes overlong
     * forms (0xC0 0xAF for '/'). An event with a byte over 0x7F is decoded strictly once more, so no invalid or overlong
     * sequence is ever published; ASCII events (most) pay a scan only.
     */
    private static void checkUtf8(byte[] json, JsonLocation start, String what) {
        for (byte b : json) {
            if (b < 0) {
                try {
                    java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                            .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                            .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
                            .decode(java.nio.ByteBuffer.wrap(json));
                } catch (java.nio.charset.CharacterCodingException e) {
                    throw invalid(start, what + " is not valid UTF-8 (" + e.getMessage() + "); send UTF-8 text");
                }
                return;
            }
        }
    }

    private static String describe(JsonToken token) {
        return switch (token) {
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> token.asString() == null ? token.name() : "'" + token.asString() + "'";
        };
    }

    private static WatershedException invalid(JsonLocation location, String reason) {
        int line = location == null ? 0 : location.getLineNr();
        int column = location == null ? 0 : location.getColumnNr();
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("line", line);
        details.put("column", column);
        details.put("reason", reason);
        return new WatershedException(ErrorCode.INVALID_INPUT,
                "Cannot accept events: line " + line + ", column " + column + ": " + reason
                        + ". Nothing from this request was stored; fix the input and send it again",
                details, null, null);
    }
}
