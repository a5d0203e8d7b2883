package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.project.ProjectLoader;
import io.watershed.server.ProjectCheck;
import io.watershed.spi.Project;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every project under examples/ loads, and Flink plans all its pipelines: what `watershed validate` checks. */
class ExamplesTest {
    static List<Path> examples() throws IOException {
        try (Stream<Path> dirs = Files.list(Path.of("..", "examples"))) {
            return dirs.filter(d -> Files.isRegularFile(d.resolve("watershed.yaml"))).sorted().toList();
        }
    }

    @ParameterizedTest
    @MethodSource("examples")
    void examplePlans(Path example) {
        Project project = new ProjectLoader(java.util.Map.of()).load(example, null);
        assertThat(project.pipelines()).as("an example shows pipelines").isNotEmpty();
        assertThat(Files.isExecutable(example.resolve("generate.sh"))).as("a data generator").isTrue();
        assertThat(Files.isRegularFile(example.resolve("README.md"))).isTrue();
        ProjectCheck validation = ProjectCheck.plan(project);
        assertThat(validation.problems()).isEmpty();
        assertThat(validation.unchecked()).isEmpty();
    }
}
