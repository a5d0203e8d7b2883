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

    @Test
    void aBusRecordIsWhatItsHeadersSay() {
        assertThat(record(bytes("{}"), Map.of()).kind()).isEqualTo(BusRecordKind.EVENT);
        assertThat(record(null, Map.of()).kind()).as("no value, no header").isEqualTo(BusRecordKind.EMPTY);
        assertThat(record(null, Map.of(EventBus.NOOP_HEADER, new byte[0])).kind()).isEqualTo(BusRecordKind.NO_OP);
        BusRecord deadLetter = record(new byte[] {EventBus.DEAD_LETTER_MARK, 'o', 'o', 'p', 's'},
                Map.of(EventBus.DEAD_LETTER_HEADER, bytes("line 3: not JSON")));
        assertThat(deadLetter.kind()).isEqualTo(BusRecordKind.DEAD_LETTER);
        assertThat(deadLetter.deadLetterInput()).isEqualTo("oops");
        assertThat(deadLetter.deadLetterReason()).isEqualTo("line 3: not JSON");
        assertThat(deadLetter.busPartition()).isEqualTo(new BusPartition("clicks", 2));
    }

    private static BusRecord record(byte[] value, Map<String, byte[]> headers) {
        return new BusRecord("clicks", 2, 7, null, value, 0, headers);
    }
}
