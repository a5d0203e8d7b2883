package io.watershed.ingest;

import io.watershed.testing.Await;
import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.SourceSpec;
import io.watershed.spi.SourceStatus;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** A file tail keeps the source contract: a line written to a matching file reaches the stream, and its status shows the file. */
class FileTailSourceContractTest extends SourceContract {
    private Path logs;

    @Override
    SourceSpec spec(Path directory) throws Exception {
        logs = Files.createDirectories(directory.resolve("logs"));
        return new SourceSpec.FileTail(List.of(logs + "/*.log"), List.of(), SourceSpec.Format.JSON, Optional.empty(), Optional.empty(),
                Duration.ofSeconds(1), true, Optional.empty(), 1 << 20);
    }

    @Override
    String expectedName() {
        return STREAM + ".file";
    }

    @Override
    void exercise(Source source) throws Exception {
        String line = "{\"id\":\"t1\",\"n\":1}\n";
        Files.writeString(logs.resolve("app.log"), line, StandardCharsets.UTF_8);
        Await.until("the line in the bus", Duration.ofMinutes(1), () -> bus.events(STREAM).size() == 1);
        assertThat(new String(bus.events(STREAM).get(0).value(), StandardCharsets.UTF_8)).isEqualTo(line.strip());
        Await.until("the file in the status", Duration.ofMinutes(1), () -> {
            SourceStatus.FileTail status = (SourceStatus.FileTail) source.status();
            return status.files().size() == 1 && status.files().get(0).offset() == line.length() && status.lagBytes() == 0;
        });
        assertThat(((SourceStatus.FileTail) source.status()).lastError()).isNull();
    }
}
