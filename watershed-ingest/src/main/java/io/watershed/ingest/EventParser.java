package io.watershed.ingest;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
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
    private static final ObjectMapper MAPPER = new ObjectMapper(FACTORY);

    private EventParser() {}

    /** One parsed event: its compact JSON bytes and the text of its key field, if any. */
    public record ParsedEvent(byte[] json, Optional<String> key) {}

    /**
     * @param keyField field whose value keys the record, or empty
     * @throws WatershedException INVALID_INPUT with details {@code line}, {@code column}, {@code reason}
     */
    public static List<ParsedEvent> parse(InputStream body, Optional<String> keyField) throws IOException {
        List<ParsedEvent> events = new ArrayList<>();
        try (JsonParser parser = FACTORY.createParser(body)) {
            JsonToken first = parser.nextToken();
            if (first == null) {
                throw invalid(parser.currentLocation(), "the body is empty; send a JSON object, an array of objects or NDJSON");
            }
            if (first == JsonToken.START_ARRAY) {
                JsonToken token;
                while ((token = parser.nextToken()) != JsonToken.END_ARRAY) {
                    events.add(readObject(parser, token, keyField, "array element " + (events.size() + 1)));
                }
                JsonToken trailing = parser.nextToken();
                if (trailing != null) {
                    throw invalid(parser.currentTokenLocation(), "unexpected content after the closing ']' of the array");
                }
            } else {
                JsonToken token = first;
                while (token != null) {
                    events.add(readObject(parser, token, keyField, "event " + (events.size() + 1)));
                    token = parser.nextToken();
                }
            }
        } catch (JsonParseException e) {
            throw invalid(e.getLocation(), e.getOriginalMessage());
        }
        if (events.isEmpty()) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot accept events: the array is empty",
                    Map.of("line", 1, "column", 1, "reason", "empty array"), null, null);
        }
        return events;
    }

    private static ParsedEvent readObject(JsonParser parser, JsonToken token, Optional<String> keyField, String what)
            throws IOException {
        if (token != JsonToken.START_OBJECT) {
            throw invalid(parser.currentTokenLocation(), what + " must be a JSON object, got " + describe(token));
        }
        JsonNode node = MAPPER.readTree(parser);
        Optional<String> key = keyField.map(node::get).filter(v -> !v.isNull())
                .map(v -> v.isValueNode() ? v.asText() : v.toString());
        return new ParsedEvent(MAPPER.writeValueAsBytes((ObjectNode) node), key);
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
