package io.watershed.ml;

import com.microsoft.ml.lightgbm.PredictionType;
import io.github.metarank.lightgbm4j.LGBMBooster;
import io.github.metarank.lightgbm4j.LGBMDataset;
import io.github.metarank.lightgbm4j.LGBMException;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.MlSpec;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Gradient-boosted trees with LightGBM (through lightgbm4j, whose jar carries the native library). A trained model is
 * LightGBM's own text format, which {@link Scorer} loads again; the same text and the same inputs give the same scores.
 */
public final class LightGbm {
    /** LightGBM's names for the number of boosting rounds; the trainer runs the rounds itself. */
    private static final Set<String> ROUNDS = Set.of("num_iterations", "num_iteration", "n_iter", "num_tree", "num_trees", "num_round",
            "num_rounds", "nrounds", "num_boost_round", "n_estimators", "max_iter");
    static final int DEFAULT_ROUNDS = 100;

    private LightGbm() {}

    /** What a training produced: the model's text, and every parameter it was trained with. */
    record Trained(String model, Map<String, String> parameters) {}

    static synchronized void loadNative() {
        try {
            LGBMBooster.loadNative();
        } catch (IOException | UnsatisfiedLinkError e) {
            throw new WatershedException(ErrorCode.INTERNAL, "Cannot load LightGBM's native library for this platform ("
                    + System.getProperty("os.name") + " " + System.getProperty("os.arch") + "): " + e.getMessage(), e);
        }
    }

    /** The parameters a training passes to LightGBM: the defaults that make it quiet and repeatable, then the file's. */
    static Map<String, String> parameters(MlSpec spec) {
        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("objective", spec.objective().key());
        parameters.put("num_iterations", String.valueOf(DEFAULT_ROUNDS));
        parameters.put("verbosity", "-1");
        parameters.put("seed", String.valueOf(spec.split().seed()));
        parameters.put("deterministic", "true");
        parameters.put("force_row_wise", "true");
        spec.parameters().forEach((key, value) -> parameters.put(ROUNDS.contains(key) ? "num_iterations" : key, value));
        return parameters;
    }

    static Trained train(MlSpec spec, TrainingSet set) {
        loadNative();
        Map<String, String> parameters = parameters(spec);
        int rounds;
        try {
            rounds = Integer.parseInt(parameters.get("num_iterations"));
        } catch (NumberFormatException e) {
            throw new WatershedException(ErrorCode.INVALID_CONFIG, "Cannot train ml:" + spec.name() + ": num_iterations is '"
                    + parameters.get("num_iterations") + "', not a whole number (" + spec.location() + ")");
        }
        String text = parameters.entrySet().stream().filter(e -> !e.getKey().equals("num_iterations"))
                .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(" "));
        int width = set.features.size();
        String[] names = set.features.stream().map(Feature::name).toArray(String[]::new);
        float[] labels = new float[set.trainRows()];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = (float) set.trainLabels[i];
        }
        try (LGBMDataset data = LGBMDataset.createFromMat(set.trainFeatures, set.trainRows(), width, true, text, null)) {
            data.setFeatureNames(names);
            data.setField("label", labels);
            try (LGBMBooster booster = LGBMBooster.create(data, text)) {
                for (int round = 0; round < rounds; round++) {
                    if (booster.updateOneIter()) {
                        break; // no split improves the model any more
                    }
                }
                return new Trained(booster.saveModelToString(0, 0, LGBMBooster.FeatureImportanceType.GAIN), parameters);
            }
        } catch (LGBMException e) {
            throw new WatershedException(ErrorCode.INVALID_CONFIG, "Cannot train ml:" + spec.name() + ": LightGBM refused it: "
                    + e.getMessage() + " (check parameters: in " + spec.location() + ")", e);
        }
    }

    /** A loaded model. Scoring is serialised per model; close it to free the native memory. */
    public static final class Scorer implements AutoCloseable {
        private final LGBMBooster booster;
        private final int width;

        private Scorer(LGBMBooster booster, int width) {
            this.booster = booster;
            this.width = width;
        }

        /** Loads LightGBM's text format. */
        public static Scorer load(String model) {
            loadNative();
            try {
                LGBMBooster booster = LGBMBooster.loadModelFromString(model);
                return new Scorer(booster, booster.getNumFeature());
            } catch (LGBMException e) {
                throw new WatershedException(ErrorCode.INTERNAL, "Cannot load a LightGBM model: " + e.getMessage(), e);
            }
        }

        /**
         * Scores rows of a row-major matrix: the value for regression, the probability of 1 for binary.
         *
         * @param features {@code rows * width} values, NaN where missing
         */
        public synchronized double[] predict(double[] features, int rows) {
            if (rows == 0) {
                return new double[0];
            }
            try {
                return booster.predictForMat(features, rows, width, true, PredictionType.C_API_PREDICT_NORMAL);
            } catch (LGBMException e) {
                throw new WatershedException(ErrorCode.INTERNAL, "Cannot score with a LightGBM model: " + e.getMessage(), e);
            }
        }

        public int width() {
            return width;
        }

        @Override
        public synchronized void close() {
            try {
                booster.close();
            } catch (LGBMException e) {
                // the native memory is lost either way
            }
        }
    }
}
