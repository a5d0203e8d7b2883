package io.watershed.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watershed.project.ProjectLoader;
import io.watershed.spi.Project;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TemplatesTest {
    @TempDir
    Path dir;

    @Test
    void everyTemplateWritesAProjectThatLoads() throws Exception {
        for (String template : Templates.NAMES) {
            Path project = dir.resolve(template);
            assertThat(Templates.write(template, project, "my-project")).hasSize(Templates.files(template).size());
            Project loaded = new ProjectLoader(Map.of()).load(project, null);
            assertThat(loaded.name()).isEqualTo("my-project");
            assertThat(Files.readString(project.resolve(".gitignore"))).contains(".watershed/");
        }
        Project clicks = new ProjectLoader(Map.of()).load(dir.resolve("clickstream"), null);
        assertThat(clicks.pipelines()).containsKey("clicks");
        assertThat(clicks.models()).containsKey("top_pages");
        assertThat(clicks.checks()).isNotEmpty();
        assertThat(Files.isExecutable(dir.resolve("clickstream/generate.sh"))).isTrue();
    }

    @Test
    void writesOnlyWhatIsMissingAndNamesWhatIsThere() throws Exception {
        Files.writeString(dir.resolve("watershed.yaml"), "name: mine\n");
        assertThat(Templates.existing("clickstream", dir)).containsExactly(dir.resolve("watershed.yaml"));
        Templates.write("clickstream", dir, "x");
        assertThat(Files.readString(dir.resolve("watershed.yaml"))).isEqualTo("name: mine\n");
        assertThat(dir.resolve("pipelines/clicks.sql")).exists();
    }

    @Test
    void projectNamesComeFromTheFolder() {
        assertThat(Templates.projectName(Path.of("/tmp/My Shop!"))).isEqualTo("my-shop");
        assertThat(Templates.projectName(Path.of("/tmp/clicks_2"))).isEqualTo("clicks_2");
        assertThat(Templates.projectName(Path.of("/"))).isEqualTo("watershed");
        assertThatThrownBy(() -> Templates.files("nope")).hasMessageContaining("clickstream, empty");
        assertThat(Templates.checkedName("shop-2")).isEqualTo("shop-2");
        assertThatThrownBy(() -> Templates.checkedName("a: b\nprofile: x")).hasMessageContaining("is not a project name")
                .hasMessageContaining("--name a-b-profile-x");
        assertThatThrownBy(() -> Templates.checkedName("")).hasMessageContaining("is not a project name");
    }
}
