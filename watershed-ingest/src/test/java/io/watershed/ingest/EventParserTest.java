package io.watershed.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class EventParserTest {
    private static List<EventParser.ParsedEvent> parse(String body) throws IOException {
        return EventParser.parse(new ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8)), Optional.of("user"));
    }

    private static WatershedException failure(String body) {
        return catchThrowableOfType(WatershedException.class, () -> parse(body));
    }

    private static String text(EventParser.ParsedEvent e) {
        return new String(e.json(), StandardCharsets.UTF_8);
    }

    @Test
    void acceptsOneObjectAnArrayAndNdjson() throws IOException {
        assertThat(parse("{\"user\": \"ada\", \"n\": 1}")).extracting(EventParserTest::text).containsExactly("{\"user\": \"ada\", \"n\": 1}");
        assertThat(parse("[{\"a\":1},{\"a\":2}]")).hasSize(2);
        assertThat(parse("{\"a\":1}\n{\"a\":2}\n\n{\"a\":3}\n")).hasSize(3);
    }

    @Test
    void storesEachEventByteForByte() throws IOException {
        assertThat(parse("[ {\"big\": 12345678901234567890.123456789, \"é\": \"ü\"} ,{\"x\":1e400}]"))
                .extracting(EventParserTest::text)
                .containsExactly("{\"big\": 12345678901234567890.123456789, \"é\": \"ü\"}", "{\"x\":1e400}");
        assertThat(parse("{\"a\":{\"user\":\"inner\"},\"user\":\"outer\"}")).extracting(EventParser.ParsedEvent::key)
                .containsExactly(Optional.of("outer"));
    }

    @Test
    void refusesAnEventOverTheKafkaRecordLimit() {
        String big = "{\"pad\":\"" + "x".repeat(EventParser.MAX_EVENT_BYTES) + "\"}";
        WatershedException e = failure("{\"a\":1}\n" + big);
        assertThat(e.code()).isEqualTo(ErrorCode.PAYLOAD_TOO_LARGE);
        assertThat(e.getMessage()).contains("event 2 (line 2) has 1000010 bytes");
    }

    @Test
    void extractsTheKeyField() throws IOException {
        assertThat(parse("{\"user\":\"ada\"}\n{\"user\":7}\n{\"x\":1}")).extracting(EventParser.ParsedEvent::key)
                .containsExactly(Optional.of("ada"), Optional.of("7"), Optional.empty());
    }

    @Test
    void malformedLineIsReportedWithLineColumnAndReason() {
        WatershedException e = failure("{\"a\":1}\n{\"a\":2}\n{\"a\": tru}\n{\"a\":4}\n");
        assertThat(e.code()).isEqualTo(ErrorCode.INVALID_INPUT);
        assertThat(e.details()).containsEntry("line", 3).containsKey("column").containsKey("reason");
        assertThat(e.getMessage()).startsWith("Cannot accept events: line 3, column").contains("Unrecognized token 'tru'")
                .contains("Nothing from this request was stored");
    }

    @Test
    void nonObjectsAreRefused() {
        assertThat(failure("{\"a\":1}\n42\n").getMessage()).contains("line 2, column 1: event 2 must be a JSON object, got a number");
        assertThat(failure("[{\"a\":1}, \"x\"]").getMessage()).contains("array element 2 must be a JSON object, got a string");
        assertThat(failure("   ").getMessage()).contains("the body is empty");
        assertThat(failure("[]").getMessage()).contains("the array is empty");
    }

    @Test
    void duplicateFieldsAndTruncatedInputAreRefused() {
        assertThat(failure("{\"a\":1,\"a\":2}").getMessage()).contains("Duplicate field 'a'");
        assertThat(failure("{\"a\":1}\n{\"b\":").details()).containsEntry("line", 2);
    }

    @Test
    void aBodyInUtf16IsRefusedNotSlicedAtNegativeOffsets() {
        // found by IngestFuzzTest: Jackson detects UTF-16/32 from NUL bytes and keeps no byte offsets
        for (java.nio.charset.Charset charset : List.of(StandardCharsets.UTF_16LE, StandardCharsets.UTF_16BE)) {
            WatershedException e = catchThrowableOfType(WatershedException.class,
                    () -> EventParser.parse("{\"user\":\"ada\"}\n".getBytes(charset), Optional.empty()));
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_INPUT);
            assertThat(e.getMessage()).contains("not UTF-8");
        }
    }
}
