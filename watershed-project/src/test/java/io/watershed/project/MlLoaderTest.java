package io.watershed.project;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.MlSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ml/*.yaml through the project loader: a model read with its defaults, mistakes refused at their position. */
class MlLoaderTest {
    @TempDir
    Path dir;

    @Test
    void readsAModelWithItsSplitMetricsThresholdAndSchedule() throws IOException {
        ProjectFiles.write(dir, "watershed.yaml", "name: shop\nschedules:\n  nightly: \"0 3 * * *\"\n");
        ProjectFiles.write(dir, "ml/churn.yaml", """
                description: Who stops buying
                sql: |
                  SELECT c.id, c.visits, c.spend, c.churned
                  FROM committed.raw.customers c JOIN marts.orders o ON o.customer = c.id
                label: churned
                features: [visits, spend]
                objective: binary
                parameters:
                  num_iterations: 50
                  learning_rate: 0.1
                split:
                  test_fraction: 0.25
                  key: id
                  seed: 7
                metrics: [auc, logloss]
                promote_if:
                  auc: ">= 0.8"
                schedule: nightly
                """);
        ProjectFiles.write(dir, "ml/price.yml", """
                sql: SELECT x1, x2, y FROM raw.points
                label: y
                objective: regression
                """);
        Map<String, MlSpec> ml = new ProjectLoader(Map.of()).load(dir, null).ml();
        assertThat(ml).containsOnlyKeys("churn", "price");
        MlSpec churn = ml.get("churn");
        assertThat(churn.objective()).isEqualTo(MlSpec.Objective.BINARY);
        assertThat(churn.reads()).containsExactly("raw.customers", "marts.orders");
        assertThat(churn.features()).containsExactly("visits", "spend");
        assertThat(churn.parameters()).isEqualTo(Map.of("num_iterations", "50", "learning_rate", "0.1"));
        assertThat(churn.split()).isEqualTo(new MlSpec.Split(0.25, Optional.of("id"), 7));
        assertThat(churn.metrics()).containsExactly("auc", "logloss");
        assertThat(churn.promoteIf()).containsExactly(new MlSpec.Threshold("auc", ">=", 0.8));
        assertThat(churn.cron()).contains("0 3 * * *");
        assertThat(churn.location()).isEqualTo("ml/churn.yaml:1:1");
        MlSpec price = ml.get("price");
        assertThat(price.algorithm()).isEqualTo("lightgbm");
        assertThat(price.features()).isEmpty();
        assertThat(price.split()).isEqualTo(MlSpec.Split.DEFAULT);
        assertThat(price.metrics()).containsExactly("rmse", "mae");
        assertThat(price.maxRows()).isEqualTo(MlSpec.DEFAULT_MAX_ROWS);
    }

    @Test
    void reportsEveryMistakeAtItsPosition() throws IOException {
        ProjectFiles.write(dir, "watershed.yaml", "name: shop\n");
        ProjectFiles.write(dir, "ml/bad.yaml", """
                sql: DELETE FROM raw.points
                label: y
                features: [x1, y]
                algorithm: xgboost
                objective: binary
                parameters:
                  objective: lambdarank
                  num_leaves: 31 63
                split:
                  test_fraction: 1.5
                metrics: [auc, rmse]
                promote_if:
                  auc: "about 0.8"
                  mae: "< 3"
                schedule: "every day"
                learning_rate: 0.1
                """);
        ProjectFiles.write(dir, "ml/empty.yaml", "description: nothing else\n");
        ProjectFiles.write(dir, "ml/odd.yaml", "sql: SELECT 1 AS y\nlabel: y\nobjective: clustering\n");
        List<String> problems = ProjectFiles.problems(dir, Map.of());
        assertThat(problems).containsExactly(
                "ml/bad.yaml:1:6: sql must be a SELECT (or WITH ... SELECT) over lake tables, got 'delete ...'",
                "ml/bad.yaml:3:11: the label 'y' is also listed as a feature; a model must not predict from its answer",
                "ml/bad.yaml:4:12: unknown algorithm 'xgboost'; use one of [lightgbm]",
                "ml/bad.yaml:7:3: parameter 'objective' cannot be set here: set it with objective: (regression or binary)",
                "ml/bad.yaml:8:15: parameter num_leaves has the value '31 63'; a value is a number, a word or a comma-separated list, "
                        + "without spaces",
                "ml/bad.yaml:10:18: test_fraction must be from 0.01 to 0.9, got 1.5",
                "ml/bad.yaml:11:16: metric 'rmse' does not apply to a binary model; use [auc, logloss, accuracy]",
                "ml/bad.yaml:13:8: promote_if auc: 'about 0.8' is not a condition; write an operator (>=, >, <=, <) and a number, "
                        + "e.g. \">= 0.8\"",
                "ml/bad.yaml:14:3: promote_if names metric 'mae', which is not measured; the model's metrics are [auc]",
                "ml/bad.yaml:15:11: 'every day' is not a cron expression (minute hour day-of-month month day-of-week, UTC; or "
                        + "[@annually, @daily, @hourly, @midnight, @monthly, @weekly, @yearly]): "
                        + problems.stream().filter(p -> p.startsWith("ml/bad.yaml:15:11")).findFirst().orElse("").replaceFirst(".*\\): ", ""),
                "ml/bad.yaml:16:1: unknown key 'learning_rate' in an ml model; allowed: [algorithm, description, features, label, "
                        + "max_rows, metrics, objective, parameters, promote_if, schedule, split, sql]",
                "ml/empty.yaml:1:1: an ml model needs sql: the SELECT over lake tables that reads its training rows",
                "ml/empty.yaml:1:1: an ml model needs label: the column it learns to predict",
                "ml/empty.yaml:1:1: an ml model needs objective: one of [binary, regression]",
                "ml/odd.yaml:3:12: unknown objective 'clustering'; use one of [binary, regression]");
    }
}
