package io.watershed.server;

import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.watershed.bus.EmbeddedKafkaBroker;
import io.watershed.bus.KafkaEventBus;
import io.watershed.access.AccessStore;
import io.watershed.bus.BrokerAccess;
import io.watershed.ingest.IngestService;
import io.watershed.ingest.SourcePublisher;
import io.watershed.ingest.Sources;
import io.watershed.lake.IcebergLake;
import io.watershed.lake.LakeUpkeep;
import io.watershed.lake.TableInspector;
import io.watershed.lake.TopicRetention;
import io.watershed.lake.RawLakeWriter;
import io.watershed.query.DuckDbQueryEngine;
import io.watershed.spi.BusConnection;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.Project;
import io.watershed.spi.WatershedException;
import io.watershed.spi.StreamProcessor;
import io.watershed.schedule.ModelScheduler;
import io.watershed.stream.FlinkEngine;
import io.watershed.stream.FlinkModelBuilder;
import io.watershed.stream.FunctionJars;
import io.watershed.stream.PipelineContext;
import io.watershed.stream.PipelineRunner;
import io.watershed.spi.Settings;
import io.watershed.spi.StateDatabase;
import io.watershed.spi.StreamSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root: starts the bus (embedded Kafka unless a cluster is configured), the lake,
 * the lake writers, the query engine and the HTTP API for one project and data directory, and stops
 * them in reverse order, committing what is buffered. Each HTTP handler ({@link Routes}) is given the
 * parts it needs when it is built here; what stays public (address, tokens, project, data directory,
 * forward port) is what the cli, the benchmarks and the integration tests start from.
 */
