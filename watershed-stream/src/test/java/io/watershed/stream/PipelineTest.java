package io.watershed.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.PipelineSpec;
import io.watershed.spi.StreamSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What a pipeline writes and reads, found in its SQL, and the order pipelines are planned in. */
class PipelineTest {
    private static Pipeline pipeline(String name, String sql) {
        return new Pipeline(new PipelineSpec(name, Path.of("pipelines", name + ".sql"), sql));
    }

    @Test
    void theStreamsOfItsInsertTargetsAreWrittenAndTheOthersRead() {
        Pipeline p = pipeline("p", "INSERT INTO streams.out SELECT * FROM streams.`in` JOIN streams.out2 ON true;\n"
                + "INSERT INTO marts.x SELECT * FROM streams.out;");
        assertThat(p.writes).containsExactly("out");
        assertThat(p.reads).containsExactly("in", "out2");
        assertThat(p.file()).isEqualTo("pipelines/p.sql");
    }

    @Test
    void writersOfUndeclaredStreamsGoFirstAndACycleFails() {
        StreamSpec declared = new StreamSpec("clicks", 1, Optional.empty(), Optional.empty(), Duration.ofSeconds(5), Optional.empty(),
                Map.of("page", "string"));
        Pipeline reader = pipeline("a_reader", "INSERT INTO marts.x SELECT * FROM streams.enriched;");
        Pipeline writer = pipeline("b_writer", "INSERT INTO streams.enriched SELECT * FROM streams.clicks;");
        Pipeline x = pipeline("x", "INSERT INTO streams.x SELECT * FROM streams.y;");
        Pipeline y = pipeline("y", "INSERT INTO streams.y SELECT * FROM streams.x;");
        List<String> failed = new ArrayList<>();
        List<Pipeline> order = Pipeline.inDependencyOrder(List.of(reader, writer, x, y), List.of(declared), (p, message) -> {
            p.fail(message);
            failed.add(p.name());
        });
        assertThat(order).extracting(Pipeline::name).containsExactly("b_writer", "a_reader", "x", "y");
        assertThat(failed).containsExactly("x", "y");
        assertThat(x.error).startsWith("pipelines/x.sql:1:1: pipeline 'x' is in a cycle");
    }
}
