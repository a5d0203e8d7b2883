package io.watershed.stream;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.LakeCatalog;
import io.watershed.spi.LakeTableView;
import io.watershed.spi.LiveTableSource;
import io.watershed.spi.PipelineSpec;
import io.watershed.spi.StreamProcessor;
import io.watershed.spi.StreamRegistry;
import io.watershed.spi.StreamSpec;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.StatementSet;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.catalog.ResolvedSchema;
import org.apache.flink.table.types.logical.LocalZonedTimestampType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.TimestampType;
import org.apache.kafka.clients.admin.Admin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each pipeline of the project as one Flink job on an in-process MiniCluster. A pipeline is a
 * file of Flink SQL statements: {@code INSERT INTO} a lake table (created from the query's columns
 * when missing; committed exactly once at each checkpoint) or a stream (a Kafka topic other pipelines
 * read as {@code streams.<name>}), plus any {@code CREATE TEMPORARY VIEW}, {@code CREATE TEMPORARY
 * FUNCTION} or {@code SET} statements before them. Each job checkpoints into the data directory and
 * resumes from its latest checkpoint when the platform starts again.
 */
public final class PipelineRunner implements StreamProcessor, LiveTableSource {
    private static final Logger LOG = LoggerFactory.getLogger(PipelineRunner.class);
    private static final Pattern INSERT = Pattern.compile("(?is)INSERT\\s+INTO\\s+((?:`[^`]+`|[\\w]+)(?:\\s*\\.\\s*(?:`[^`]+`|[\\w]+)){0,2})\\s+(.*)");
    private static final Pattern LIVE_VIEW = Pattern.compile(
            "(?is)CREATE\\s+LIVE\\s+VIEW\\s+((?:`[^`]+`|[\\w]+)(?:\\s*\\.\\s*(?:`[^`]+`|[\\w]+))?)\\s+AS\\s+(.*)");
    /** The namespace live views are queried under. */
    public static final String LIVE = "live";

    /**
     * The Kafka consumer group a pipeline's stream sources commit their offsets to at each checkpoint; topic
     * retention never deletes past them.
     */
    public static String consumerGroup(String pipeline) {
        return "watershed-pipeline-" + pipeline;
    }
    /** Most distinct rows one live view may hold. */
    static final int LIVE_VIEW_MAX_ROWS = 100_000;
    private static final Pattern STREAM_REFERENCE = Pattern.compile("(?i)(?<![\\w`])`?streams`?\\s*\\.\\s*`?([a-z][a-z0-9_]*)`?");
    static final Pattern POSITION = Pattern.compile("line (\\d+), column (\\d+)");

    /**
     * What the runner needs from the rest of the platform.
     *
     * @param catalogName the Iceberg catalog's name (Flink's catalog gets the same one, and is the current catalog)
     * @param catalogProperties the Iceberg catalog's properties (catalog-impl, uri, warehouse, ...)
     * @param functionJars the project's jars of user-defined functions ({@code functions/*.jar}), on every job's classpath
     * @param engine the Flink cluster the pipelines run on (shared with model builds; its owner closes it)
     */
    public record Context(FlinkEngine engine, io.watershed.spi.BusConnection bus, String catalogName, Map<String, String> catalogProperties,
            LakeCatalog lake, StreamRegistry streams, int defaultPartitions, Duration checkpointInterval, List<Path> functionJars,
            Duration idleTimeout) {}

    private final Context context;
    private final Map<String, Pipeline> pipelines = new java.util.concurrent.ConcurrentSkipListMap<>();
    private final Thread starter;
    private final LiveViews liveViews = LiveViews.open(java.util.UUID.randomUUID().toString());
    private volatile FlinkRuntime runtime;
    private volatile boolean closed;
    /** Plans only (watershed validate): nothing is created, connected or run. */
    private final boolean dryRun;

    /** The columns of a stream no file declares, as the pipeline that writes it defined them. */
    private final Map<String, DerivedStream> derived = new java.util.concurrent.ConcurrentHashMap<>();

    private record DerivedStream(String writer, Map<String, String> columns, Optional<String> eventTime) {}

    private static final class Pipeline {
        final PipelineSpec spec;
        /** Streams its INSERTs write, and streams it mentions otherwise (what it reads). */
        final java.util.Set<String> writes = new java.util.TreeSet<>();
        final java.util.Set<String> reads = new java.util.TreeSet<>();
        volatile String state = "STARTING";
        volatile String error;
        volatile JobClient job;
        /** Names this pipeline's state from its first start until it is reset; its stream sinks' commit records use it. */
        volatile String run;
        /** Set while the platform stops or restarts it: its job ending then is no failure. */
        volatile boolean stopping;
        /** The checkpoint or savepoint its job started from, if any. */
        volatile String restoredFrom;
        final List<String> outputs = new java.util.concurrent.CopyOnWriteArrayList<>();
        final List<String> views = new java.util.concurrent.CopyOnWriteArrayList<>();
        /** Offsets its sources had committed at the last status, for events per second. */
        long lastCommitted = -1;
        long lastCommittedAt;
        double eventsPerSecond;

        Pipeline(PipelineSpec spec) {
            this.spec = spec;
            for (SqlScript.Statement statement : SqlScript.split(spec.sql())) {
                Matcher insert = INSERT.matcher(statement.text());
                boolean inserts = insert.matches();
                Matcher m = STREAM_REFERENCE.matcher(statement.text());
                while (m.find()) {
                    boolean target = inserts && m.start() >= insert.start(1) && m.end() <= insert.end(1);
                    (target ? writes : reads).add(m.group(1));
                }
            }
            reads.removeAll(writes);
        }
    }

    public PipelineRunner(Context context, Collection<PipelineSpec> specs) {
        this(context, specs, false);
        // Flink starts in the background: ingest and queries do not wait for it
        starter.start();
    }

    private PipelineRunner(Context context, Collection<PipelineSpec> specs, boolean dryRun) {
        this.context = context;
        this.dryRun = dryRun;
        specs.forEach(s -> pipelines.put(s.name(), new Pipeline(s)));
        this.starter = new Thread(this::startAll, "watershed-pipelines-start");
        starter.setDaemon(true);
    }

