package io.watershed.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * Jazzer fuzzing of what an HTTP ingest body goes through: NDJSON / JSON arrays / objects as sent, and the same behind
 * gzip. Whatever the bytes, the answer is events that are each one JSON object within the size limit, or a refusal the
 * API turns into a 4xx (WatershedException INVALID_INPUT or PAYLOAD_TOO_LARGE; IOException for an unreadable body) —
 * never another exception, a hang or an out-of-memory. {@code mvn test} runs the inputs in
 * {@code IngestFuzzTestInputs/<method>/} (seeds and every finding kept as a regression test); the build also fuzzes
 * each target for a bounded time, and {@code bench/run fuzz DURATION} for longer.
 */
class IngestFuzzTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_BODY = 1 << 20;

    @FuzzTest(maxDuration = "20s")
    void plainBody(byte[] body) throws Exception {
        check(() -> IngestService.events(new ByteArrayInputStream(body), MAX_BODY, Optional.of("user")));
    }

    @FuzzTest(maxDuration = "20s")
    void gzipBody(byte[] body) throws Exception {
        check(() -> IngestService.events(IngestService.decode(new ByteArrayInputStream(body), "gzip"), MAX_BODY, Optional.of("user")));
    }

    interface Parse {
        List<EventParser.ParsedEvent> run() throws IOException;
    }

    private static void check(Parse parse) throws IOException {
        List<EventParser.ParsedEvent> events;
        try {
            events = parse.run();
        } catch (WatershedException e) {
            assertThat(e.code()).as(e.getMessage()).isIn(ErrorCode.INVALID_INPUT, ErrorCode.PAYLOAD_TOO_LARGE);
            assertThat(e.getMessage()).startsWith("Cannot");
            return;
        } catch (IOException e) {
            return; // "Cannot read the request body", a 400
        }
        for (EventParser.ParsedEvent event : events) {
            assertThat(event.json().length).isLessThanOrEqualTo(EventParser.MAX_EVENT_BYTES);
            JsonNode node = JSON.readTree(event.json());
            assertThat(node.isObject()).as(new String(event.json(), java.nio.charset.StandardCharsets.UTF_8)).isTrue();
        }
    }
}
