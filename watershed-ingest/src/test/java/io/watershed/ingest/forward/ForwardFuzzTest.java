package io.watershed.ingest.forward;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Map;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessagePackException;
import org.msgpack.core.MessageUnpacker;

/**
 * Jazzer fuzzing of the Fluentd forward decoder: a MessagePack record becomes one JSON object, or a problem the record
 * goes to the dead letters with, or an IOException / MessagePackException that closes the connection as malformed —
 * never another exception, a hang or an out-of-memory (a header may claim gigabytes the input does not have).
 */
class ForwardFuzzTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @FuzzTest(maxDuration = "20s")
    void record(byte[] data) throws IOException {
        MsgpackJson decoder = new MsgpackJson();
        byte[] out;
        try (MessageUnpacker in = MessagePack.newDefaultUnpacker(data)) {
            out = decoder.record(in, Map.of("tag", "app.fuzz"), "user", new String[1]);
        } catch (IOException | MessagePackException e) {
            return;
        }
        if (decoder.problem() == null) {
            JsonNode node = JSON.readTree(out);
            assertThat(node.isObject()).isTrue();
        } else {
            assertThat(decoder.problem()).isNotBlank();
        }
    }
}
