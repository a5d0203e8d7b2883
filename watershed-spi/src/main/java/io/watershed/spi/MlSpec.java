package io.watershed.spi;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A trained model, from {@code ml/<name>.yaml}: the SQL that reads its training rows from the lake, the label and
 * feature columns, the algorithm and its parameters, how rows are split into training and test, the metrics measured on
 * the test rows, and an optional metric threshold a version must meet to be promoted to production.
 *
 * @param name the file's name without {@code .yaml}; its grants and lineage call it {@code ml:<name>}
 * @param sql a DuckDB SELECT over lake tables (as {@code POST /v1/sql} takes it)
 * @param reads the lake tables the SQL names, {@code schema.table} (for the lineage)
 * @param label the column the model learns to predict
 * @param features the columns it predicts from; empty: every column of the result but the label and the split key
 * @param algorithm {@code lightgbm}
 * @param parameters the algorithm's parameters as written (LightGBM's names: {@code num_iterations}, {@code learning_rate}, ...)
 * @param metrics the metrics measured on the test rows, first the one that matters most
 * @param promoteIf conditions every one of which a version must meet to be promoted; empty: any version may be
 * @param schedule as written: cron, {@code @daily}-style, or the name of a schedule in watershed.yaml
 * @param cron the schedule as a five-field cron expression (UTC)
 * @param maxRows the most training rows a training reads; more is an error, not a silent sample
 * @param location {@code file:line:col} of the declaration
 */
public record MlSpec(String name, Path file, String sql, List<String> reads, String label, List<String> features, Objective objective, String algorithm,
        Map<String, String> parameters, Split split, List<String> metrics, List<Threshold> promoteIf, Optional<String> schedule,
        Optional<String> cron, Optional<String> description, long maxRows, String location) {
    public static final Set<String> ALGORITHMS = Set.of("lightgbm");
    public static final long DEFAULT_MAX_ROWS = 1_000_000;

    public MlSpec {
        reads = List.copyOf(reads);
        features = List.copyOf(features);
        parameters = Map.copyOf(parameters);
        metrics = List.copyOf(metrics);
        promoteIf = List.copyOf(promoteIf);
    }

    /** What the model predicts, and so which metrics apply. */
    public enum Objective {
        /** A number; metrics rmse and mae. */
        REGRESSION(List.of("rmse", "mae")),
        /** The probability that the label is 1 (labels 0 and 1, or false and true); metrics auc, logloss and accuracy. */
        BINARY(List.of("auc", "logloss", "accuracy"));

        private final List<String> metrics;

        Objective(List<String> metrics) {
            this.metrics = metrics;
        }

        /** The metrics it can measure, the default ones first. */
        public List<String> metrics() {
            return metrics;
        }

        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * Which rows are held out for testing: a row is a test row when a hash of its {@code key} value (or, without a key,
     * of its position in the result) and the seed falls below {@code testFraction}. With a key a row stays on its side
     * from one training to the next however the query orders its rows.
     */
    public record Split(double testFraction, Optional<String> key, long seed) {
        public static final Split DEFAULT = new Split(0.2, Optional.empty(), 42);
    }

    /**
     * A condition on a metric, e.g. {@code auc >= 0.8}.
     *
     * @param operator one of {@code >=}, {@code >}, {@code <=}, {@code <}
     */
    public record Threshold(String metric, String operator, double value) {
        public static final List<String> OPERATORS = List.of(">=", "<=", ">", "<");

        public boolean passes(double measured) {
            return switch (operator) {
                case ">=" -> measured >= value;
                case ">" -> measured > value;
                case "<=" -> measured <= value;
                case "<" -> measured < value;
                default -> throw new IllegalStateException("unknown operator " + operator);
            };
        }

        @Override
        public String toString() {
            return metric + " " + operator + " " + value;
        }
    }
}
