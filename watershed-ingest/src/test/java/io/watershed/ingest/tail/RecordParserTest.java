package io.watershed.ingest.tail;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.EventBus;
import io.watershed.spi.SourceSpec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RecordParserTest {
    static SourceSpec.FileTail spec(SourceSpec.Format format, String pattern, String pathField) {
        return new SourceSpec.FileTail(List.of("/x/*.log"), List.of(), format, Optional.ofNullable(pattern), Optional.empty(),
                Duration.ofSeconds(1), true, Optional.ofNullable(pathField), 1 << 20);
    }

    static String text(EventBus.Event event) {
        return new String(event.value(), StandardCharsets.UTF_8);
    }

    @Test
    void linesBecomeMessagesAndKeepTheirTextExactly() {
        RecordParser parser = new RecordParser(spec(SourceSpec.Format.LINES, null, "file"), Optional.empty());
        EventBus.Event event = parser.parse("héllo \"🌊\"\tمرحبا".getBytes(StandardCharsets.UTF_8), "/x/a.log", "/x/a.log at byte 0", 1);
        assertThat(event.deadLetterReason()).isNull();
        assertThat(text(event)).isEqualTo("{\"message\":\"héllo \\\"🌊\\\"\\tمرحبا\",\"file\":\"/x/a.log\"}");
    }

    @Test
    void jsonIsKeptAsWrittenAndAnythingElseIsADeadLetterWithItsPlace() {
        RecordParser parser = new RecordParser(spec(SourceSpec.Format.JSON, null, null), Optional.of("user"));
        EventBus.Event ok = parser.parse("{\"user\":\"ada\",\"price\":1.10}".getBytes(StandardCharsets.UTF_8), "/x/a.log", "w", 1);
        assertThat(text(ok)).isEqualTo("{\"user\":\"ada\",\"price\":1.10}");
        assertThat(new String(ok.key(), StandardCharsets.UTF_8)).isEqualTo("ada");
        assertThat(parser.parse("[1]".getBytes(StandardCharsets.UTF_8), "/x/a.log", "/x/a.log at byte 9", 1).deadLetterReason())
                .isEqualTo("/x/a.log at byte 9: the record is a JSON array, not a JSON object");
        assertThat(parser.parse("{\"a\":1} tail".getBytes(StandardCharsets.UTF_8), "/x/a.log", "w", 1).deadLetterReason())
                .startsWith("w: not valid JSON: line 1, column 9");
        assertThat(parser.parse("{\"a\":1,\"a\":2}".getBytes(StandardCharsets.UTF_8), "/x/a.log", "w", 1).deadLetterReason())
                .contains("Duplicate field 'a'");
        EventBus.Event invalid = parser.parse(new byte[] {'{', (byte) 0xC3, '}'}, "/x/a.log", "w", 1);
        assertThat(invalid.deadLetterReason()).isEqualTo("w: the record is not valid UTF-8");
        assertThat(invalid.value()[0]).as("marked, so readers that ignore headers see no event").isEqualTo(EventBus.DEAD_LETTER_MARK);
    }

    @Test
    void regexNamedGroupsBecomeFieldsAndAMissAGroupIsLeftOut() {
        RecordParser parser = new RecordParser(spec(SourceSpec.Format.REGEX,
                "^(?<ip>\\S+) \"(?<request>[^\"]*)\" (?<status>\\d{3})(?: (?<bytes>\\d+))?$", null), Optional.empty());
        assertThat(text(parser.parse("10.0.0.1 \"GET /a\" 200 512".getBytes(StandardCharsets.UTF_8), "p", "w", 1)))
                .isEqualTo("{\"ip\":\"10.0.0.1\",\"request\":\"GET /a\",\"status\":\"200\",\"bytes\":\"512\"}");
        assertThat(text(parser.parse("10.0.0.1 \"GET /b\" 304".getBytes(StandardCharsets.UTF_8), "p", "w", 1)))
                .isEqualTo("{\"ip\":\"10.0.0.1\",\"request\":\"GET /b\",\"status\":\"304\"}");
        assertThat(parser.parse("garbage".getBytes(StandardCharsets.UTF_8), "p", "p at byte 3", 1).deadLetterReason())
                .startsWith("p at byte 3: the record does not match the pattern");
    }
}
