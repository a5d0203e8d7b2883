package io.watershed.spi;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BusRecordKindTest {
    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void theHeadersSayWhatARecordIs() {
        assertThat(BusRecordKind.of(bytes("{}"), Map.<String, byte[]>of()::get)).isEqualTo(BusRecordKind.EVENT);
        assertThat(BusRecordKind.of(null, Map.<String, byte[]>of()::get)).isEqualTo(BusRecordKind.EMPTY);
        assertThat(BusRecordKind.of(bytes("{}"), Map.of(EventBus.NOOP_HEADER, new byte[0])::get)).isEqualTo(BusRecordKind.NO_OP);
        Map<String, byte[]> deadLetter = Map.of(EventBus.DEAD_LETTER_HEADER, bytes("line 3: not JSON"));
        byte[] value = new byte[] {EventBus.DEAD_LETTER_MARK, 'o', 'o', 'p', 's'};
        assertThat(BusRecordKind.of(value, deadLetter::get)).isEqualTo(BusRecordKind.DEAD_LETTER);
        assertThat(BusRecordKind.deadLetterInput(value)).isEqualTo("oops");
        assertThat(BusRecordKind.deadLetterInput(bytes("raw"))).as("written without the mark").isEqualTo("raw");
        assertThat(BusRecordKind.deadLetterReason(deadLetter::get)).isEqualTo("line 3: not JSON");
    }
}
