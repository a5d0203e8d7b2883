package io.watershed.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A pipeline's saved state on disk: where it resumes from, the run it belongs to, and its reset. */
class PipelineCheckpointsTest {
    @TempDir
    Path root;

    private Path complete(String relative, long modified) throws Exception {
        Path metadata = root.resolve("p").resolve(relative).resolve("_metadata");
        Files.createDirectories(metadata.getParent());
        Files.writeString(metadata, "x");
        Files.setLastModifiedTime(metadata, FileTime.fromMillis(modified));
        return metadata.getParent();
    }

    @Test
    void resumesFromTheNewestCompleteCheckpointOrSavepoint() throws Exception {
        PipelineCheckpoints checkpoints = new PipelineCheckpoints(root);
        assertThat(checkpoints.latest("p")).isEmpty();
        complete("job1/chk-3", 1_000);
        Path savepoint = complete("savepoints/savepoint-abc", 3_000);
        Files.createDirectories(root.resolve("p/job2/chk-9")); // still being written: no _metadata
        assertThat(checkpoints.latest("p")).contains(savepoint);
        Path newer = complete("job2/chk-4", 5_000);
        assertThat(checkpoints.latest("p")).contains(newer);
        assertThat(checkpoints.savepoints("p")).isEqualTo(root.resolve("p/savepoints"));
    }

    @Test
    void aRunIsKeptWhileItsStateIsAndAResetDeletesBoth() throws Exception {
        PipelineCheckpoints checkpoints = new PipelineCheckpoints(root);
        String first = checkpoints.run("p", false);
        assertThat(checkpoints.run("p", true)).as("resuming keeps the run").isEqualTo(first);
        String second = checkpoints.run("p", false);
        assertThat(second).as("starting without state begins a new run").isNotEqualTo(first);
        complete("job1/chk-1", 1_000);
        checkpoints.delete("p");
        assertThat(root.resolve("p")).doesNotExist();
        assertThat(checkpoints.latest("p")).isEmpty();
        checkpoints.delete("p"); // nothing left: no error
    }
}
