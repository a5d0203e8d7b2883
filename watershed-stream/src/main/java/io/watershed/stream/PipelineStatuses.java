package io.watershed.stream;

import io.watershed.spi.EventBus;
import io.watershed.spi.StreamProcessor.PipelineStatus;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.flink.core.execution.JobClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pipeline's status as the API shows it: its job's state (and why it failed or restarts), restarts and backpressure
 * from Flink, how far its sources lag behind their streams and how fast they read (from the offsets its consumer group
 * committed, as the bus reports them), and the records it skipped as unreadable.
 */
final class PipelineStatuses {
    private static final Logger LOG = LoggerFactory.getLogger(PipelineStatuses.class);

    private final EventBus bus;
    private final String runner;

    /** @param runner the runner's id, under which its pipelines' unreadable records are counted */
    PipelineStatuses(EventBus bus, String runner) {
        this.bus = bus;
        this.runner = runner;
    }

    /** @param runtime the Flink cluster, null while it starts */
    PipelineStatus status(Pipeline p, FlinkRuntime runtime) {
        String state = p.state;
        JobClient job = p.job;
        String error = p.error;
        long restarts = 0;
        Optional<Double> backpressure = Optional.empty();
        if (job != null && state.equals("RUNNING")) {
            state = jobState(p);
            if (runtime != null) {
                restarts = runtime.restarts(job.getJobID());
                backpressure = state.equals("RUNNING") ? runtime.backpressure(job.getJobID()) : Optional.empty();
                if (!state.equals("RUNNING") || restarts > 0) {
                    error = runtime.lastFailure(job.getJobID()).map(f -> "the job failed and restarts with backoff: " + f).orElse(null);
                }
            }
        }
        long lag = 0;
        if (job != null) {
            EventBus.GroupProgress progress = progress(p);
            lag = progress.lag();
            long now = System.nanoTime();
            synchronized (p) {
                if (p.lastCommitted >= 0 && progress.committed() >= p.lastCommitted && now - p.lastCommittedAt > 1_000_000_000L) {
                    p.eventsPerSecond = (progress.committed() - p.lastCommitted) / ((now - p.lastCommittedAt) / 1e9);
                }
                if (p.lastCommitted < 0 || now - p.lastCommittedAt > 1_000_000_000L) {
                    p.lastCommitted = progress.committed();
                    p.lastCommittedAt = now;
                }
            }
        }
        return new PipelineStatus(p.name(), state, Optional.ofNullable(error),
                Optional.ofNullable(job).map(j -> j.getJobID().toString()), List.copyOf(p.outputs), restarts, lag, backpressure,
                Math.round(p.eventsPerSecond * 10) / 10.0, UnreadableRecords.count(UnreadableRecords.key(runner, p.name())));
    }

    private static String jobState(Pipeline p) {
        JobClient job = p.job;
        if (job == null) {
            return p.state;
        }
        try {
            return job.getJobStatus().get(5, TimeUnit.SECONDS).name();
        } catch (Exception e) {
            return "UNKNOWN";
        }
    }

    /**
     * The offsets the pipeline's sources committed at their last checkpoint, and how far their topics' ends are beyond;
     * while the bus does not answer, no lag and the offsets of the last status (so no rate).
     */
    private EventBus.GroupProgress progress(Pipeline p) {
        try {
            return bus.consumerGroupProgress(StreamTables.consumerGroup(p.name()));
        } catch (RuntimeException e) {
            LOG.debug("Cannot read the offsets of pipeline '{}': {}", p.name(), e.toString());
            return new EventBus.GroupProgress(p.lastCommitted, 0);
        }
    }
}
