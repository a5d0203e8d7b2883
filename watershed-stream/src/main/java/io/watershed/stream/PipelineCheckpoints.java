package io.watershed.stream;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The saved state of each pipeline in the data directory, {@code <root>/<pipeline>/}: the checkpoints its jobs take
 * ({@code <job>/chk-N}), the savepoints a stop takes ({@code savepoints/savepoint-...}), and the file {@code run} naming
 * the run that state belongs to. A reset deletes it all.
 */
final class PipelineCheckpoints {
    private static final Logger LOG = LoggerFactory.getLogger(PipelineCheckpoints.class);

    private final Path root;

    PipelineCheckpoints(Path root) {
        this.root = root;
    }

    /** Where the pipeline's jobs checkpoint. */
    Path directory(String pipeline) {
        return root.resolve(pipeline);
    }

    /** Where a stop puts the pipeline's savepoint. */
    Path savepoints(String pipeline) {
        return directory(pipeline).resolve("savepoints");
    }

    /** The newest complete checkpoint or savepoint (with its {@code _metadata}) of any earlier job of the pipeline. */
    Optional<Path> latest(String pipeline) {
        Path checkpoints = directory(pipeline);
        if (!Files.isDirectory(checkpoints)) {
            return Optional.empty();
        }
        try (Stream<Path> files = Files.find(checkpoints, 3, (p, a) -> p.getFileName().toString().equals("_metadata")
                && (p.getParent().getFileName().toString().startsWith("chk-")
                        || p.getParent().getFileName().toString().startsWith("savepoint-")))) {
            return files.max(Comparator.comparing(PipelineCheckpoints::modified)).map(Path::getParent);
        } catch (IOException e) {
            LOG.warn("Cannot look for checkpoints in {}: {}", checkpoints, e.toString());
            return Optional.empty();
        }
    }

    /** The run the pipeline's state belongs to; a new one when it starts without state. */
    String run(String pipeline, boolean resuming) {
        Path checkpoints = directory(pipeline);
        Path file = checkpoints.resolve("run");
        try {
            if (resuming && Files.isRegularFile(file)) {
                return Files.readString(file).strip();
            }
            String run = UUID.randomUUID().toString();
            Files.createDirectories(checkpoints);
            Files.writeString(file, run);
            return run;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot keep the run id of " + checkpoints, e);
        }
    }

    /** Deletes all the pipeline's state, for a reset. */
    void delete(String pipeline) {
        Path state = directory(pipeline);
        if (!Files.exists(state)) {
            return;
        }
        try (Stream<Path> files = Files.walk(state)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(file);
            }
            LOG.info("Pipeline '{}': state deleted for a reset", pipeline);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot delete the state of pipeline '" + pipeline + "' in " + state, e);
        }
    }

    private static long modified(Path path) {
        try {
            return Files.getLastModifiedTime(path).toMillis();
        } catch (IOException e) {
            return 0;
        }
    }
}