    /**
     * Plans every pipeline as the platform would, without running anything: the catalog is a
     * throwaway Iceberg catalog in a temporary directory, holding {@code raw.<stream>} of each stream
     * with declared fields and the tables the pipelines create; streams are the declared ones and
     * those pipelines write; no lake, broker or cluster is touched. Returns every problem as
     * {@code pipelines/<file>:line:col: reason}, and the pipelines that could not be fully checked
     * because they read a table or stream whose columns are known only once the platform has run.
     */
    public static Validation validate(Collection<PipelineSpec> specs, Collection<StreamSpec> streams, List<Path> functionJars) {
        return validate(specs, List.of(), streams, functionJars);
    }

    /**
     * Plans pipelines as {@link #validate(Collection, Collection, List)} does, then the models in batch mode in the
     * same throwaway catalog (where the pipelines' tables now exist), each model's result becoming a table for the
     * models that read it.
     */
    public static Validation validate(Collection<PipelineSpec> specs, Collection<io.watershed.spi.ModelSpec> models,
            Collection<StreamSpec> streams, List<Path> functionJars) {
        Map<String, StreamSpec> known = new java.util.concurrent.ConcurrentHashMap<>();
        streams.forEach(s -> known.put(s.name(), s));
        StreamRegistry registry = new StreamRegistry() {
            @Override
            public Optional<StreamSpec> resolve(String name, boolean createIfMissing) {
                return Optional.ofNullable(createIfMissing ? known.computeIfAbsent(name, n -> StreamSpec.inferred(n, 1)) : known.get(name));
            }

            @Override
            public Collection<StreamSpec> streams() {
                return List.copyOf(known.values());
            }
        };
        Context context = new Context(null, io.watershed.spi.BusConnection.plain("127.0.0.1:9092"), "watershed", Map.of(), null, registry, 1,
                Duration.ofSeconds(5), functionJars, Duration.ofSeconds(10));
        PipelineRunner runner = new PipelineRunner(context, specs, true);
        List<String> problems = new ArrayList<>();
        List<String> unchecked = new ArrayList<>();
        try {
            for (Pipeline pipeline : runner.inDependencyOrder()) {
                if (!pipeline.state.equals("FAILED")) {
                    runner.start(pipeline);
                }
                if (pipeline.state.equals("FAILED")) {
                    Matcher missing = MISSING_TABLE.matcher(pipeline.error);
                    if (missing.find() && !missing.group(1).startsWith("watershed.streams.")) {
                        unchecked.add(pipeline.error + " (not checked further: lake tables other than raw.<stream> are "
                                + "known once the platform has run)");
                    } else {
                        problems.add(pipeline.error);
                    }
                }
            }
            if (!models.isEmpty()) {
                FlinkModelBuilder.plan(models, runner.dryWarehouse(), registry.streams(), functionJars, problems, unchecked);
            }
        } finally {
            runner.liveViews.close();
            runner.deleteDryWarehouse();
        }
        return new Validation(problems, unchecked);
    }

    private Path dryWarehouse;

    private synchronized Path dryWarehouse() {
        if (dryWarehouse == null) {
            try {
                dryWarehouse = Files.createTempDirectory("watershed-validate");
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("Cannot create a temporary directory to plan in", e);
            }
        }
        return dryWarehouse;
    }

    private void deleteDryWarehouse() {
        if (dryWarehouse == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(dryWarehouse)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            LOG.debug("Cannot delete {}: {}", dryWarehouse, e.toString());
        }
    }

    /** What {@link #validate} found: problems, and pipelines that could not be checked offline. */
    public record Validation(List<String> problems, List<String> unchecked) {}

    private static final Pattern MISSING_TABLE = Pattern.compile("(?:Object|Table) '([^']+)' not found");

