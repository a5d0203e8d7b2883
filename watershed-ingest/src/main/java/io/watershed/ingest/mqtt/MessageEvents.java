package io.watershed.ingest.mqtt;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.watershed.ingest.EventParser;
import io.watershed.spi.EventBus;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;

/**
 * A message's payload as an event: one JSON object, stored as sent unless the topic is added to it, keyed by the
 * stream's key field. Anything else (not JSON, not an object, too large) is a dead letter naming the topic and why.
 */
final class MessageEvents {
    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS) // a rewritten event keeps the digits sent
            .nodeFactory(JsonNodeFactory.withExactBigDecimals(true))
            .build();
    /** How much of an oversized payload its dead letter keeps. */
    static final int DEAD_LETTER_BYTES = 64 * 1024;

    private final Optional<String> keyField;
    private final Optional<String> topicField;

    MessageEvents(Optional<String> keyField, Optional<String> topicField) {
        this.keyField = keyField;
        this.topicField = topicField;
    }

    EventBus.Event event(String topic, byte[] payload, long acceptedAt) {
        if (payload.length > EventParser.MAX_EVENT_BYTES) {
            return EventBus.Event.deadLetter(Arrays.copyOf(payload, DEAD_LETTER_BYTES), "the message on topic " + topic + " has "
                    + payload.length + " bytes, more than an event may have (" + EventParser.MAX_EVENT_BYTES + "); its first "
                    + DEAD_LETTER_BYTES + " bytes are kept", acceptedAt);
        }
        JsonNode node;
        try {
            node = JSON.readTree(payload);
        } catch (JsonProcessingException e) {
            return EventBus.Event.deadLetter(payload, "the message on topic " + topic + " is not JSON: " + e.getOriginalMessage()
                    + " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr(), acceptedAt);
        } catch (IOException e) {
            return EventBus.Event.deadLetter(payload, "the message on topic " + topic + " cannot be read: " + e.getMessage(), acceptedAt);
        }
        if (node == null || node.isMissingNode()) {
            return EventBus.Event.deadLetter(payload, "the message on topic " + topic + " is empty; send one JSON object", acceptedAt);
        }
        if (!(node instanceof ObjectNode event)) {
            return EventBus.Event.deadLetter(payload, "the message on topic " + topic + " is a JSON " + node.getNodeType()
                    .toString().toLowerCase() + ", not an object; send one JSON object per message", acceptedAt);
        }
        byte[] value = new String(payload, StandardCharsets.UTF_8).strip().getBytes(StandardCharsets.UTF_8);
        if (topicField.isPresent() && !event.has(topicField.get())) {
            event.put(topicField.get(), topic);
            try {
                value = JSON.writeValueAsBytes(event);
            } catch (JsonProcessingException e) {
                return EventBus.Event.deadLetter(payload, "the message on topic " + topic + " cannot be written as JSON: "
                        + e.getOriginalMessage(), acceptedAt);
            }
        }
        byte[] key = null;
        if (keyField.isPresent()) {
            JsonNode k = event.get(keyField.get());
            if (k != null && k.isValueNode() && !k.isNull()) {
                key = k.asText().getBytes(StandardCharsets.UTF_8);
            }
        }
        return new EventBus.Event(key, value, acceptedAt);
    }
}
