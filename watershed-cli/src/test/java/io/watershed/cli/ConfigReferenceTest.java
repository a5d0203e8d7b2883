package io.watershed.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ConfigReferenceTest {
    @Test
    void documentedReferenceMatchesTheDeclaredSettings() throws Exception {
        String docs = Files.readString(Path.of("..", "docs", "configuration.md"));
        assertThat(docs).as("docs/configuration.md is stale: regenerate its table with `./watershed config`")
                .contains(ConfigCommand.reference());
    }
}