    /** The project's jars of user-defined functions, {@code functions/*.jar}, in name order. */
    public static List<Path> functionJars(Path projectDirectory) {
        Path functions = projectDirectory.resolve("functions");
        if (!Files.isDirectory(functions)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(functions)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".jar")).sorted().toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("Cannot list the function jars in " + functions, e);
        }
    }

    private void startAll() {
        try {
            runtime = context.engine().await();
        } catch (RuntimeException e) {
            pipelines.values().forEach(p -> fail(p, e.getMessage()));
            return;
        }
        for (Pipeline pipeline : inDependencyOrder()) {
            if (closed) {
                return;
            }
            if (pipeline.state.equals("FAILED")) {
                continue;
            }
            start(pipeline);
            if (pipeline.restoredFrom != null && pipeline.state.equals("RUNNING")) {
                // the file may have changed while the platform was down
                Thread watcher = new Thread(() -> awaitStarted(pipeline), "watershed-pipeline-start-" + pipeline.spec.name());
                watcher.setDaemon(true);
                watcher.start();
            }
        }
    }

    /** Plans and submits the pipeline; a failure is its state, not an exception. */
    private void start(Pipeline pipeline) {
        try {
            submit(pipeline);
            if (!dryRun) {
                LOG.info("Pipeline '{}' submitted as job {}, writing {}", pipeline.spec.name(), pipeline.job.getJobID(),
                        pipeline.outputs);
            }
        } catch (PipelineException e) {
            fail(pipeline, e.getMessage());
        } catch (RuntimeException e) {
            fail(pipeline, pipeline.spec.file().getFileName() + ": " + rootMessage(e));
        }
    }

    /**
     * Pipelines that write a stream no file declares go before the pipelines that read it, so its
     * columns are known when they are planned. Pipelines in a cycle of such streams fail.
     */
    private List<Pipeline> inDependencyOrder() {
        java.util.Set<String> declared = new java.util.HashSet<>();
        context.streams().streams().stream().filter(s -> !s.fields().isEmpty()).forEach(s -> declared.add(s.name()));
        Map<String, List<Pipeline>> writers = new java.util.HashMap<>();
        pipelines.values().forEach(p -> p.writes.forEach(w -> writers.computeIfAbsent(w, k -> new ArrayList<>()).add(p)));
        List<Pipeline> order = new ArrayList<>();
        java.util.Set<Pipeline> placed = new java.util.HashSet<>();
        List<Pipeline> waiting = new ArrayList<>(pipelines.values());
        boolean progress = true;
        while (!waiting.isEmpty() && progress) {
            progress = false;
            for (java.util.Iterator<Pipeline> it = waiting.iterator(); it.hasNext(); ) {
                Pipeline p = it.next();
                boolean ready = p.reads.stream().filter(r -> !declared.contains(r))
                        .allMatch(r -> placed.containsAll(writers.getOrDefault(r, List.of())));
                if (ready) {
                    order.add(p);
                    placed.add(p);
                    it.remove();
                    progress = true;
                }
            }
        }
        for (Pipeline p : waiting) {
            fail(p, "pipelines/" + p.spec.file().getFileName() + ":1:1: pipeline '" + p.spec.name() + "' is in a cycle: "
                    + "it reads streams that are written, directly or through other pipelines, from what it writes "
                    + p.writes + " (pipelines " + waiting.stream().map(w -> w.spec.name()).toList() + "); declare the streams "
                    + "in streams/<name>.yaml with fields, or break the cycle");
            order.add(p);
        }
        return order;
    }

    private void fail(Pipeline pipeline, String message) {
        pipeline.state = "FAILED";
        pipeline.error = message;
        if (!dryRun) {
            LOG.error("Pipeline '{}' failed: {}", pipeline.spec.name(), message);
        }
    }

    private void submit(Pipeline pipeline) {
        String name = pipeline.spec.name();
        TableEnvironment env;
        Optional<Path> checkpoint = Optional.empty();
        if (dryRun) {
            env = TableEnvironment.create(EnvironmentSettings.newInstance().inStreamingMode().withConfiguration(
                    Configuration.fromMap(Map.of("table.local-time-zone", "UTC"))).build());
            pipeline.run = "validate";
        } else {
            Path checkpoints = runtime.checkpoints().resolve(name);
            Configuration conf = new Configuration();
            conf.set(PipelineOptions.NAME, name);
            conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, context.checkpointInterval());
            conf.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
            conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, checkpoints.toUri().toString());
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
            checkpoint = latestCheckpoint(checkpoints);
            checkpoint.ifPresent(path -> {
                LOG.info("Pipeline '{}' resumes from checkpoint {}", name, path);
                conf.set(StateRecoveryOptions.SAVEPOINT_PATH, path.toString());
            });
            pipeline.run = run(checkpoints, checkpoint.isPresent());
            pipeline.restoredFrom = checkpoint.map(c -> c.getParent().getFileName() + "/" + c.getFileName()).orElse(null);
            env = runtime.tableEnvironment(conf);
        }
        registerCatalog(env);
        for (Path jar : context.functionJars()) {
            // the planner loads the functions from it, and the job ships it to the task managers
            env.executeSql("ADD JAR '" + jar.toAbsolutePath().toString().replace("'", "''") + "'");
        }
        registerStreams(env, pipeline);
        List<SqlScript.Statement> statements = SqlScript.split(pipeline.spec.sql()).stream()
                .map(SqlScript.Statement::withRawQuoted).toList();
        registerLookups(env, statements);
        StatementSet inserts = env.createStatementSet();
        Map<String, SqlScript.Statement> targets = new java.util.HashMap<>();
        int count = 0;
        for (SqlScript.Statement statement : statements) {
            try {
                Matcher live = LIVE_VIEW.matcher(statement.text());
                Matcher insert = INSERT.matcher(statement.text());
                if (live.matches()) {
                    String view = prepareLiveView(env, pipeline, statement, live.group(1), placed(statement, live.start(2)));
                    pipeline.outputs.add(LIVE + "." + view);
                    targets.put(LIVE + "." + view, statement);
                    inserts.addInsertSql("INSERT INTO " + liveTable(view) + " " + live.group(2));
                    count++;
                } else if (insert.matches()) {
                    String target = prepareTarget(env, pipeline, statement, insert.group(1), placed(statement, insert.start(2)));
                    pipeline.outputs.add(target);
                    targets.put(target, statement);
                    inserts.addInsertSql(statement.text());
                    count++;
                } else {
                    env.executeSql(statement.text());
                }
            } catch (PipelineException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new PipelineException(located(pipeline, statement, e), e);
            }
        }
        if (count == 0) {
            throw new PipelineException(pipeline.spec.file().getFileName() + ":1:1: pipeline '" + name
                    + "' has no INSERT INTO or CREATE LIVE VIEW statement, so it has no output");
        }
        JobClient job;
        try {
            if (dryRun) {
                inserts.explain();
                pipeline.state = "PLANNED";
                return;
            }
            job = inserts.execute().getJobClient().orElseThrow();
        } catch (RuntimeException e) {
            throw new PipelineException(locatedAtSink(pipeline, targets, e), e);
        }
        Optional<Path> restoredFrom = checkpoint;
        pipeline.job = job;
        pipeline.state = "RUNNING";
        // a job that ends on its own has failed for good (restarts with backoff come first): say why
        job.getJobExecutionResult().whenComplete((result, e) -> {
            if (e != null && pipeline.job == job && !pipeline.stopping && !closed) {
                fail(pipeline, explain(pipeline, restoredFrom, e));
            }
        });
    }

    /** Why a job failed, and for a state that does not fit the changed SQL, what to do. */
    private static String explain(Pipeline pipeline, Optional<Path> state, Throwable e) {
        String reason = rootMessage(e);
        StringBuilder all = new StringBuilder();
        for (Throwable t = e; t != null && all.length() < 20_000; t = t.getCause() == t ? null : t.getCause()) {
            all.append(t).append('\n');
        }
        String text = all.toString();
        if (state.isPresent() && stateDoesNotFit(text)) {
            return stateDoesNotFitMessage(pipeline, state.get().getFileName().toString(), reason);
        }
        return "pipelines/" + pipeline.spec.file().getFileName() + ": the job failed: " + reason;
    }

    private static boolean stateDoesNotFit(String failure) {
        return failure.contains("Cannot map checkpoint/savepoint state") || failure.contains("StateMigrationException")
                || failure.contains("rollback to checkpoint/savepoint") || failure.contains("incompatible");
    }

    private static String stateDoesNotFitMessage(Pipeline pipeline, String state, String reason) {
        return "pipelines/" + pipeline.spec.file().getFileName() + ": its saved state (" + state + ") does not fit its SQL, "
                + "most likely because the SQL changed: " + reason + ". Run `watershed pipelines restart " + pipeline.spec.name() + " --reset` to start it over "
                + "without state: it reads its streams from the beginning again, its live views start empty, and rows it "
                + "already wrote to lake tables and streams stay";
    }

    @Override
    public PipelineStatus stop(String name) {
        Pipeline pipeline = find(name);
        synchronized (pipeline) {
            stopJob(pipeline);
            pipeline.state = "STOPPED";
        }
        return status(pipeline);
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
                Path savepoints = runtime.checkpoints().resolve(pipeline.spec.name()).resolve("savepoints");
                String savepoint = job.stopWithSavepoint(false, savepoints.toUri().toString(),
                        org.apache.flink.core.execution.SavepointFormatType.CANONICAL).get(60, TimeUnit.SECONDS);
                LOG.info("Pipeline '{}' stopped with savepoint {}", pipeline.spec.name(), savepoint);
            } else if (!job.getJobStatus().get(10, TimeUnit.SECONDS).isGloballyTerminalState()) {
                job.cancel().get(30, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            LOG.warn("Cannot stop pipeline '{}' with a savepoint ({}); cancelling it, its newest checkpoint is kept",
                    pipeline.spec.name(), rootMessage(e));
            try {
                job.cancel().get(30, TimeUnit.SECONDS);
            } catch (Exception cancel) {
                LOG.debug("Cancel of pipeline '{}': {}", pipeline.spec.name(), cancel.toString());
            }
        }
    }

    @Override
    public PipelineStatus restart(String name, boolean reset) {
        if (runtime == null) {
            throw new WatershedException(ErrorCode.UNAVAILABLE, "Cannot restart pipeline '" + name + "' yet: Flink is still "
                    + "starting; try again in a few seconds");
        }
        Pipeline old = find(name);
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
                deleteState(name);
            }
            old.views.forEach(liveViews.views()::remove);
            derived.values().removeIf(d -> d.writer().equals(name));
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
     * stopped and its pipeline failed, with the way out (restart with --reset).
     */
    private PipelineStatus awaitStarted(Pipeline pipeline) {
        JobClient job = pipeline.job;
        if (job == null || pipeline.restoredFrom == null) {
            return status(pipeline);
        }
        JobID id = job.getJobID();
        long deadline = System.nanoTime() + context.checkpointInterval().multipliedBy(3).plusSeconds(60).toNanos();
        while (System.nanoTime() < deadline && pipeline.job == job && pipeline.state.equals("RUNNING") && !closed) {
            Optional<String> failure = runtime.lastFailureDetail(id);
            if (failure.isPresent()) {
                String detail = failure.get();
                pipeline.stopping = true;
                try {
                    job.cancel().get(30, TimeUnit.SECONDS);
                } catch (Exception e) {
                    LOG.debug("Cancel of pipeline '{}': {}", pipeline.spec.name(), e.toString());
                }
                String reason = detail.lines().filter(PipelineRunner::stateDoesNotFit).findFirst()
                        .orElse(runtime.lastFailure(id).orElse(detail.lines().findFirst().orElse(""))).strip();
                fail(pipeline, stateDoesNotFitMessage(pipeline, pipeline.restoredFrom, "the job failed as it started from that "
                        + "state: " + reason));
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
        return status(pipeline);
    }

    private void deleteState(String name) {
        Path state = runtime.checkpoints().resolve(name);
        if (!Files.exists(state)) {
            return;
        }
        try (Stream<Path> files = Files.walk(state)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(file);
            }
            LOG.info("Pipeline '{}': state deleted for a reset", name);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("Cannot delete the state of pipeline '" + name + "' in " + state, e);
        }
    }

    private Pipeline find(String name) {
        Pipeline pipeline = name == null ? null : pipelines.get(name);
        if (pipeline == null) {
            throw new WatershedException(ErrorCode.UNKNOWN_PIPELINE, "Cannot find pipeline '" + name + "': the project has "
                    + (pipelines.isEmpty() ? "none" : String.join(", ", pipelines.keySet())) + " (files pipelines/<name>.sql)");
        }
        return pipeline;
    }

    private void registerCatalog(TableEnvironment env) {
        if (dryRun) {
            dryCatalog(env, context.catalogName(), dryWarehouse(), context.streams().streams());
            return;
        }
        env.executeSql(StreamTables.icebergCatalogDdl(context.catalogName(), context.catalogProperties()));
        env.useCatalog(context.catalogName());
    }

    /**
     * A throwaway Iceberg catalog in {@code warehouse}, current in {@code env}: the same connector and options as the
     * lake, and no lake touched; with {@code raw.<stream>} of each stream with declared fields, as the lake writer makes it.
     */
    static void dryCatalog(TableEnvironment env, String catalogName, Path warehouse, Collection<StreamSpec> streams) {
        env.executeSql("CREATE CATALOG " + StreamTables.quote(catalogName) + " WITH ('type' = 'iceberg', "
                + "'catalog-type' = 'hadoop', 'warehouse' = '" + warehouse.toUri() + "')");
        env.useCatalog(catalogName);
        env.executeSql("CREATE DATABASE IF NOT EXISTS `raw`");
        for (StreamSpec stream : streams) {
            if (!stream.fields().isEmpty()) {
                StringBuilder raw = new StringBuilder("CREATE TABLE IF NOT EXISTS `raw`.").append(StreamTables.quote(stream.name()))
                        .append(" (\n");
                StreamTables.columns(stream, Optional.empty()).forEach((c, t) -> raw.append("  ").append(StreamTables.quote(c))
                        .append(' ').append(t).append(",\n"));
                env.executeSql(raw.append("  `_partition` INT,\n  `_offset` BIGINT,\n  `_ingested_at` TIMESTAMP_LTZ(6)\n)")
                        .toString());
            }
        }
    }

    /** A join with a table FOR SYSTEM_TIME AS OF (a hint may sit between them). */
    private static final Pattern LOOKUP = Pattern.compile("(?is)\\bJOIN\\s+((?:`[^`]+`|[A-Za-z_]\\w*)\\s*\\.\\s*"
            + "(?:`[^`]+`|[A-Za-z_]\\w*))\\s*(?:/\\*\\+.*?\\*/\\s*)?FOR\\s+SYSTEM_TIME\\s+AS\\s+OF\\b");

    /**
     * Lake tables the pipeline joins {@code FOR SYSTEM_TIME AS OF} are looked up: each is shadowed, for
     * this pipeline, by a temporary table of the same name and columns on the lake lookup connector
     * ({@link LakeLookupTableFactory}), since Iceberg's own source cannot be looked up. A view of the
     * same syntax (an event-time temporal join) is left alone.
     */
    private void registerLookups(TableEnvironment env, List<SqlScript.Statement> statements) {
        if (dryRun) {
            return; // the throwaway catalog has no lake tables; such reads are reported as unchecked
        }
        java.util.Set<String> registered = new java.util.HashSet<>();
        org.apache.flink.table.catalog.Catalog catalog = env.getCatalog(context.catalogName()).orElseThrow();
        for (SqlScript.Statement statement : statements) {
            Matcher lookup = LOOKUP.matcher(statement.text());
            while (lookup.find()) {
                String[] parts = lookup.group(1).split("\\s*\\.\\s*");
                String namespace = parts[0].replace("`", "");
                String table = parts[1].replace("`", "");
                if (namespace.equals("streams") || namespace.equals(LIVE) || !registered.add(namespace + "." + table)) {
                    continue;
                }
                org.apache.flink.table.catalog.CatalogBaseTable lakeTable;
                try {
                    lakeTable = catalog.getTable(new org.apache.flink.table.catalog.ObjectPath(namespace, table));
                } catch (org.apache.flink.table.catalog.exceptions.TableNotExistException e) {
                    continue; // the planner says it is not there, at the statement
                }
                org.apache.flink.table.api.TableDescriptor.Builder descriptor = org.apache.flink.table.api.TableDescriptor
                        .forConnector(LakeLookupTableFactory.IDENTIFIER)
                        .schema(org.apache.flink.table.api.Schema.newBuilder().fromSchema(lakeTable.getUnresolvedSchema()).build())
                        .option(LakeLookupTableFactory.TABLE, namespace + "." + table)
                        .option(LakeLookupTableFactory.CATALOG_NAME, context.catalogName());
                context.catalogProperties().forEach((k, v) -> descriptor.option(LakeLookupTableFactory.CATALOG_PREFIX + k, v));
                env.createTemporaryTable(StreamTables.quote(context.catalogName()) + "." + StreamTables.quote(namespace) + "."
                        + StreamTables.quote(table), descriptor.build());
                LOG.debug("Lake table {}.{} is looked up through the lake lookup connector", namespace, table);
            }
        }
    }

    /**
     * Registers every stream as {@code streams.<name>}: declared fields first, then the columns a
     * pipeline that writes the stream gave it, then the columns its raw table has inferred. A stream
     * this pipeline writes and no file declares gets its sink from the INSERT instead.
     */
    private void registerStreams(TableEnvironment env, Pipeline pipeline) {
        Map<String, LakeTableView> raw = new LinkedHashMap<>();
        for (LakeTableView table : dryRun ? List.<LakeTableView>of() : context.lake().tables()) {
            if (table.namespace().equals("raw")) {
                raw.put(table.name(), table);
            }
        }
        Map<String, StreamSpec> streams = new java.util.TreeMap<>();
        context.streams().streams().forEach(s -> streams.put(s.name(), s));
        derived.forEach((name, d) -> streams.putIfAbsent(name, StreamSpec.inferred(name, context.defaultPartitions())));
        for (StreamSpec stream : streams.values()) {
            DerivedStream written = derived.get(stream.name());
            Map<String, String> columns;
            if (pipeline.writes.contains(stream.name())) {
                if (!stream.fields().isEmpty()) {
                    // a declared stream keeps its fields: the pipeline's INSERT must give them
                    Map<String, String> declared = StreamTables.columns(stream, Optional.empty());
                    env.executeSql(StreamTables.sinkDdl(streamTable(stream.name()), stream.topic(), declared,
                            context.bus(), sinkId(pipeline, stream.name()), pipeline.run));
                }
                continue;
            }
            if (!stream.fields().isEmpty()) {
                columns = StreamTables.columns(stream, Optional.empty());
            } else if (written != null) {
                columns = written.columns();
                stream = new StreamSpec(stream.name(), stream.partitions(), stream.key(), written.eventTime(), stream.lateness(),
                        stream.retention(), stream.fields());
            } else {
                columns = StreamTables.columns(stream, Optional.ofNullable(raw.get(stream.name())));
            }
            if (columns.isEmpty()) {
                LOG.debug("Stream '{}' has neither declared fields nor data yet; pipelines cannot read it", stream.name());
                continue;
            }
            env.executeSql(StreamTables.ddl(streamTable(stream.name()), stream, columns, context.bus(),
                    pipeline.spec.name(), unreadableKey(pipeline.spec.name())));
        }
        for (String read : pipeline.reads) {
            for (Pipeline writer : pipelines.values()) {
                if (writer.writes.contains(read) && !streams.containsKey(read) && writer.state.equals("FAILED")) {
                    throw new PipelineException("pipelines/" + pipeline.spec.file().getFileName() + ":1:1: pipeline '"
                            + pipeline.spec.name() + "' reads streams." + read + ", which pipeline '" + writer.spec.name()
                            + "' writes, and that pipeline failed: " + writer.error);
                }
            }
        }
    }

    private static String sinkId(Pipeline pipeline, String stream) {
        return pipeline.spec.name() + "-" + stream;
    }

    /** The statement's query from {@code start} on, in its place (what comes before blanked), so the planner's positions hold. */
    private static String placed(SqlScript.Statement statement, int start) {
        return statement.text().substring(0, start).replaceAll("[^\n]", " ") + statement.text().substring(start);
    }

    private String liveTable(String view) {
        return StreamTables.quote(context.catalogName()) + ".`" + LIVE + "`." + StreamTables.quote(view);
    }

    /** Defines the live view and its sink table; returns the view's name. */
    private String prepareLiveView(TableEnvironment env, Pipeline pipeline, SqlScript.Statement statement, String target,
            String query) {
        List<String> parts = nameParts(target);
        if (parts.size() == 2 && parts.get(0).equals(LIVE)) {
            parts.remove(0);
        }
        String view = parts.get(parts.size() - 1);
        if (parts.size() != 1 || !StreamSpec.NAME.matcher(view).matches()) {
            throw new PipelineException(where(pipeline, statement, 1, 1) + "CREATE LIVE VIEW " + target + ": name the view "
                    + "with one name (it is queried as live.<name>); names use " + StreamSpec.NAME_RULE);
        }
        ResolvedSchema schema = env.sqlQuery(query).getResolvedSchema();
        for (org.apache.flink.table.catalog.Column column : schema.getColumns()) {
            Optional<String> unsupported = LiveView.unsupported(column.getDataType().getLogicalType());
            if (unsupported.isPresent()) {
                throw new PipelineException(where(pipeline, statement, 1, 1) + "CREATE LIVE VIEW " + view + ": column '"
                        + column.getName() + "': " + unsupported.get());
            }
        }
        List<String> columns = columnDefinitions(schema);
        RowType type = RowType.of(schema.getColumns().stream().map(c -> plain(c.getDataType().getLogicalType()))
                .toArray(LogicalType[]::new), schema.getColumnNames().toArray(String[]::new));
        if (!liveViews.define(new LiveView(view, type, LIVE_VIEW_MAX_ROWS))) {
            if (pipeline.views.contains(view)) {
                throw new PipelineException(where(pipeline, statement, 1, 1) + "CREATE LIVE VIEW " + view + ": defined twice in "
                        + "this file");
            }
            throw new PipelineException(where(pipeline, statement, 1, 1) + "CREATE LIVE VIEW " + view + ": a live view of "
                    + "that name is defined already by another statement or pipeline; live view names are unique");
        }
        pipeline.views.add(view);
        env.executeSql("CREATE TEMPORARY TABLE " + liveTable(view) + " (\n  " + String.join(",\n  ", columns) + "\n) WITH (\n"
                + "  'connector' = '" + LiveViewTableFactory.IDENTIFIER + "',\n  'runner' = '" + liveViews.id() + "',\n"
                + "  'view' = '" + view + "'\n)");
        return view;
    }

    @Override
    public List<LiveTable> liveTables() {
        List<LiveTable> tables = new ArrayList<>();
        for (LiveView view : liveViews.views().values()) {
            tables.add(new LiveTable(LIVE, view.name(), view.version(), view.columns(), view::rows));
        }
        return tables;
    }

    private static List<String> nameParts(String target) {
        List<String> parts = new ArrayList<>();
        for (String part : target.split("\\s*\\.\\s*")) {
            parts.add(part.startsWith("`") ? part.substring(1, part.length() - 1) : part);
        }
        return parts;
    }

    private String streamTable(String stream) {
        return StreamTables.quote(context.catalogName()) + ".`streams`." + StreamTables.quote(stream);
    }

    /** Makes sure the INSERT's target exists (a lake table, or a stream's topic and sink); returns its name. */
    private String prepareTarget(TableEnvironment env, Pipeline pipeline, SqlScript.Statement statement, String target, String query) {
        List<String> parts = nameParts(target);
        if (parts.size() == 3 && parts.get(0).equals(context.catalogName())) {
            parts.remove(0);
        }
        if (parts.size() != 2) {
            throw new PipelineException(where(pipeline, statement, 1, 1) + "INSERT INTO " + target + ": name the target as "
                    + "<namespace>.<table> for a lake table or streams.<name> for a stream");
        }
        String namespace = parts.get(0);
        String table = parts.get(1);
        if (namespace.equals("raw")) {
            throw new PipelineException(where(pipeline, statement, 1, 1) + "INSERT INTO raw." + table + ": raw tables are "
                    + "written by the lake writer only; write to streams." + table + " (it lands in raw." + table
                    + ") or to a table in another namespace");
        }
        if (namespace.equals(LIVE)) {
            throw new PipelineException(where(pipeline, statement, 1, 1) + "INSERT INTO live." + table + ": the live namespace "
                    + "holds live views; define one with CREATE LIVE VIEW " + table + " AS SELECT ...");
        }
        if (!StreamSpec.NAME.matcher(namespace).matches() || !StreamSpec.NAME.matcher(table).matches()) {
            throw new PipelineException(where(pipeline, statement, 1, 1) + "INSERT INTO " + target + ": namespace and table "
                    + "names use " + StreamSpec.NAME_RULE);
        }
        if (namespace.equals("streams")) {
            Optional<StreamSpec> declared = context.streams().resolve(table, false).filter(s -> !s.fields().isEmpty());
            if (declared.isEmpty()) {
                ResolvedSchema schema = env.sqlQuery(query).getResolvedSchema();
                // the topic, and the lake writer that lands it in raw.<table>
                context.streams().resolve(table, true);
                Map<String, String> columns = columnTypes(schema);
                env.executeSql(StreamTables.sinkDdl(streamTable(table), table, columns, context.bus(),
                        sinkId(pipeline, table), pipeline.run));
                Optional<String> eventTime = schema.getColumns().stream()
                        .filter(c -> org.apache.flink.table.types.logical.utils.LogicalTypeChecks.isRowtimeAttribute(
                                c.getDataType().getLogicalType()))
                        .map(org.apache.flink.table.catalog.Column::getName).findFirst();
                DerivedStream previous = derived.putIfAbsent(table, new DerivedStream(pipeline.spec.name(), columns, eventTime));
                if (previous != null && !previous.columns().equals(columns)) {
                    throw new PipelineException(where(pipeline, statement, 1, 1) + "INSERT INTO streams." + table + ": pipeline '"
                            + previous.writer() + "' writes this stream with columns " + previous.columns() + ", this one with "
                            + columns + "; give them the same columns, or declare the stream in streams/" + table + ".yaml");
                }
            }
            return "streams." + table;
        }
        if (!tableExists(env, namespace, table)) {
            ResolvedSchema schema = env.sqlQuery(query).getResolvedSchema();
            env.executeSql("CREATE DATABASE IF NOT EXISTS " + StreamTables.quote(namespace));
            env.executeSql("CREATE TABLE IF NOT EXISTS " + StreamTables.quote(namespace) + "." + StreamTables.quote(table)
                    + " (\n  " + String.join(",\n  ", columnDefinitions(schema)) + "\n) WITH ('format-version' = '2', "
                    + "'write.parquet.compression-codec' = 'zstd')");
            if (!dryRun) {
                LOG.info("Created lake table {}.{} for pipeline '{}'", namespace, table, pipeline.spec.name());
            }
        }
        return namespace + "." + table;
    }

    private boolean tableExists(TableEnvironment env, String namespace, String table) {
        return env.getCatalog(context.catalogName()).map(c -> c.tableExists(
                new org.apache.flink.table.catalog.ObjectPath(namespace, table))).orElse(false);
    }

    /** Column names and Flink types of a query's result, time attributes made plain timestamps. */
    private static Map<String, String> columnTypes(ResolvedSchema schema) {
        Map<String, String> columns = new LinkedHashMap<>();
        for (org.apache.flink.table.catalog.Column column : schema.getColumns()) {
            columns.put(column.getName(), plain(column.getDataType().getLogicalType()).asSerializableString());
        }
        return columns;
    }

    static List<String> columnDefinitions(ResolvedSchema schema) {
        List<String> columns = new ArrayList<>();
        for (org.apache.flink.table.catalog.Column column : schema.getColumns()) {
            columns.add(StreamTables.quote(column.getName()) + " " + plain(column.getDataType().getLogicalType()).asSerializableString());
        }
        return columns;
    }

    /** The type without its time attribute (a window's rowtime is a plain timestamp in a table). */
    private static LogicalType plain(LogicalType type) {
        if (type instanceof TimestampType t) {
            return new TimestampType(t.isNullable(), t.getPrecision());
        }
        if (type instanceof LocalZonedTimestampType t) {
            return new LocalZonedTimestampType(t.isNullable(), t.getPrecision());
        }
        return type;
    }

    private static final Pattern SINK_TABLE = Pattern.compile("'[^'.]+\\.([^'.]+)\\.([^'.]+)'");

    /**
     * An error of the whole job (an output that cannot take what its query gives) at the statement that
     * writes that output, with what to do about it.
     */
    private static String locatedAtSink(Pipeline pipeline, Map<String, SqlScript.Statement> targets, RuntimeException e) {
        String message = rootMessage(e);
        Matcher sink = SINK_TABLE.matcher(message);
        SqlScript.Statement statement = sink.find() ? targets.get(sink.group(1) + "." + sink.group(2)) : null;
        if (message.contains("doesn't support consuming update changes")) {
            message += ". A stream is a log of events and takes appends only: aggregate over windows (TUMBLE, HOP, "
                    + "SESSION), or keep the updating result in a live view (CREATE LIVE VIEW) or a lake table";
        }
        if (statement == null) {
            return "pipelines/" + pipeline.spec.file().getFileName() + ": " + message;
        }
        return where(pipeline, statement, 1, 1) + message;
    }

    /** The error with its position in the file: Flink's "line L, column C" is relative to the statement. */
    private static String located(Pipeline pipeline, SqlScript.Statement statement, RuntimeException e) {
        String message = rootMessage(e);
        int line = 1;
        int column = 1;
        // the planner puts the position in an outer exception ("From line 2, column 52 to ...") and the reason in the root
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            Matcher m = POSITION.matcher(String.valueOf(t.getMessage()));
            if (m.find()) {
                line = Integer.parseInt(m.group(1));
                column = Integer.parseInt(m.group(2));
                break;
            }
        }
        return where(pipeline, statement, line, column) + parserMessage(message);
    }

    private static final Pattern ENCOUNTERED = Pattern.compile("Encountered \"([A-Za-z_][A-Za-z0-9_]*)\\b");

    /**
     * The parser's message without its list of every token it would have taken (over a hundred lines),
     * and for a word it stopped at, the usual cause: a name that Flink SQL reserves ({@code value},
     * {@code user}, {@code dateTime}...).
     */
    static String parserMessage(String message) {
        int expecting = message.indexOf("Was expecting");
        if (expecting < 0) {
            return message;
        }
        String shortened = message.substring(0, expecting).strip();
        Matcher word = ENCOUNTERED.matcher(shortened);
        if (word.find()) {
            shortened += " If `" + word.group(1) + "` is a name, quote it with backticks: Flink SQL reserves it as a keyword.";
        }
        return shortened;
    }

    private static String where(Pipeline pipeline, SqlScript.Statement statement, int line, int column) {
        int fileLine = statement.line() + line - 1;
        column = statement.fileColumn(line, column);
        int fileColumn = line == 1 ? statement.column() + column - 1 : column;
        return "pipelines/" + pipeline.spec.file().getFileName() + ":" + fileLine + ":" + fileColumn + ": ";
    }

    static String rootMessage(Throwable e) {
        Throwable cause = e;
        String message = e.getMessage();
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
            if (cause.getMessage() != null) {
                message = cause.getMessage();
            }
        }
        return message == null ? e.toString() : message.strip();
    }

    /** The run the state in {@code checkpoints} belongs to; a new one when the pipeline starts without state. */
    private static String run(Path checkpoints, boolean resuming) {
        Path file = checkpoints.resolve("run");
        try {
            if (resuming && Files.isRegularFile(file)) {
                return Files.readString(file).strip();
            }
            String run = java.util.UUID.randomUUID().toString();
            Files.createDirectories(checkpoints);
            Files.writeString(file, run);
            return run;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("Cannot keep the run id of " + checkpoints, e);
        }
    }

    /** The newest complete checkpoint ({@code chk-N} with its {@code _metadata}) of any earlier job of this pipeline. */
    static Optional<Path> latestCheckpoint(Path checkpoints) {
        if (!Files.isDirectory(checkpoints)) {
            return Optional.empty();
        }
        try (Stream<Path> files = Files.find(checkpoints, 3, (p, a) -> p.getFileName().toString().equals("_metadata")
                && (p.getParent().getFileName().toString().startsWith("chk-")
                        || p.getParent().getFileName().toString().startsWith("savepoint-")))) {
            return files.max(Comparator.comparing(PipelineRunner::modified)).map(Path::getParent);
        } catch (IOException e) {
            LOG.warn("Cannot look for checkpoints in {}: {}", checkpoints, e.toString());
            return Optional.empty();
        }
    }

    private static long modified(Path path) {
        try {
            return Files.getLastModifiedTime(path).toMillis();
        } catch (IOException e) {
            return 0;
        }
    }

    @Override
    public List<PipelineStatus> pipelines() {
        List<PipelineStatus> statuses = new ArrayList<>();
        for (Pipeline p : pipelines.values()) {
            statuses.add(status(p));
        }
        return statuses;
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

    private PipelineStatus status(Pipeline p) {
        String state = p.state;
        JobClient job = p.job;
        String error = p.error;
        long restarts = 0;
        Optional<Double> backpressure = Optional.empty();
        if (job != null && state.equals("RUNNING")) {
            state = jobState(p);
            FlinkRuntime flink = runtime;
            if (flink != null) {
                restarts = flink.restarts(job.getJobID());
                backpressure = state.equals("RUNNING") ? flink.backpressure(job.getJobID()) : Optional.empty();
                if (!state.equals("RUNNING") || restarts > 0) {
                    error = flink.lastFailure(job.getJobID()).map(f -> "the job failed and restarts with backoff: " + f).orElse(null);
                }
            }
        }
        long lag = 0;
        if (job != null) {
            OffsetsAndLag offsets = offsets(p);
            lag = offsets.lag();
            long now = System.nanoTime();
            synchronized (p) {
                if (p.lastCommitted >= 0 && offsets.committed() >= p.lastCommitted && now - p.lastCommittedAt > 1_000_000_000L) {
                    p.eventsPerSecond = (offsets.committed() - p.lastCommitted) / ((now - p.lastCommittedAt) / 1e9);
                }
                if (p.lastCommitted < 0 || now - p.lastCommittedAt > 1_000_000_000L) {
                    p.lastCommitted = offsets.committed();
                    p.lastCommittedAt = now;
                }
            }
        }
        return new PipelineStatus(p.spec.name(), state, Optional.ofNullable(error),
                Optional.ofNullable(job).map(j -> j.getJobID().toString()), List.copyOf(p.outputs), restarts, lag, backpressure,
                Math.round(p.eventsPerSecond * 10) / 10.0, UnreadableRecords.count(unreadableKey(p.spec.name())));
    }

    /** Counts are kept per runner: a platform started again in the same JVM starts from zero. */
    private String unreadableKey(String pipeline) {
        return liveViews.id() + "/" + pipeline;
    }

    private record OffsetsAndLag(long committed, long lag) {}

    /** The offsets the pipeline's sources committed at their last checkpoint, and how far their topics' ends are beyond. */
    private OffsetsAndLag offsets(Pipeline p) {
        try {
            Admin admin = admin();
            Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.consumer.OffsetAndMetadata> committed =
                    admin.listConsumerGroupOffsets("watershed-pipeline-" + p.spec.name()).partitionsToOffsetAndMetadata()
                            .get(5, TimeUnit.SECONDS);
            Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> latest = new java.util.HashMap<>();
            committed.keySet().forEach(tp -> latest.put(tp, org.apache.kafka.clients.admin.OffsetSpec.latest()));
            var ends = admin.listOffsets(latest, new org.apache.kafka.clients.admin.ListOffsetsOptions(
                    org.apache.kafka.common.IsolationLevel.READ_COMMITTED)).all().get(5, TimeUnit.SECONDS);
            long sum = 0;
            long lag = 0;
            for (var e : committed.entrySet()) {
                if (e.getValue() == null) {
                    continue;
                }
                sum += e.getValue().offset();
                var end = ends.get(e.getKey());
                lag += end == null ? 0 : Math.max(0, end.offset() - e.getValue().offset());
            }
            return new OffsetsAndLag(sum, lag);
        } catch (Exception e) {
            LOG.debug("Cannot read the offsets of pipeline '{}': {}", p.spec.name(), e.toString());
            return new OffsetsAndLag(p.lastCommitted, 0);
        }
    }

    private volatile Admin admin;

    private synchronized Admin admin() {
        if (admin == null) {
            java.util.Properties props = context.bus().properties();
            admin = Admin.create(props);
        }
        return admin;
    }

    @Override
    public void close() {
        closed = true;
        try {
            starter.join(TimeUnit.SECONDS.toMillis(60));
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
                    LOG.warn("Cannot cancel pipeline '{}': {}", p.spec.name(), e.toString());
                }
            }
        }
        liveViews.close();
        if (admin != null) {
            admin.close(Duration.ofSeconds(5));
        }
    }

    /** A pipeline that cannot start, with a message that names the file, line and column. */
    static final class PipelineException extends RuntimeException {
        PipelineException(String message) {
            super(message);
        }

        PipelineException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
