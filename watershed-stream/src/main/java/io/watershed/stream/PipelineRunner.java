package io.watershed.stream;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.LiveTableSource;
import io.watershed.spi.PipelineSpec;
import io.watershed.spi.StreamProcessor;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.core.execution.JobClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each pipeline of the project as one Flink job on an in-process MiniCluster. A pipeline is a
 * file of Flink SQL statements: {@code INSERT INTO} a lake table (created from the query's columns
 * when missing; committed exactly once at each checkpoint) or a stream (a Kafka topic other pipelines
 * read as {@code streams.<name>}), plus any {@code CREATE TEMPORARY VIEW}, {@code CREATE TEMPORARY
 * FUNCTION} or {@code SET} statements before them. Each job checkpoints into the data directory and
 * resumes from its latest checkpoint when the platform starts again.
 *
 * <p>This class owns the lifecycle (start, stop, restart, close); it plans with {@link PipelinePlanner}, keeps state
 * with {@link PipelineCheckpoints}, reports with {@link PipelineStatuses} and words failures with {@link FlinkErrors}.
 */
public final class PipelineRunner implements StreamProcessor, LiveTableSource {
    private static final Logger LOG = LoggerFactory.getLogger(PipelineRunner.class);

    /**
     * The Kafka consumer group a pipeline's stream sources commit their offsets to at each checkpoint; topic
     * retention never deletes past them.
     */
    public static String consumerGroup(String pipeline) {
        return StreamTables.consumerGroup(pipeline);
    }

