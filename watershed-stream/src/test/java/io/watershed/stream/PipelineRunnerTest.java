package io.watershed.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watershed.spi.BusConnection;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.PipelineSpec;
import io.watershed.spi.WatershedException;
import io.watershed.testing.Await;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PipelineRunnerTest {

    @Test
    void aRestartAfterFlinkFailedToStartSaysWhyInsteadOfTryAgain(@TempDir Path dir) throws Exception {
        // Flink's working directory is a file: the MiniCluster cannot start
        Path notADirectory = Files.writeString(dir.resolve("flink"), "not a directory");
        try (FlinkEngine engine = new FlinkEngine(notADirectory, 2)) {
            PipelineRunner runner = new PipelineRunner(new PipelineContext(engine, null, BusConnection.plain("127.0.0.1:9"), "lake",
                    Map.of(), null, null, 1, Duration.ofSeconds(1), List.of(), Duration.ofMinutes(1), java.util.Optional.empty(),
                    io.watershed.spi.StateDatabase.local(dir).leases()),
                    List.of(new PipelineSpec("orders", dir.resolve("orders.sql"), "INSERT INTO raw.x SELECT 1")));
            Await.until("the pipeline failed with Flink", Duration.ofSeconds(30),
                    () -> runner.pipelines().get(0).state().equals("FAILED"));
            assertThatThrownBy(() -> runner.restart("orders", false))
                    .isInstanceOfSatisfying(WatershedException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE))
                    .hasMessageContaining("Cannot restart pipeline 'orders': Flink did not start (")
                    .hasMessageContaining("start the platform again");
            runner.close();
        }
    }
}
