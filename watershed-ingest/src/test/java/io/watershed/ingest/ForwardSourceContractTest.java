package io.watershed.ingest;

import io.watershed.testing.Await;
import java.time.Duration;
import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.ingest.forward.ForwardServer;
import io.watershed.spi.Settings;
import io.watershed.spi.SourceSpec;
import io.watershed.spi.SourceStatus;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessageUnpacker;

/** The Fluentd forward listener keeps the source contract: a chunk is acknowledged once its event is in the bus. */
class ForwardSourceContractTest extends SourceContract {
    @Override
    SourceSpec spec(Path directory) {
        return new SourceSpec.Forward(List.of("contract.**"), Optional.of("tag"), Optional.empty());
    }

    @Override
    Settings settings() {
        return withForwardPort(0);
    }

    @Override
    String expectedName() {
        return "forward";
    }

    @Override
    void exercise(Source source) throws Exception {
        int port = ((ForwardServer) source).port();
        try (Socket socket = new Socket("127.0.0.1", port)) {
            MessageBufferPacker message = MessagePack.newDefaultBufferPacker();
            message.packArrayHeader(4).packString("contract.app").packLong(1_700_000_000L).packMapHeader(1).packString("id")
                    .packString("f1").packMapHeader(1).packString("chunk").packString("chunk-1");
            OutputStream out = socket.getOutputStream();
            out.write(message.toByteArray());
            out.flush();
            MessageUnpacker in = MessagePack.newDefaultUnpacker(socket.getInputStream());
            assertThat(in.unpackMapHeader()).isEqualTo(1);
            assertThat(in.unpackString()).isEqualTo("ack");
            assertThat(in.unpackString()).isEqualTo("chunk-1");
        }
        assertThat(bus.events(STREAM)).hasSize(1);
        assertThat(new String(bus.events(STREAM).get(0).value(), StandardCharsets.UTF_8))
                .isEqualTo("{\"id\":\"f1\",\"tag\":\"contract.app\"}");
        SourceStatus.Forward status = (SourceStatus.Forward) source.status();
        assertThat(status.listen()).isEqualTo("127.0.0.1:" + port);
        assertThat(status.streams()).containsEntry(STREAM, List.of("contract.**"));
        Await.until("the message counted", Duration.ofMinutes(1), () -> ((SourceStatus.Forward) source.status()).messages() == 1);
    }
}
