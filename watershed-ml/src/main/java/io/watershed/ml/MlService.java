package io.watershed.ml;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.LakeCatalog;
import io.watershed.spi.LakeTableView;
import io.watershed.spi.MlSpec;
import io.watershed.spi.QueryEngine;
import io.watershed.spi.ReadScope;
import io.watershed.spi.StateDatabase;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The project's ml models: trains a version from the lake, keeps it in the {@link ModelRegistry}, promotes it and scores
 * rows with it.
 *
 * <p>A training runs the model's SQL through the query engine with every right (the platform trains, not a user),
 * splits the rows, fits LightGBM on the training rows and measures the metrics on the test rows. It records the snapshot
 * of each lake table the query read; when a commit lands on one of them while the query runs, the query runs again (up to
 * three times), so the recorded snapshots are the ones it read. Raw tables also serve the bus's fresh tail, which no
 * snapshot covers: a query over {@code committed.raw.<stream>} reads the snapshot alone. The model file is written under
 * {@code <data>/ml/<name>/v<version>.txt}.
 */
public final class MlService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MlService.class);
    private static final int SNAPSHOT_ATTEMPTS = 3;
    /** The most rows one prediction request scores. */
    public static final int MAX_PREDICT_ROWS = 100_000;

    private final Map<String, MlSpec> specs;
    private final QueryEngine query;
    private final LakeCatalog lake;
    private final ModelRegistry registry;
    private final Path dataDirectory;
    private final Clock clock;
    private final Map<String, ReentrantLock> trainings = new ConcurrentHashMap<>();
    private final Map<String, LightGbm.Scorer> scorers = new ConcurrentHashMap<>();

    public MlService(Map<String, MlSpec> specs, QueryEngine query, LakeCatalog lake, StateDatabase database, Path dataDirectory,
            Clock clock) {
        this.specs = new TreeMap<>(specs);
        this.query = query;
        this.lake = lake;
        this.registry = new ModelRegistry(database, clock);
        this.dataDirectory = dataDirectory;
        this.clock = clock;
    }

    /** The models of the project, by name. */
    public List<MlSpec> models() {
        return List.copyOf(specs.values());
    }

    /** @throws WatershedException UNKNOWN_MODEL when the project has no {@code ml/<name>.yaml} */
    public MlSpec spec(String name) {
        MlSpec spec = specs.get(name);
        if (spec == null) {
            throw new WatershedException(ErrorCode.UNKNOWN_MODEL, "Cannot find ml model '" + name + "': the project has "
                    + (specs.isEmpty() ? "none (files ml/<name>.yaml)" : specs.keySet()));
        }
        return spec;
    }

    /** Its versions, newest first. */
    public List<ModelVersion> versions(String name) {
        return registry.versions(spec(name).name());
    }

    public Optional<ModelVersion> production(String name) {
        return registry.production(spec(name).name());
    }

    /**
     * Trains a new version now and records it as a candidate.
     *
     * @throws WatershedException CONFLICT while another training of the model runs; INVALID_CONFIG for training rows a model
     *     cannot be trained on (a missing column, a text feature, too few rows, more than max_rows); the query's errors
     */
    public ModelVersion train(String name) {
        MlSpec spec = spec(name);
        ReentrantLock lock = trainings.computeIfAbsent(name, n -> new ReentrantLock());
        if (!lock.tryLock()) {
            throw new WatershedException(ErrorCode.CONFLICT, "Cannot train ml:" + name + ": a training of it is under way; "
                    + "wait for it, then GET /v1/ml/" + name + "/versions");
        }
        try {
            long started = System.nanoTime();
            Read read = read(spec);
            TrainingSet set = TrainingSet.of(spec, read.result().columns(), read.result().types(), read.result().rows());
            LightGbm.Trained trained = LightGbm.train(spec, set);
            double[] predictions;
            try (LightGbm.Scorer scorer = LightGbm.Scorer.load(trained.model())) {
                predictions = scorer.predict(set.testFeatures, set.testRows());
            }
            if (spec.objective() == MlSpec.Objective.BINARY) {
                long ones = java.util.Arrays.stream(set.testLabels).filter(y -> y > 0.5).count();
                if (ones == 0 || ones == set.testRows()) {
                    throw new WatershedException(ErrorCode.INVALID_CONFIG, "Cannot train ml:" + name + ": its " + set.testRows()
                            + " test rows all have label " + (ones == 0 ? 0 : 1) + ", so they cannot measure a binary model; "
                            + "train on more rows or raise split.test_fraction");
                }
            }
            Map<String, Double> metrics = Metrics.measure(spec.metrics(), set.testLabels, predictions);
            long millis = (System.nanoTime() - started) / 1_000_000;
            ModelVersion draft = new ModelVersion(name, 0, ModelVersion.CANDIDATE, clock.instant(), clock.instant(), spec.algorithm(),
                    spec.objective().key(), trained.parameters(), metrics, set.trainRows(), set.testRows(), set.features, spec.label(),
                    read.snapshots(), "", "", millis, spec.sql());
            ModelVersion version = registry.add(draft, number -> store(name, number, trained.model()));
            LOG.info("Trained ml:{} version {} on {} rows ({} test rows, {} without a label) in {} ms: {}", name, version.version(),
                    set.trainRows(), set.testRows(), set.unlabelled, millis, metrics);
            return version;
        } finally {
            lock.unlock();
        }
    }

    /** The training rows, and the snapshot of each table they were read at. */
    private record Read(QueryEngine.QueryResult result, Map<String, Long> snapshots) {}

    private Read read(MlSpec spec) {
        Set<String> tables = new LinkedHashSet<>(spec.reads());
        for (int attempt = 1; ; attempt++) {
            Map<String, Long> before = snapshots(tables);
            QueryEngine.QueryResult result = query.query(spec.sql(), (int) Math.min(Integer.MAX_VALUE - 1, spec.maxRows()), ReadScope.ALL);
            if (result.truncated()) {
                throw new WatershedException(ErrorCode.INVALID_CONFIG, "Cannot train ml:" + spec.name() + ": the query returns more "
                        + "than max_rows (" + spec.maxRows() + ") rows; raise max_rows in " + spec.location()
                        + ", or sample in the SQL (USING SAMPLE)");
            }
            Set<String> read = new LinkedHashSet<>(tables);
            read.addAll(result.tables());
            Map<String, Long> after = snapshots(read);
            if (read.equals(tables) && before.equals(after) || attempt == SNAPSHOT_ATTEMPTS) {
                if (!before.equals(after)) {
                    LOG.warn("ml:{} read tables that changed during each of {} attempts; it records their snapshots after the last",
                            spec.name(), attempt);
                }
                return new Read(result, after);
            }
            tables = read;
        }
    }

    private Map<String, Long> snapshots(Set<String> tables) {
        Map<String, Long> snapshots = new TreeMap<>();
        for (LakeTableView view : lake.tables()) {
            String table = view.qualifiedName().toLowerCase(Locale.ROOT);
            if (tables.contains(table)) {
                snapshots.put(table, view.snapshotId());
            }
        }
        return snapshots;
    }

    private ModelRegistry.Stored store(String name, int version, String model) {
        Path relative = Path.of("ml", name, "v" + version + ".txt");
        Path file = dataDirectory.resolve(relative);
        byte[] bytes = model.getBytes(StandardCharsets.UTF_8);
        try {
            Files.createDirectories(file.getParent());
            Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
            Files.write(temporary, bytes);
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the model file " + file + " of ml:" + name + " version " + version, e);
        }
        return new ModelRegistry.Stored(relative.toString(), sha256(bytes));
    }

    /**
     * Makes a version the one in production, archiving the one before.
     *
     * @throws WatershedException CONFLICT when the version misses a condition of the file's {@code promote_if};
     *     UNKNOWN_MODEL when it does not exist
     */
    public ModelVersion promote(String name, int version) {
        MlSpec spec = spec(name);
        ModelVersion candidate = registry.version(name, version).orElseThrow(() -> new WatershedException(ErrorCode.UNKNOWN_MODEL,
                "Cannot promote ml:" + name + " version " + version + ": there is no such version; GET /v1/ml/" + name
                        + "/versions lists them"));
        List<String> missed = new ArrayList<>();
        for (MlSpec.Threshold threshold : spec.promoteIf()) {
            Double measured = candidate.metrics().get(threshold.metric());
            if (measured == null || !threshold.passes(measured)) {
                missed.add(threshold.metric() + " is " + (measured == null ? "not measured" : round(measured)) + ", needs "
                        + threshold.operator() + " " + threshold.value());
            }
        }
        if (!missed.isEmpty()) {
            throw new WatershedException(ErrorCode.CONFLICT, "Cannot promote ml:" + name + " version " + version + ": it does not "
                    + "meet promote_if in " + spec.location() + " (" + String.join("; ", missed) + "); it stays a "
                    + candidate.stage(), Map.<String, Object>of("missed", missed), null, null);
        }
        ModelVersion promoted = registry.promote(name, version);
        LOG.info("ml:{} version {} is in production", name, version);
        return promoted;
    }

    /** Scores of rows, and the version that scored them. */
    public record Prediction(ModelVersion version, double[] scores) {}

    /**
     * Scores rows (feature name to number, boolean or null) with the production version, or {@code version}.
     *
     * @throws WatershedException INVALID_INPUT for a row without a feature or with a value that is not a number;
     *     UNKNOWN_MODEL when no version is in production, or there is no such version
     */
    public Prediction predict(String name, OptionalInt version, List<Map<String, Object>> rows) {
        spec(name);
        String what = "Cannot score with ml:" + name + ": ";
        if (rows.size() > MAX_PREDICT_ROWS) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, what + rows.size() + " rows are more than one request scores ("
                    + MAX_PREDICT_ROWS + "); send them in batches");
        }
        ModelVersion chosen = version.isPresent()
                ? registry.version(name, version.getAsInt()).orElseThrow(() -> new WatershedException(ErrorCode.UNKNOWN_MODEL,
                        what + "it has no version " + version.getAsInt() + "; GET /v1/ml/" + name + "/versions lists them"))
                : registry.production(name).orElseThrow(() -> new WatershedException(ErrorCode.UNKNOWN_MODEL, what
                        + "no version is in production; promote one (POST /v1/ml/" + name + "/versions/<v>/promote) or name one "
                        + "with ?version="));
        double[] features = TrainingSet.features(chosen.features(), rows, what);
        return new Prediction(chosen, scorer(chosen).predict(features, rows.size()));
    }

    private LightGbm.Scorer scorer(ModelVersion version) {
        return scorers.computeIfAbsent(version.model() + "@" + version.version(), key -> {
            Path file = dataDirectory.resolve(version.artifact());
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(file);
            } catch (IOException e) {
                throw new WatershedException(ErrorCode.INTERNAL, "Cannot load ml:" + version.model() + " version " + version.version()
                        + ": its model file " + file + " cannot be read (" + e.getMessage() + ")", e);
            }
            if (!sha256(bytes).equals(version.sha256())) {
                throw new WatershedException(ErrorCode.INTERNAL, "Cannot load ml:" + version.model() + " version " + version.version()
                        + ": its model file " + file + " is not the one the registry recorded (SHA-256 differs)");
            }
            return LightGbm.Scorer.load(new String(bytes, StandardCharsets.UTF_8));
        });
    }

    private static double round(double value) {
        return Math.round(value * 10_000) / 10_000.0;
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        scorers.values().forEach(LightGbm.Scorer::close);
        scorers.clear();
        registry.close();
    }
}
