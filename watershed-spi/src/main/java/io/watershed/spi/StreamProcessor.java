package io.watershed.spi;

import java.util.List;
import java.util.Optional;

/** Runs the project's continuous pipelines and reports on them. */
public interface StreamProcessor extends AutoCloseable {

    /** Every pipeline of the project with its current state, in name order. */
    List<PipelineStatus> pipelines();

    @Override
    void close();

    /**
     * @param name pipeline name
     * @param state STARTING, RUNNING, RESTARTING, FAILED, FINISHED, CANCELED or STOPPED
     * @param error why it failed, when it did
     * @param jobId the Flink job, once submitted
     * @param outputs the tables and streams it writes
     */
    record PipelineStatus(String name, String state, Optional<String> error, Optional<String> jobId, List<String> outputs) {}
}
