package io.watershed.spi;

import java.util.List;
import java.util.Optional;

/** Runs the project's continuous pipelines and reports on them. */
public interface StreamProcessor extends AutoCloseable {

    /** Every pipeline of the project with its current state, in name order. */
    List<PipelineStatus> pipelines();

    /**
     * Stops a pipeline, keeping its state (a savepoint) for the next start.
     *
     * @throws WatershedException UNKNOWN_PIPELINE
     */
    PipelineStatus stop(String name);

    /**
     * Stops a pipeline if it runs, reads its file again and starts it from its state (the savepoint
     * taken as it stopped, else its newest checkpoint), or without state when {@code reset}. Returns
     * once the new job runs or has failed.
     *
     * @throws WatershedException UNKNOWN_PIPELINE; CONFLICT when its state does not fit the changed SQL
     *         (restart with reset to start over); UNAVAILABLE while the stream processor is starting
     */
    PipelineStatus restart(String name, boolean reset);

    /** What each sink of the project has written, in name order; empty without sinks. */
    default List<SinkStatus> sinks() {
        return List.of();
    }

    @Override
    void close();

    /**
     * What a sink ({@code sinks/<name>.yaml}) has written since the platform started, over all pipelines that write it.
     *
     * @param rowsWritten rows the store took (an upsert, insert or delete each; a row written again after a restart counts again)
     * @param errors failed writes (each is tried again; a write that keeps failing restarts the pipeline)
     * @param lastError the last failed write's reason, without the password
     * @param lastFlushSeconds how long the last write of a batch took
     * @param pendingRows rows buffered, not yet written
     * @param deadLetters rows the store refused for their data, kept in its dead-letter table ({@code <table>__dlq})
     * @param lastDeadLetter the store's reason for the last of them
     */
    record SinkStatus(String name, long rowsWritten, long errors, Optional<String> lastError, double lastFlushSeconds,
            long pendingRows, long deadLetters, Optional<String> lastDeadLetter) {}

    /**
     * @param name pipeline name
     * @param state STARTING, RUNNING, RESTARTING, FAILED, FINISHED, CANCELED, STOPPED, or STANDBY (another instance of
     *     the project runs it)
     * @param error why it failed, or why it is restarting
     * @param jobId the Flink job, once submitted
     * @param outputs the tables, streams and live views it writes
     * @param restarts how often its job restarted after a failure (with a growing backoff)
     * @param lag records in its input streams it has not yet processed, as of its last checkpoint
     * @param backpressure Flink's backpressure of its job: the largest share of time (0 to 1) any of its tasks waited
     *     for room in its output; empty until Flink has sampled it
     * @param eventsPerSecond records read per second over the last checkpoints
     * @param unreadableRecords records its sources skipped because they do not fit the stream's columns (the
     *     raw table keeps them, and its dead-letter table says why when the lake's columns refuse them too)
     */
    record PipelineStatus(String name, String state, Optional<String> error, Optional<String> jobId, List<String> outputs,
            long restarts, long lag, Optional<Double> backpressure, double eventsPerSecond, long unreadableRecords) {

        /** Flink's level for the ratio, as its web UI shows it: ok up to 10%, low up to 50%, high above. */
        public Optional<String> backpressureLevel() {
            return backpressure.map(r -> r <= 0.10 ? "ok" : r <= 0.50 ? "low" : "high");
        }
    }
}
