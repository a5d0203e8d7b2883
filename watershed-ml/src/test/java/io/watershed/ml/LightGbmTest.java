package io.watershed.ml;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watershed.spi.MlSpec;
import io.watershed.spi.WatershedException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** LightGBM fitted on generated rows whose relationship is known reaches a stated metric on its held-out rows. */
class LightGbmTest {
    static final List<String> COLUMNS = List.of("id", "x1", "x2", "y");
    static final List<String> TYPES = List.of("BIGINT", "DOUBLE", "DOUBLE", "DOUBLE");

    static MlSpec spec(MlSpec.Objective objective, Map<String, String> parameters, List<MlSpec.Threshold> promoteIf) {
        return new MlSpec("points", Path.of("ml/points.yaml"), "SELECT id, x1, x2, y FROM committed.raw.points", List.of("raw.points"),
                "y", List.of(), objective, "lightgbm", parameters, new MlSpec.Split(0.2, Optional.of("id"), 42),
                objective.metrics(), promoteIf, Optional.empty(), Optional.empty(), Optional.empty(), MlSpec.DEFAULT_MAX_ROWS,
                "ml/points.yaml:1:1");
    }

    private static Map<String, Double> trainAndMeasure(MlSpec spec, List<List<Object>> rows) {
        TrainingSet set = TrainingSet.of(spec, COLUMNS, TYPES, rows);
        LightGbm.Trained trained = LightGbm.train(spec, set);
        try (LightGbm.Scorer scorer = LightGbm.Scorer.load(trained.model())) {
            return Metrics.measure(spec.metrics(), set.testLabels, scorer.predict(set.testFeatures, set.testRows()));
        }
    }

    @Test
    void regressionLearnsALinearRelationshipToWithinItsNoise() {
        MlSpec spec = spec(MlSpec.Objective.REGRESSION, Map.of("num_iterations", "200", "learning_rate", "0.1"), List.of());
        Map<String, Double> metrics = trainAndMeasure(spec, GeneratedData.linear(4000, 1));
        // y spans about [-5, 5]; always predicting the mean would give an rmse of about 2.1
        assertThat(metrics.get("rmse")).isLessThan(0.25);
        assertThat(metrics.get("mae")).isLessThan(0.2);
    }

    @Test
    void binaryLearnsALogisticRule() {
        MlSpec spec = spec(MlSpec.Objective.BINARY, Map.of("num_iterations", "100"), List.of());
        Map<String, Double> metrics = trainAndMeasure(spec, GeneratedData.logistic(4000, 2));
        assertThat(metrics.get("auc")).isGreaterThan(0.95);
        assertThat(metrics.get("logloss")).isLessThan(0.3);
        assertThat(metrics.get("accuracy")).isGreaterThan(0.88);
    }

    @Test
    void aKeyedSplitPutsEachRowOnTheSameSideWhateverTheOrder() {
        MlSpec spec = spec(MlSpec.Objective.REGRESSION, Map.of("num_iterations", "20"), List.of());
        List<List<Object>> rows = GeneratedData.linear(1000, 3);
        List<List<Object>> shuffled = new ArrayList<>(rows);
        Collections.shuffle(shuffled, new Random(4));
        TrainingSet a = TrainingSet.of(spec, COLUMNS, TYPES, rows);
        TrainingSet b = TrainingSet.of(spec, COLUMNS, TYPES, shuffled);
        assertThat(b.testRows()).isEqualTo(a.testRows());
        assertThat(sorted(b.testLabels)).isEqualTo(sorted(a.testLabels));
        assertThat(a.testRows()).isBetween(160, 240); // test_fraction 0.2 of 1,000
    }

    private static double[] sorted(double[] values) {
        double[] copy = values.clone();
        java.util.Arrays.sort(copy);
        return copy;
    }

    @Test
    void refusesRowsAModelCannotBeTrainedOn() {
        MlSpec binary = spec(MlSpec.Objective.BINARY, Map.of(), List.of());
        assertThatThrownBy(() -> TrainingSet.of(binary, COLUMNS, TYPES, GeneratedData.linear(100, 5)))
                .isInstanceOf(WatershedException.class)
                .hasMessageStartingWith("Cannot train ml:points: label 'y' in row 1 is ")
                .hasMessageEndingWith("; a binary model's label is 0 or 1 (or false and true)");
        assertThatThrownBy(() -> TrainingSet.of(binary, List.of("id", "x1", "x2", "z"), TYPES, GeneratedData.logistic(100, 5)))
                .hasMessage("Cannot train ml:points: the query returns no column 'y' (the label); its columns are [id, x1, x2, z]");
        assertThatThrownBy(() -> TrainingSet.of(binary, COLUMNS, List.of("BIGINT", "VARCHAR", "DOUBLE", "BIGINT"),
                GeneratedData.logistic(100, 5)))
                .hasMessage("Cannot train ml:points: feature 'x1' is VARCHAR; features are numbers or booleans: turn it into "
                        + "numbers in the SQL (CASE, a cast, a lookup) (ml/points.yaml:1:1)");
        MlSpec badParameter = spec(MlSpec.Objective.REGRESSION, Map.of("num_leaves", "lots"), List.of());
        assertThatThrownBy(() -> LightGbm.train(badParameter, TrainingSet.of(badParameter, COLUMNS, TYPES, GeneratedData.linear(100, 6))))
                .hasMessageStartingWith("Cannot train ml:points: LightGBM refused it: ");
    }

    @Test
    void metricsMatchTheirDefinitions() {
        double[] labels = {0, 0, 1, 1};
        assertThat(Metrics.auc(labels, new double[] {0.1, 0.4, 0.35, 0.8})).isEqualTo(0.75);
        assertThat(Metrics.auc(labels, new double[] {0.5, 0.5, 0.5, 0.5})).isEqualTo(0.5);
        assertThat(Metrics.rmse(new double[] {1, 2}, new double[] {2, 4})).isEqualTo(Math.sqrt(2.5));
        assertThat(Metrics.mae(new double[] {1, 2}, new double[] {2, 4})).isEqualTo(1.5);
        assertThat(Metrics.logloss(new double[] {1, 0}, new double[] {0.5, 0.5})).isCloseTo(Math.log(2), org.assertj.core.data.Offset.offset(1e-12));
        assertThat(Metrics.accuracy(labels, new double[] {0.1, 0.6, 0.7, 0.2})).isEqualTo(0.5);
    }
}