    private final PipelineContext context;
    private final Map<String, Pipeline> pipelines = new ConcurrentSkipListMap<>();
    private final Thread starter;
    /** Starts and stops the jobs as this instance takes and loses the pipelines' leases, one at a time. */
    private final java.util.concurrent.ExecutorService owner = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "watershed-pipelines-lease");
        t.setDaemon(true);
        return t;
    });
    private final LiveViews liveViews = LiveViews.open(UUID.randomUUID().toString());
    private final PipelineTables tables;
    private final PipelinePlanner planner;
    private final PipelineStatuses statuses;
    private volatile FlinkRuntime runtime;
    private volatile PipelineCheckpoints checkpoints;
    private volatile boolean closed;
    /** Why Flink did not start, once it has failed to; restarts cannot help then. */
    private volatile String engineFailure;

    public PipelineRunner(PipelineContext context, Collection<PipelineSpec> specs) {
        this.context = context;
        specs.forEach(s -> pipelines.put(s.name(), new Pipeline(s)));
        this.tables = new PipelineTables(context, liveViews, pipelines, Optional.empty());
        this.planner = new PipelinePlanner(tables, context.functionJars());
        this.statuses = new PipelineStatuses(context.bus(), liveViews.id());
        this.starter = new Thread(this::startAll, "watershed-pipelines-start");
        starter.setDaemon(true);
        // Flink starts in the background: ingest and queries do not wait for it
        starter.start();
    }

    private void startAll() {
        try {
            FlinkRuntime flink = context.engine().await();
            checkpoints = new PipelineCheckpoints(context.checkpoints().orElse(flink.checkpoints()));
            runtime = flink;
        } catch (RuntimeException e) {
            engineFailure = e.getMessage();
            pipelines.values().forEach(p -> fail(p, e.getMessage()));
            return;
        }
        for (Pipeline pipeline : Pipeline.inDependencyOrder(pipelines.values(), context.streams().streams(), this::fail)) {
            if (closed) {
                return;
            }
            if (pipeline.failed()) {
                continue;
            }
            String name = pipeline.name();
            claimed.add(name);
            context.leases().claim(lease(name), new io.watershed.spi.Leases.Work() {
                @Override
                public void acquired(long epoch) {
                    owner.execute(() -> startOwned(name));
                }

                @Override
                public void lost() {
                    owner.execute(() -> standBy(name));
                }
            });
            if (!context.leases().holds(lease(name)) && pipeline.state.equals("STARTING")) {
                pipeline.state = STANDBY; // until this instance takes it over
            }
        }
    }

    /** The pipelines whose leases this instance has asked for (not those that failed before they could start). */
    private final java.util.Set<String> claimed = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** The pipeline of that name now, locked: a restart replaces it in the map while holding the old one's lock. */
    private <T> T withCurrent(String name, java.util.function.Function<Pipeline, T> action) {
        while (true) {
            Pipeline pipeline = pipelines.get(name);
            if (pipeline == null) {
                return null;
            }
            synchronized (pipeline) {
                if (pipelines.get(name) == pipeline) {
                    return action.apply(pipeline);
                }
            }
        }
    }

    /** A pipeline that another instance of the project runs: this one takes it over when that one stops or dies. */
    static final String STANDBY = "STANDBY";

    /** The lease of a pipeline's job: the instance that holds it submits and runs the job. */
    public static String lease(String pipeline) {
        return "pipeline:" + pipeline;
    }

    /** This instance took the pipeline's lease: submit its job, from its newest checkpoint (wherever it ran before). */
    private void startOwned(String name) {
        if (closed) {
            return;
        }
        Pipeline pipeline = withCurrent(name, p -> {
            if (p.job != null || p.failed() || !context.leases().holds(lease(name))) {
                return null;
            }
            p.stopping = false;
            start(p);
            return p;
        });
        if (pipeline != null && pipeline.restoredFrom != null && pipeline.state.equals("RUNNING")) {
            // the file may have changed while the platform was down
            Thread watcher = new Thread(() -> awaitStarted(pipeline), "watershed-pipeline-start-" + pipeline.name());
            watcher.setDaemon(true);
            watcher.start();
        }
    }

    /**
     * This instance lost the pipeline's lease: cancel its job at once (no savepoint: the new holder may be starting from
     * the newest checkpoint already). Its stream sinks' transactions are fenced by their transactional ids, which the
     * new holder's job takes over; an Iceberg sink of a job that outlives the lease (a frozen JVM) is not fenced yet.
     */
    private void standBy(String name) {
        withCurrent(name, pipeline -> {
            JobClient job = pipeline.job;
            pipeline.stopping = true;
            if (job != null) {
                try {
                    job.cancel().get(30, TimeUnit.SECONDS);
                } catch (Exception e) {
                    LOG.warn("Cannot cancel pipeline '{}' after losing its lease: {}", name, FlinkErrors.rootMessage(e));
                }
            }
            pipeline.job = null;
            if (!pipeline.failed()) {
                pipeline.state = STANDBY;
            }
            return pipeline;
        });
        LOG.warn("Pipeline '{}' stopped here: this instance no longer holds lease '{}'", name, lease(name));
    }

    /** Refuses to change a pipeline whose job another instance runs, saying which. */
    private void requireOwned(String name, String action) {
        if (!claimed.contains(name) || context.leases().holds(lease(name)) || runtime == null) {
            return;
        }
        String holder = context.leases().holders().stream().filter(h -> h.work().equals(lease(name)) && h.live())
                .map(io.watershed.spi.Leases.Holder::instance).findFirst().orElse("another instance");
        throw new WatershedException(ErrorCode.CONFLICT, "Cannot " + action + " pipeline '" + name + "' here: instance "
                + holder + " runs it (lease '" + lease(name) + "'); ask that instance, or wait until it stops and this one takes "
                + "the pipeline over");
    }

    /** Plans and submits the pipeline; a failure is its state, not an exception. */
    private void start(Pipeline pipeline) {
        try {
            submit(pipeline);
            LOG.info("Pipeline '{}' submitted as job {}, writing {}", pipeline.name(), pipeline.job.getJobID(), pipeline.outputs);
        } catch (Pipeline.PipelineException e) {
            fail(pipeline, e.getMessage());
        } catch (RuntimeException e) {
            fail(pipeline, pipeline.spec.file().getFileName() + ": " + FlinkErrors.rootMessage(e));
        }
    }

    private void fail(Pipeline pipeline, String message) {
        pipeline.fail(message);
        LOG.error("Pipeline '{}' failed: {}", pipeline.name(), message);
    }

    private void submit(Pipeline pipeline) {
        String name = pipeline.name();
        Optional<Path> checkpoint = checkpoints.latest(name);
        Configuration conf = jobConfiguration(name);
        checkpoint.ifPresent(path -> {
            LOG.info("Pipeline '{}' resumes from checkpoint {}", name, path);
            conf.set(StateRecoveryOptions.SAVEPOINT_PATH, path.toString());
        });
        pipeline.run = checkpoints.run(name, checkpoint.isPresent());
        pipeline.restoredFrom = checkpoint.map(c -> c.getParent().getFileName() + "/" + c.getFileName()).orElse(null);
        PipelinePlanner.Plan plan = planner.plan(runtime.tableEnvironment(conf), pipeline);
        JobClient job;
        try {
            job = plan.inserts().execute().getJobClient().orElseThrow();
        } catch (RuntimeException e) {
            throw new Pipeline.PipelineException(FlinkErrors.locatedAtSink(pipeline.file(), plan.targets(), e), e);
        }
        Optional<String> restoredFrom = checkpoint.map(c -> c.getFileName().toString());
        pipeline.job = job;
        pipeline.state = "RUNNING";
        // a job that ends on its own has failed for good (restarts with backoff come first): say why
        job.getJobExecutionResult().whenComplete((result, e) -> {
            if (e != null && pipeline.job == job && !pipeline.stopping && !closed) {
                fail(pipeline, FlinkErrors.jobFailure(pipeline.file(), name, restoredFrom, e));
            }
        });
    }

    /** A pipeline job's settings: exactly-once checkpoints kept on cancel, idle sources, restarts with backoff. */
    private Configuration jobConfiguration(String name) {
        Configuration conf = new Configuration();
        conf.set(PipelineOptions.NAME, name);
        conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, context.checkpointInterval());
        conf.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, checkpoints.directory(name).toUri().toString());
        conf.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                org.apache.flink.configuration.ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        // a partition without new records this long stops holding back event time (the watermark is the minimum
        // over partitions); without it a quiet partition would keep every window open. Too short, and a partition
        // whose backlog is slow to start flowing after a restart is passed over, its records then late
        conf.setString("table.exec.source.idle-timeout", context.idleTimeout().toMillis() + " ms");
        LOG.debug("Pipeline '{}': sources idle after {}", name, context.idleTimeout());
        // a failing job restarts from its last checkpoint after 1 s, 2 s, 4 s ... at most a minute apart, without end;
        // the backoff starts over after 10 minutes without a failure
        conf.setString("restart-strategy.type", "exponential-delay");
        conf.setString("restart-strategy.exponential-delay.initial-backoff", "1 s");
        conf.setString("restart-strategy.exponential-delay.max-backoff", "1 min");
        conf.setString("restart-strategy.exponential-delay.backoff-multiplier", "2.0");
        conf.setString("restart-strategy.exponential-delay.reset-backoff-threshold", "10 min");
        conf.setString("restart-strategy.exponential-delay.jitter-factor", "0.1");
        return conf;
    }

    @Override
    public PipelineStatus stop(String name) {
        Pipeline pipeline = find(name);
        requireOwned(name, "stop");
        synchronized (pipeline) {
            stopJob(pipeline);
            pipeline.state = "STOPPED";
        }
        return statuses.status(pipeline, runtime);
    }

    /** Stops the job with a savepoint (its state for the next start), or cancels it when no savepoint can be taken. */
    private void stopJob(Pipeline pipeline) {
        JobClient job = pipeline.job;
        if (job == null) {
            return;
        }
        pipeline.stopping = true;
        try {
            String state = job.getJobStatus().get(10, TimeUnit.SECONDS).name();
            if (state.equals("RUNNING")) {
                String savepoint = job.stopWithSavepoint(false, checkpoints.savepoints(pipeline.name()).toUri().toString(),
                        org.apache.flink.core.execution.SavepointFormatType.CANONICAL).get(60, TimeUnit.SECONDS);
                LOG.info("Pipeline '{}' stopped with savepoint {}", pipeline.name(), savepoint);
            } else if (!job.getJobStatus().get(10, TimeUnit.SECONDS).isGloballyTerminalState()) {
                job.cancel().get(30, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            LOG.warn("Cannot stop pipeline '{}' with a savepoint ({}); cancelling it, its newest checkpoint is kept",
                    pipeline.name(), FlinkErrors.rootMessage(e));
            try {
                job.cancel().get(30, TimeUnit.SECONDS);
            } catch (Exception cancel) {
                LOG.debug("Cancel of pipeline '{}': {}", pipeline.name(), cancel.toString());
            }
        }
    }

    @Override
    public PipelineStatus restart(String name, boolean reset) {
        if (runtime == null && engineFailure != null) {
            throw new WatershedException(ErrorCode.UNAVAILABLE, "Cannot restart pipeline '" + name + "': Flink did not start ("
                    + engineFailure + "); fix that (see the platform log) and start the platform again");
        }
        if (runtime == null) {
            throw new WatershedException(ErrorCode.UNAVAILABLE, "Cannot restart pipeline '" + name + "' yet: Flink is still "
                    + "starting; try again in a few seconds");
        }
        Pipeline old = find(name);
        requireOwned(name, "restart");
        Pipeline pipeline;
        synchronized (old) {
            stopJob(old);
            String sql;
            try {
                sql = Files.readString(old.spec.file());
            } catch (IOException e) {
                throw new WatershedException(ErrorCode.UNKNOWN_PIPELINE, "Cannot restart pipeline '" + name + "': cannot read "
                        + old.spec.file() + " (" + e + ")", e);
            }
            if (reset) {
                checkpoints.delete(name);
            }
            tables.forget(old);
            pipeline = new Pipeline(new PipelineSpec(name, old.spec.file(), sql));
            pipelines.put(name, pipeline);
            start(pipeline);
        }
        PipelineStatus status = awaitStarted(pipeline);
        if (status.state().equals("FAILED") && status.error().orElse("").contains("--reset")) {
            throw new WatershedException(ErrorCode.CONFLICT, status.error().get());
        }
        return status;
    }

    /**
     * Waits until a job that started from saved state has completed its first checkpoint, or has
     * failed. Flink names SQL operators by the shape of the plan, so a changed query may get the
     * saved state of an operator that now keeps other state, and Flink does not always notice: the job
     * then fails as it reads that state (an IndexOutOfBoundsException, say), and would fail again at
     * every restart. A job that fails before its first checkpoint from restored state is therefore
     * stopped and its pipeline failed, with the way out (restart with --reset), unless a sink's store
     * failed it (a store that is down is no sign of state that does not fit).
     */
    private PipelineStatus awaitStarted(Pipeline pipeline) {
        JobClient job = pipeline.job;
        if (job == null || pipeline.restoredFrom == null) {
            return statuses.status(pipeline, runtime);
        }
        JobID id = job.getJobID();
        long deadline = System.nanoTime() + context.checkpointInterval().multipliedBy(3).plusSeconds(60).toNanos();
        while (System.nanoTime() < deadline && pipeline.job == job && pipeline.state.equals("RUNNING") && !closed) {
            Optional<String> failure = runtime.lastFailureDetail(id);
            if (failure.isPresent() && BufferedSinkWriter.storeFailed(failure.get())) {
                // a sink's store that is down as the job resumes tells nothing of the state: Flink restarts the job until
                // the store is back, as it would later
                LOG.info("Pipeline '{}' resumed while a sink's store refuses writes; it restarts until the store is back",
                        pipeline.name());
                break;
            }
            if (failure.isPresent()) {
                String detail = failure.get();
                pipeline.stopping = true;
                try {
                    job.cancel().get(30, TimeUnit.SECONDS);
                } catch (Exception e) {
                    LOG.debug("Cancel of pipeline '{}': {}", pipeline.name(), e.toString());
                }
                String reason = detail.lines().filter(FlinkErrors::stateDoesNotFit).findFirst()
                        .orElse(runtime.lastFailure(id).orElse(detail.lines().findFirst().orElse(""))).strip();
                fail(pipeline, FlinkErrors.stateDoesNotFit(pipeline.file(), pipeline.name(), pipeline.restoredFrom,
                        "the job failed as it started from that state: " + reason));
                break;
            }
            if (runtime.completedCheckpoints(id) > 0) {
                break;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return statuses.status(pipeline, runtime);
    }

    private Pipeline find(String name) {
        Pipeline pipeline = name == null ? null : pipelines.get(name);
        if (pipeline == null) {
            throw new WatershedException(ErrorCode.UNKNOWN_PIPELINE, "Cannot find pipeline '" + name + "': the project has "
                    + (pipelines.isEmpty() ? "none" : String.join(", ", pipelines.keySet())) + " (files pipelines/<name>.sql)");
        }
        return pipeline;
    }

    @Override
    public List<PipelineStatus> pipelines() {
        List<PipelineStatus> all = new ArrayList<>();
        for (Pipeline p : pipelines.values()) {
            all.add(statuses.status(p, runtime));
        }
        return all;
    }

    @Override
    public List<SinkStatus> sinks() {
        List<SinkStatus> all = new ArrayList<>();
        for (String sink : new java.util.TreeSet<>(context.sinks().keySet())) {
            all.add(SinkStatistics.of(SinkStatistics.key(liveViews.id(), sink)).status(sink));
        }
        return all;
    }

    @Override
    public List<LiveTable> liveTables() {
        List<LiveTable> all = new ArrayList<>();
        for (LiveView view : liveViews.views().values()) {
            all.add(new LiveTable(PipelineTables.LIVE, view.name(), view.version(), view.columns(), view::rows));
        }
        return all;
    }

    @Override
    public void close() {
        closed = true;
        try {
            starter.join(TimeUnit.SECONDS.toMillis(60));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        owner.shutdown();
        try {
            owner.awaitTermination(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Pipeline p : pipelines.values()) {
            p.stopping = true;
            if (p.job != null) {
                try {
                    // the last checkpoint is kept (RETAIN_ON_CANCELLATION): the next start resumes from it
                    p.job.cancel().get(30, TimeUnit.SECONDS);
                    p.state = "STOPPED";
                } catch (Exception e) {
                    LOG.warn("Cannot cancel pipeline '{}': {}", p.name(), e.toString());
                }
            }
            context.leases().release(lease(p.name())); // another instance takes it over from the newest checkpoint
        }
        liveViews.close();
    }
}