public final class Platform implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Platform.class);

    private final Project project;
    private final Path dataDirectory;
    private final Deque<AutoCloseable> started = new ArrayDeque<>();
    private final PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    /** How every Kafka client of the platform reaches the bus. */
    private final BusConnection connection;
    private final boolean embeddedBus;
    private final IcebergLake lake;
    private final RawLakeWriter lakeWriter;
    private final io.watershed.spi.Leases leases;
    private final LakeUpkeep upkeep;
    private final TableInspector inspector;
    private final StreamRates rates;
    private final LakeBacklog backlog;
    private final StreamCatalog streams;
    private final IngestService ingest;
    /** The search indexes of the streams that ask for one, each fed from the bus on every instance. */
    private final io.watershed.search.SearchService search;
    private final Sources sources;
    private final DuckDbQueryEngine query;
    private final HttpApi http;
    /** The Postgres wire listener, unless pg.port is -1 or was taken. */
    private final java.util.Optional<io.watershed.pgwire.PgServer> pg;
    private final AccessStore access;
    private final String adminToken;
    private final AuditLog audit;
    /** The embedded broker, when the platform runs one. */
    private EmbeddedKafkaBroker broker;
    private final StreamProcessor pipelines;
    /** Runs the project's batch models; empty when it has none. */
    private final java.util.Optional<ModelScheduler> scheduler;
    private static final StreamProcessor NO_PIPELINES = new StreamProcessor() {
        @Override
        public List<PipelineStatus> pipelines() {
            return List.of();
        }

        @Override
        public PipelineStatus stop(String name) {
            throw none(name);
        }

        @Override
        public PipelineStatus restart(String name, boolean reset) {
            throw none(name);
        }

        private WatershedException none(String name) {
            return new WatershedException(ErrorCode.UNKNOWN_PIPELINE, "Cannot find pipeline '" + name + "': the project has no "
                    + "pipelines (files pipelines/<name>.sql)");
        }

        @Override
        public void close() {}
    };
    private final long startedAtNanos;
    private java.util.function.Supplier<java.util.Map<String, StreamProcessor.PipelineStatus>> pipelineStatuses;
    private volatile boolean closed;

    private Platform(Project project, Path dataDirectory, long startedAtNanos) {
        this.project = project;
        this.dataDirectory = dataDirectory.toAbsolutePath().normalize();
        this.startedAtNanos = startedAtNanos;
        Settings settings = project.settings();
        // the platform's own state: SQLite files in the data directory, or PostgreSQL with metadata.url
        StateDatabase stateDatabase = StateDatabase.of(settings.metadata(), this.dataDirectory);
        try {
            Files.createDirectories(this.dataDirectory);
            checkFreeSpace(settings);
            // which instance of the project does each single-owner work; closes last, giving up what is still held
            leases = stateDatabase.leases();
            started.push(leases);
            leaseMetrics(leases);
            new JvmMemoryMetrics().bindTo(meters);
            new JvmThreadMetrics().bindTo(meters);
            new ProcessorMetrics().bindTo(meters);
            // the lake and DuckDB start while Kafka does: they do not need each other, and it saves seconds of start-up
            CompletableFuture<LakeParts> lakeParts = CompletableFuture.supplyAsync(() -> startLake(settings),
                    task -> new Thread(task, "watershed-start-lake").start());
            try {
                // before the embedded broker: it checks PLAIN logins against the tokens from its first connection on
                access = new AccessStore(stateDatabase, java.time.Clock.systemUTC(), settings.auth().tokenRateLimit());
                started.push(access);
                if (settings.bus().bootstrapServers().isPresent()) {
                    connection = BusConnection.external(settings.bus());
                    embeddedBus = false;
                } else {
                    if (settings.bus().plaintext() && !isLoopback(settings.bus().host())) {
                        LOG.warn("The embedded broker takes unauthenticated clients on {} (bus.plaintext: true): anyone who can "
                                + "reach it reads and writes every stream", settings.bus().host());
                    }
                    broker = new EmbeddedKafkaBroker(this.dataDirectory.resolve("kafka"), settings.bus().host(),
                            settings.bus().port(), settings.bus().plaintext(), plainLogins(settings.bus(), access));
                    started.push(broker);
                    connection = BusConnection.plain(broker.bootstrapServers());
                    embeddedBus = true;
                }
            } catch (RuntimeException | Error e) {
                lakeParts.thenAccept(LakeParts::close);
                throw e;
            }
            KafkaEventBus bus;
            try {
                bus = new KafkaEventBus(connection, settings.ingest().produceTimeout(), sharedInstanceName(stateDatabase));
            } catch (RuntimeException | Error e) {
                lakeParts.thenAccept(LakeParts::close);
                throw e;
            }
            started.push(bus);
            LakeParts parts;
            try {
                parts = lakeParts.join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : e;
            }
            lake = parts.lake();
            started.push(lake);
            query = parts.query();
            started.push(query);
            lakeWriter = new RawLakeWriter(lake, bus, settings.lake().commitInterval(), settings.lake().targetFileSize(), meters,
                    leases);
            started.push(lakeWriter);
            if (settings.query().freshTail()) {
                query.setTail(lakeWriter.tail());
            }
            streams = new StreamCatalog(bus, lakeWriter, settings.ingest().defaultPartitions());
            List<StreamSpec> opened = new java.util.ArrayList<>(project.streams().values());
            opened.add(AuditLog.stream());
            streams.openAll(opened);
            audit = new AuditLog(bus, java.time.Clock.systemUTC(), meters, Duration.ofMinutes(1));
            started.push(audit); // closes before the bus: its last summaries are published
            reopenStreamsCreatedOnFirstUse(bus);
            search = new io.watershed.search.SearchService(this.dataDirectory.resolve("search"), bus, Duration.ofSeconds(5), meters,
                    java.time.Clock.systemUTC());
            started.push(search); // stops before the bus: each indexer commits what it read
            project.streams().values().forEach(search::start);
            if (stateDatabase.dialect() == StateDatabase.Dialect.POSTGRESQL) {
                // other instances of the project commit to the shared catalog: queries here see their snapshots
                lake.refreshTablesWrittenElsewhere(Duration.ofSeconds(1));
            }
            TopicRetention retention = new TopicRetention(bus, lake, streams::streams,
                    () -> project.pipelines().keySet().stream().map(PipelineRunner::consumerGroup).toList(), meters,
                    java.time.Clock.systemUTC());
            started.push(retention);
            upkeep = new LakeUpkeep(lake, settings.lake(), id -> upkeepPolicy(id, settings), retention, meters,
                    java.time.Clock.systemUTC());
            started.push(upkeep); // stops before the lake: a compaction in flight finishes or is abandoned first
            leases.claim(LakeUpkeep.LEASE, new io.watershed.spi.Leases.Work() {
                @Override
                public void acquired(long epoch) {
                    // the periodic passes ask the lease each time
                }

                @Override
                public void lost() {
                    // a pass under way finishes; its commits are Iceberg's optimistic ones, safe beside any writer
                }
            });
            upkeep.start(() -> leases.holds(LakeUpkeep.LEASE));
            inspector = new TableInspector(lake);
            rates = new StreamRates(bus, () -> List.copyOf(streams.streams()));
            started.push(rates);
            backlog = new LakeBacklog(rates, lakeWriter);
            if (kafkaAuthenticated()) {
                // the embedded broker's own listener, or the external cluster as the platform's user (bus.manage_acls)
                BrokerAccess brokerAccess = broker != null ? new BrokerAccess(connection.bootstrapServers())
                        : new BrokerAccess(connection, true, () -> streams.streams().stream().map(StreamSpec::topic).toList());
                started.push(brokerAccess);
                KafkaGrants kafkaGrants = new KafkaGrants(brokerAccess, access, java.time.Clock.systemUTC(), Duration.ofMinutes(1));
                started.push(kafkaGrants);
                access.addListener(kafkaGrants);
                adminToken = access.adminToken(adminTokenFile(), sharedInstanceName(stateDatabase));
                kafkaGrants.sync();
            } else {
                adminToken = access.adminToken(adminTokenFile(), sharedInstanceName(stateDatabase));
            }
            FlinkEngine flink = null;
            int buildParallelism = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
            if (!project.pipelines().isEmpty() || !project.models().isEmpty()) {
                int slots = Math.max(4, project.pipelines().size() * 2)
                        + (project.models().isEmpty() ? 0 : settings.models().maxConcurrentBuilds() * buildParallelism);
                flink = new FlinkEngine(this.dataDirectory.resolve("flink"), slots);
                started.push(flink);
            }
            List<java.nio.file.Path> functionJars = FunctionJars.of(project.directory()); // pipelines' and models' jobs
            if (project.pipelines().isEmpty()) {
                pipelines = NO_PIPELINES;
            } else {
                lake.refreshTablesWrittenElsewhere(Duration.ofSeconds(1));
                PipelineRunner runner = new PipelineRunner(new PipelineContext(flink,
                        bus, connection, IcebergLake.CATALOG_NAME, lake.catalogProperties(), lake, streams,
                        settings.ingest().defaultPartitions(), settings.lake().commitInterval(), functionJars,
                        settings.pipelines().idleTimeout(), settings.pipelines().checkpoints().map(Path::of), leases,
                        project.sinks()),
                        project.pipelines().values());
                pipelines = runner;
                started.push(pipelines);
                query.addLiveTables(runner);
                pipelineMetrics(runner);
            }
            if (project.models().isEmpty() && project.checks().isEmpty()) {
                scheduler = java.util.Optional.empty();
            } else {
                FlinkModelBuilder builder = flink == null ? null : new FlinkModelBuilder(new FlinkModelBuilder.Context(flink,
                        IcebergLake.CATALOG_NAME, lake.catalogProperties(), functionJars,
                        buildParallelism, lake));
                ModelScheduler models = new ModelScheduler(project.models(), project.checks(), settings.models(), builder, query,
                        lake, stateDatabase, leases, java.time.Clock.systemUTC());
                scheduler = java.util.Optional.of(models);
                started.push(models);
                modelMetrics(models);
                if (builder != null) {
                    started.push(builder); // stops first: cancels the builds in flight, whose steps then fail
                }
            }
            // the ml models: trained from the lake through the query engine, their versions in the state database
            java.util.Optional<io.watershed.ml.MlService> ml = java.util.Optional.empty();
            java.util.function.Supplier<java.util.Map<String, java.time.Instant>> nextTrainings = java.util.Map::of;
            if (!project.ml().isEmpty()) {
                ml = java.util.Optional.of(new io.watershed.ml.MlService(project.ml(), query, lake, stateDatabase, this.dataDirectory,
                        java.time.Clock.systemUTC()));
                started.push(ml.get());
                MlTrainings trainings = new MlTrainings(ml.get().models(), ml.get()::train, leases, java.time.Clock.systemUTC()).start();
                started.push(trainings);
                nextTrainings = trainings::nextTrainings;
            }
            io.watershed.ingest.IngestGate gate = new io.watershed.ingest.IngestGate(this.dataDirectory, settings, backlog::of);
            ingest = new IngestService(bus, streams, settings, gate, meters);
            sources = new Sources(project.streams().values(), settings, new SourcePublisher(bus, streams, meters, settings.ingest().produceTimeout(),
                    gate),
                    this.dataDirectory, leases);
            started.push(sources); // stops after HTTP and before the bus: what a source read is published or read again
            BusAddress busAddress = new BusAddress(kafkaAddress(), embeddedBus, kafkaMechanisms());
            Alerts alerts = new Alerts(pipelines, streams, backlog, upkeep, scheduler, this::uptime,
                    settings.alerts().deadLettersWindow(), java.time.Clock.systemUTC());
            java.util.function.Supplier<io.watershed.project.Boards> boards =
                    () -> io.watershed.project.ProjectLoader.withSystemEnvironment().boards(project.directory());
            io.watershed.lake.IcebergRestCatalog restCatalog = new io.watershed.lake.IcebergRestCatalog(lake,
                    IcebergCatalogApi.managed(project), io.watershed.lake.IcebergRestCatalog.clientDefaults(lake));
            started.push(restCatalog);
            http = new HttpApi(settings.http(), new Authorization(access), audit, List.of(
                    new StatusApi(project.name(), this::uptime, busAddress, streams, meters, leases),
                    new AccessApi(access),
                    new StreamsApi(streams, project.streams().keySet(), rates, backlog, upkeep, ingest, audit, search),
                    new SearchApi(search, java.time.Clock.systemUTC()),
                    new PipelinesApi(pipelines),
                    new SourcesApi(sources, busAddress),
                    new SqlApi(query, settings.query()),
                    new ModelsApi(scheduler, project, streams, pipelines, boards),
                    new MlApi(ml, nextTrainings),
                    new TablesApi(upkeep),
                    new ConsoleApi(inspector, project, streams, boards),
                    new AlertsApi(alerts),
                    new IcebergCatalogApi(restCatalog, access)));
            started.push(http);
            pg = startPg(settings, new PgLogins(access, audit));
            if (settings.alerts().notifies()) {
                startAlertNotifier(settings.alerts(), alerts);
            }
        } catch (IOException e) {
            closeQuietly();
            throw new UncheckedIOException("Cannot create the data directory " + dataDirectory, e);
        } catch (RuntimeException | Error e) {
            closeQuietly();
            throw e;
        }
    }

    private record LakeParts(IcebergLake lake, DuckDbQueryEngine query) {
        void close() {
            query.close();
            lake.close();
        }
    }

    private LakeParts startLake(Settings settings) {
        IcebergLake lake = new IcebergLake(dataDirectory.resolve("lake"), settings.lake(),
                StateDatabase.of(settings.metadata(), dataDirectory));
        try {
            return new LakeParts(lake, new DuckDbQueryEngine(lake, dataDirectory.resolve("tmp").resolve("duckdb"),
                    settings.query().timeout(), settings.query().memoryLimit()));
        } catch (RuntimeException | Error e) {
            lake.close();
            throw e;
        }
    }

    /** Sends the alerts to {@code alerts.webhooks} and {@code alerts.alertmanager} while this instance holds their lease. */
    private void startAlertNotifier(Settings.Alerts settings, Alerts alerts) {
        leases.claim(AlertNotifier.LEASE, new io.watershed.spi.Leases.Work() {
            @Override
            public void acquired(long epoch) {
                // each evaluation asks the lease
            }

            @Override
            public void lost() {
                // the next evaluation sees it and forgets what it sent; the new holder announces what still fires
            }
        });
        List<AlertNotifier.Target> targets = AlertNotifier.targets(settings, project.name(), leases.instance(), url() + "/console/");
        AlertNotifier notifier = new AlertNotifier(() -> alerts.current(true), targets, () -> leases.holds(AlertNotifier.LEASE),
                java.time.Clock.systemUTC(), AlertNotifier.REQUEST_TIMEOUT.plusSeconds(1), meters);
        started.push(notifier); // stops first: nothing is sent while the platform stops
        notifier.start(settings.evaluationInterval());
        LOG.info("Alerts go to {} webhook(s){} every {}", settings.webhookUrls().size(),
                settings.alertmanagerUrl().map(u -> " and the Alertmanager at " + u.getHost()).orElse(""), settings.evaluationInterval());
    }

    /** Below this, starting would only end in the broker halting (it must append to start); below min_free_disk, only ingest waits. */
    static final long MIN_FREE_TO_START = 16L << 20;

    private void checkFreeSpace(Settings settings) {
        long free = dataDirectory.toFile().getUsableSpace();
        if (free < MIN_FREE_TO_START) {
            throw new WatershedException(ErrorCode.UNAVAILABLE, "Cannot start: only " + free + " bytes are free on the disk of "
                    + dataDirectory + ", and the bus, the lake and the catalogs must write to start (at least " + MIN_FREE_TO_START
                    + "). Free space on that disk, then start again; nothing acknowledged is lost meanwhile");
        }
        if (free < settings.ingest().minFreeDisk()) {
            LOG.warn("Only {} bytes are free on the disk of {} (ingest.min_free_disk is {}): ingest answers 503 until there is more; "
                    + "queries work", free, dataDirectory, settings.ingest().minFreeDisk());
        }
    }

    /** Starts everything; returns when the HTTP API accepts requests. */
    public static Platform start(Project project, Path dataDirectory) {
        long t0 = System.nanoTime();
        Platform platform = new Platform(project, dataDirectory, t0);
        LOG.info("Watershed '{}' up in {} ms: http://{}:{}", project.name(), (System.nanoTime() - t0) / 1_000_000,
                project.settings().http().host(), platform.port());
        return platform;
    }

    /** Per pipeline: whether it runs, its restarts, its lag; read from one status list per second at most. */
    private void pipelineMetrics(StreamProcessor runner) {
        // held by this platform: meters keep only weak references to what they read
        pipelineStatuses = new java.util.function.Supplier<>() {
            private volatile java.util.Map<String, StreamProcessor.PipelineStatus> last = java.util.Map.of();
            private volatile long at = System.nanoTime() - 2_000_000_000L;

            @Override
            public java.util.Map<String, StreamProcessor.PipelineStatus> get() {
                if (System.nanoTime() - at > 1_000_000_000L) {
                    java.util.Map<String, StreamProcessor.PipelineStatus> now = new java.util.HashMap<>();
                    runner.pipelines().forEach(p -> now.put(p.name(), p));
                    last = now;
                    at = System.nanoTime();
                }
                return last;
            }
        };
        java.util.function.Supplier<java.util.Map<String, StreamProcessor.PipelineStatus>> statuses = pipelineStatuses;
        for (String name : project.pipelines().keySet()) {
            io.micrometer.core.instrument.Gauge.builder("watershed.pipeline.running", statuses,
                    s -> s.get().containsKey(name) && s.get().get(name).state().equals("RUNNING") ? 1 : 0)
                    .tag("pipeline", name).description("1 while the pipeline's job runs, else 0").register(meters);
            io.micrometer.core.instrument.FunctionCounter.builder("watershed.pipeline.restarts", statuses,
                    s -> s.get().containsKey(name) ? s.get().get(name).restarts() : 0)
                    .tag("pipeline", name).description("Restarts of the pipeline's job after failures").register(meters);
            io.micrometer.core.instrument.FunctionCounter.builder("watershed.pipeline.unreadable.records", statuses,
                    s -> s.get().containsKey(name) ? s.get().get(name).unreadableRecords() : 0)
                    .tag("pipeline", name).description("Records the pipeline skipped because they do not fit the stream's columns")
                    .register(meters);
            io.micrometer.core.instrument.Gauge.builder("watershed.pipeline.lag.records", statuses,
                    s -> s.get().containsKey(name) ? s.get().get(name).lag() : 0)
                    .tag("pipeline", name).description("Records in the pipeline's input streams past its last checkpoint")
                    .register(meters);
            io.micrometer.core.instrument.Gauge.builder("watershed.pipeline.backpressure.ratio", statuses,
                    s -> s.get().containsKey(name) ? s.get().get(name).backpressure().orElse(Double.NaN) : Double.NaN)
                    .tag("pipeline", name).description("Flink's backpressure of the pipeline's job: the largest share of time a task "
                            + "waited for room in its output (NaN until sampled)")
                    .register(meters);
        }
        for (String sink : project.sinks().keySet()) {
            io.micrometer.core.instrument.FunctionCounter.builder("watershed.sink.rows.written", runner,
                    r -> sinkStatus(r, sink).map(StreamProcessor.SinkStatus::rowsWritten).orElse(0L))
                    .tag("sink", sink).description("Rows the sink's store took (upserts, inserts and deletes)").register(meters);
            io.micrometer.core.instrument.FunctionCounter.builder("watershed.sink.errors", runner,
                    r -> sinkStatus(r, sink).map(StreamProcessor.SinkStatus::errors).orElse(0L))
                    .tag("sink", sink).description("Failed writes to the sink's store (each tried again)").register(meters);
            io.micrometer.core.instrument.FunctionCounter.builder("watershed.sink.dead.letters", runner,
                    r -> sinkStatus(r, sink).map(StreamProcessor.SinkStatus::deadLetters).orElse(0L))
                    .tag("sink", sink).description("Rows the sink's store refused for their data, kept in its dead-letter table")
                    .register(meters);
            io.micrometer.core.instrument.Gauge.builder("watershed.sink.pending.rows", runner,
                    r -> sinkStatus(r, sink).map(StreamProcessor.SinkStatus::pendingRows).orElse(0L))
                    .tag("sink", sink).description("Rows buffered for the sink, not yet written").register(meters);
            io.micrometer.core.instrument.Gauge.builder("watershed.sink.flush.seconds", runner,
                    r -> sinkStatus(r, sink).map(StreamProcessor.SinkStatus::lastFlushSeconds).orElse(0.0))
                    .tag("sink", sink).description("How long the sink's last write of a batch took").register(meters);
        }
    }

    private static java.util.Optional<StreamProcessor.SinkStatus> sinkStatus(StreamProcessor runner, String sink) {
        return runner.sinks().stream().filter(s -> s.name().equals(sink)).findFirst();
    }

    /**
     * This instance's name where instances sharing a state database must not collide (their admin token files, their
     * keyed ingest's transactional ids); empty when it is alone, so names stay as they always were.
     */
    private String sharedInstanceName(StateDatabase database) {
        return database.dialect() == StateDatabase.Dialect.POSTGRESQL ? leases.instance() : "";
    }

    /** Per lease this instance claims: whether it holds it, and at which epoch (Prometheus shows who owns what). */
    private void leaseMetrics(io.watershed.spi.Leases leases) {
        leases.onClaim(name -> {
            io.micrometer.core.instrument.Gauge.builder("watershed.lease.held", leases, l -> l.holds(name) ? 1 : 0)
                    .tag("lease", name).tag("instance", leases.instance())
                    .description("1 while this instance holds the lease (and does its work), else 0").register(meters);
            io.micrometer.core.instrument.Gauge.builder("watershed.lease.epoch", leases, l -> l.epoch(name))
                    .tag("lease", name).tag("instance", leases.instance())
                    .description("The epoch of the lease this instance holds, 0 when it does not").register(meters);
        });
    }

    /** Per model: builds by outcome, rows written, the last successful build and its duration. */
    private void modelMetrics(ModelScheduler models) {
        models.stats().forEach((name, stats) -> {
            io.micrometer.core.instrument.FunctionCounter.builder("watershed.model.builds", stats, s -> s.succeeded.get())
                    .tag("model", name).tag("outcome", "success").description("Model builds by outcome (checks included)")
                    .register(meters);
            io.micrometer.core.instrument.FunctionCounter.builder("watershed.model.builds", stats, s -> s.failed.get())
                    .tag("model", name).tag("outcome", "failure").description("Model builds by outcome (checks included)")
                    .register(meters);
            io.micrometer.core.instrument.FunctionCounter.builder("watershed.model.rows.written", stats, s -> s.rows.get())
                    .tag("model", name).description("Rows written by successful builds").register(meters);
            io.micrometer.core.instrument.Gauge.builder("watershed.model.last.success.timestamp.seconds", stats, s -> s.lastSuccess)
                    .tag("model", name).description("When the last successful build ended (0: none since the start)").register(meters);
            io.micrometer.core.instrument.Gauge.builder("watershed.model.last.duration.seconds", stats, s -> s.lastDurationSeconds)
                    .tag("model", name).description("How long the last successful build took").register(meters);
            io.micrometer.core.instrument.Gauge.builder("watershed.model.running", stats, s -> s.running.get())
                    .tag("model", name).description("Builds of the model in flight").register(meters);
        });
    }

    /**
     * What upkeep does to a table: a stream's raw table and dead letters follow the stream's lifecycle
     * ({@code lake_retention}, {@code dlq_retention}, {@code target_file_size}); a model's table its {@code retention} by
     * {@code partition_by}; other tables are compacted and expired with the lake's defaults and kept forever.
     */
    private LakeUpkeep.Policy upkeepPolicy(org.apache.iceberg.catalog.TableIdentifier id, Settings settings) {
        long target = settings.lake().targetFileSize();
        if (id.namespace().equals(IcebergLake.RAW)) {
            boolean deadLetters = id.name().endsWith(IcebergLake.DEAD_LETTER_SUFFIX);
            String stream = deadLetters ? id.name().substring(0, id.name().length() - IcebergLake.DEAD_LETTER_SUFFIX.length()) : id.name();
            StreamSpec.Lifecycle lifecycle = streams.streams().stream().filter(s -> s.name().equals(stream)).findFirst()
                    .map(StreamSpec::lifecycle).orElse(StreamSpec.Lifecycle.NONE);
            return new LakeUpkeep.Policy(lifecycle.targetFileSize().orElse(target), java.util.Optional.of(IcebergLake.INGESTED_AT),
                    deadLetters ? lifecycle.dlqRetention() : lifecycle.lakeRetention());
        }
        if (id.namespace().toString().equals(settings.models().namespace()) && project.models().containsKey(id.name())) {
            io.watershed.spi.ModelSpec.Config model = project.models().get(id.name()).config();
            return new LakeUpkeep.Policy(target, model.partitionBy(), model.retention());
        }
        return new LakeUpkeep.Policy(target, java.util.Optional.empty(), java.util.Optional.empty());
    }

    /** Streams created on first use live on as topics; start their lake writers again. */
    private void reopenStreamsCreatedOnFirstUse(io.watershed.spi.EventBus bus) {
        java.util.List<StreamSpec> specs = new java.util.ArrayList<>();
        bus.topics().forEach((topic, partitions) -> {
            if (!project.streams().containsKey(topic) && StreamSpec.NAME.matcher(topic).matches()) {
                specs.add(StreamSpec.inferred(topic, partitions));
            }
        });
        if (!specs.isEmpty()) {
            streams.openAll(specs);
        }
    }

    public int port() {
        return http.port();
    }

    /** The port Postgres clients connect to, unless the listener is off ({@code pg.port: -1}) or its port was taken. */
    public java.util.Optional<Integer> pgPort() {
        return pg.map(io.watershed.pgwire.PgServer::port);
    }

    /**
     * The Postgres wire listener, with TLS from http.tls_keystore when set. A port taken (the default 15432, by another
     * platform on the machine) leaves it off rather than failing the start: it is an extra door, not the platform's own.
     */
    private java.util.Optional<io.watershed.pgwire.PgServer> startPg(Settings settings, PgLogins logins) {
        Settings.Pg pgSettings = settings.pg();
        if (pgSettings.port() < 0) {
            return java.util.Optional.empty();
        }
        java.util.Optional<javax.net.ssl.SSLContext> tls = settings.http().tlsKeystore()
                .map(keystore -> tlsContext(Path.of(keystore), settings.http().tlsKeystorePassword()));
        try {
            io.watershed.pgwire.PgServer server = new io.watershed.pgwire.PgServer(pgSettings.host(), pgSettings.port(),
                    pgSettings.maxConnections(), query, logins, tls);
            started.push(server);
            if (!isLoopback(pgSettings.host()) && tls.isEmpty()) {
                LOG.warn("Postgres clients on {}:{} send their tokens in clear text: set http.tls_keystore so that they can use TLS",
                        pgSettings.host(), server.port());
            }
            LOG.info("Postgres clients connect to {}:{} (password: a token){}", pgSettings.host(), server.port(),
                    tls.isPresent() ? ", TLS with http.tls_keystore" : "");
            return java.util.Optional.of(server);
        } catch (WatershedException e) {
            LOG.warn("{}; the platform runs without it", e.getMessage());
            return java.util.Optional.empty();
        }
    }

    private static javax.net.ssl.SSLContext tlsContext(Path keystore, io.watershed.spi.Secret password) {
        try (java.io.InputStream in = Files.newInputStream(keystore)) {
            java.security.KeyStore store = java.security.KeyStore.getInstance("PKCS12");
            store.load(in, password.reveal().toCharArray());
            javax.net.ssl.KeyManagerFactory keys = javax.net.ssl.KeyManagerFactory.getInstance(
                    javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
            keys.init(store, password.reveal().toCharArray());
            javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), null, null);
            return context;
        } catch (IOException | java.security.GeneralSecurityException e) {
            throw new WatershedException(ErrorCode.INVALID_CONFIG, "Cannot serve Postgres clients over TLS: http.tls_keystore "
                    + keystore + " cannot be read (" + e.getMessage() + ")", e);
        }
    }

    /**
     * A token for the service user {@code user} that may only write events to {@code stream} (what a data generator
     * needs, and no more); see {@link AccessStore#streamWriterToken}.
     */
    public String streamWriterToken(String user, String stream, String tokenName) {
        return access.streamWriterToken(user, stream, tokenName).token();
    }

    /** Where the admin token is kept (readable by its owner only); the CLI reads it from there. */
    public Path adminTokenFile() {
        return dataDirectory.resolve("admin.token");
    }

    /** The admin token of this data directory (the content of {@link #adminTokenFile()}). */
    public String adminToken() {
        return adminToken;
    }

    public String url() {
        String host = project.settings().http().host().equals("0.0.0.0") ? "127.0.0.1" : project.settings().http().host();
        return (project.settings().http().tlsKeystore().isPresent() ? "https://" : "http://") + host + ":" + port();
    }

    /** The platform's own Kafka address (for in-process clients: the embedded broker's internal listener). */
    public String bootstrapServers() {
        return connection.bootstrapServers();
    }

    /** The Kafka address for outside clients: the embedded broker's SASL listener, or the configured cluster. */
    public String kafkaAddress() {
        return broker != null ? broker.externalAddress() : connection.bootstrapServers();
    }

    /**
     * Whether outside Kafka clients log in with a token over SASL: on the embedded broker unless bus.plaintext, on an
     * external cluster when the platform manages its logins and ACLs (bus.manage_acls).
     */
    public boolean kafkaAuthenticated() {
        return broker != null ? broker.authenticated() : project.settings().bus().manageAcls();
    }

    /**
     * The SASL mechanisms a token logs in with from outside (user = its id, password = the token): on the embedded
     * broker PLAIN (on loopback, or with bus.plain_over_network) and SCRAM-SHA-256/512, none with bus.plaintext; on an
     * external cluster with bus.manage_acls SCRAM-SHA-256/512, else none.
     */
    public List<String> kafkaMechanisms() {
        if (broker != null) {
            return broker.mechanisms();
        }
        return kafkaAuthenticated() ? List.of("SCRAM-SHA-256", "SCRAM-SHA-512") : List.of();
    }

    /**
     * The SASL/PLAIN logins of the embedded broker, when it takes them: on loopback always, elsewhere only with
     * bus.plain_over_network, since PLAIN sends the token itself and the broker's client port has no TLS.
     */
    private static java.util.Optional<io.watershed.bus.TokenPlainCallbackHandler.Logins> plainLogins(Settings.Bus bus,
            AccessStore access) {
        if (bus.plaintext()) {
            return java.util.Optional.empty();
        }
        if (!isLoopback(bus.host())) {
            if (!bus.plainOverNetwork()) {
                LOG.info("The embedded broker takes SASL/SCRAM logins only on {}: SASL/PLAIN would send tokens in clear text "
                        + "(bus.plain_over_network: true allows it, for clients on librdkafka before 2.6.1)", bus.host());
                return java.util.Optional.empty();
            }
            LOG.warn("The embedded broker takes SASL/PLAIN logins on {} (bus.plain_over_network: true): their tokens cross the "
                    + "network in clear text", bus.host());
        }
        return java.util.Optional.of(access::validLogin);
    }

    private static boolean isLoopback(String host) {
        return host.equals("127.0.0.1") || host.equals("localhost") || host.equals("::1");
    }

    public boolean embeddedBus() {
        return embeddedBus;
    }

    public Project project() {
        return project;
    }

    public Path dataDirectory() {
        return dataDirectory;
    }

    private Duration uptime() {
        return Duration.ofNanos(System.nanoTime() - startedAtNanos);
    }

    /** The port the Fluentd forward listener took, when the project has one ({@code ingest.forward_port}). */
    public java.util.Optional<Integer> forwardPort() {
        return sources.forwardPort();
    }

    /** Stops HTTP first (no new acknowledgements), then commits what the lake writers hold, then the engines. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        LOG.info("Shutting down: committing buffered events to the lake");
        closeQuietly();
        LOG.info("Watershed stopped");
    }

    private void closeQuietly() {
        if (leases != null) {
            leases.stopTaking(); // what another instance gives up while this one stops is left to the others
        }
        while (!started.isEmpty()) {
            AutoCloseable part = started.pop();
            try {
                part.close();
            } catch (Exception e) {
                LOG.warn("Cannot stop {} cleanly: {}", part.getClass().getSimpleName(), e.toString());
            }
        }
    }
}
