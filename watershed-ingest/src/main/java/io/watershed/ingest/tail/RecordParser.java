package io.watershed.ingest.tail;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.watershed.spi.EventBus;
import io.watershed.spi.SourceSpec;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Turns one tailed record (a line, or lines joined by multiline) into an event, or a dead letter with the reason. */
final class RecordParser {
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(com.fasterxml.jackson.core.json.JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8) // emoji as UTF-8, not as escaped surrogate pairs
            .build();
    private static final Pattern GROUP_NAME = Pattern.compile("\\(\\?<([a-zA-Z][a-zA-Z0-9]*)>");

    private final SourceSpec.FileTail spec;
    private final Optional<String> keyField;
    private final Pattern pattern;
    private final List<String> groups = new ArrayList<>();

    RecordParser(SourceSpec.FileTail spec, Optional<String> keyField) {
        this.spec = spec;
        this.keyField = keyField;
        this.pattern = spec.pattern().map(Pattern::compile).orElse(null);
        if (pattern != null) {
            Matcher m = GROUP_NAME.matcher(spec.pattern().get());
            while (m.find()) {
                groups.add(m.group(1));
            }
        }
    }

    /**
     * @param bytes the record without its final line break
     * @param where {@code path:line} for reasons
     */
    EventBus.Event parse(byte[] bytes, String path, String where, long acceptedAt) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return EventBus.Event.deadLetter(bytes, where + ": the record is not valid UTF-8", acceptedAt);
        }
        if (!text.isEmpty() && text.charAt(0) == '\uFEFF') {
            text = text.substring(1); // a byte-order mark at the start of a file
        }
        ObjectNode event;
        switch (spec.format()) {
            case JSON -> {
                JsonNode node;
                try {
                    node = JSON.readTree(text);
                } catch (JsonProcessingException e) {
                    return EventBus.Event.deadLetter(bytes, where + ": not valid JSON: line " + e.getLocation().getLineNr()
                            + ", column " + e.getLocation().getColumnNr() + ": " + e.getOriginalMessage(), acceptedAt);
                }
                if (!(node instanceof ObjectNode object)) {
                    return EventBus.Event.deadLetter(bytes, where + ": the record is "
                            + (node == null || node.isMissingNode() ? "empty" : "a JSON " + node.getNodeType().name().toLowerCase())
                            + ", not a JSON object", acceptedAt);
                }
                event = object;
            }
            case REGEX -> {
                Matcher m = pattern.matcher(text);
                if (!m.find()) {
                    return EventBus.Event.deadLetter(bytes, where + ": the record does not match the pattern "
                            + spec.pattern().get(), acceptedAt);
                }
                event = JSON.createObjectNode();
                for (String group : groups) {
                    String value = m.group(group);
                    if (value != null) {
                        event.put(group, value);
                    }
                }
            }
            default -> {
                event = JSON.createObjectNode();
                event.put("message", text);
            }
        }
        boolean asWritten = spec.format() == SourceSpec.Format.JSON;
        if (spec.pathField().isPresent() && !event.has(spec.pathField().get())) {
            event.put(spec.pathField().get(), path);
            asWritten = false;
        }
        byte[] key = null;
        if (keyField.isPresent()) {
            JsonNode k = event.get(keyField.get());
            if (k != null && k.isValueNode() && !k.isNull()) {
                key = k.asText().getBytes(StandardCharsets.UTF_8);
            }
        }
        try {
            // a JSON record is stored as it was written (numbers keep their digits), like an HTTP event
            return new EventBus.Event(key, asWritten ? text.strip().getBytes(StandardCharsets.UTF_8) : JSON.writeValueAsBytes(event),
                    acceptedAt);
        } catch (JsonProcessingException e) {
            return EventBus.Event.deadLetter(bytes, where + ": cannot be written as JSON: " + e.getOriginalMessage(), acceptedAt);
        }
    }
}
