package io.watershed.ml;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.MlSpec;
import io.watershed.spi.WatershedException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The rows of a training query as LightGBM takes them: the feature columns as a row-major matrix of doubles (null is
 * NaN, which LightGBM treats as missing), the labels, and each row on its side of the split. Rows without a label are
 * left out and counted.
 */
final class TrainingSet {
    private static final Pattern NUMERIC = Pattern.compile(
            "(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|REAL|DECIMAL.*|BOOLEAN)");

    final List<Feature> features;
    final double[] trainFeatures;
    final double[] trainLabels;
    final double[] testFeatures;
    final double[] testLabels;
    final long unlabelled;

    private TrainingSet(List<Feature> features, double[] trainFeatures, double[] trainLabels, double[] testFeatures,
            double[] testLabels, long unlabelled) {
        this.features = features;
        this.trainFeatures = trainFeatures;
        this.trainLabels = trainLabels;
        this.testFeatures = testFeatures;
        this.testLabels = testLabels;
        this.unlabelled = unlabelled;
    }

    int trainRows() {
        return trainLabels.length;
    }

    int testRows() {
        return testLabels.length;
    }

    static TrainingSet of(MlSpec spec, List<String> columns, List<String> types, List<List<Object>> rows) {
        String what = "Cannot train ml:" + spec.name() + ": ";
        int labelColumn = column(columns, spec.label(), what, "label");
        int keyColumn = spec.split().key().map(k -> column(columns, k, what, "split key")).orElse(-1);
        List<String> names = spec.features().isEmpty()
                ? columns.stream().filter(c -> !c.equals(spec.label()) && !spec.split().key().map(c::equals).orElse(false)).toList()
                : spec.features();
        if (names.isEmpty()) {
            throw new WatershedException(ErrorCode.INVALID_CONFIG, what + "the query returns no column besides the label; "
                    + "select the features too (" + spec.location() + ")");
        }
        List<Feature> features = new ArrayList<>();
        int[] featureColumns = new int[names.size()];
        for (int f = 0; f < names.size(); f++) {
            int c = column(columns, names.get(f), what, "feature");
            String type = types.get(c).toUpperCase(Locale.ROOT);
            if (!NUMERIC.matcher(type).matches()) {
                throw new WatershedException(ErrorCode.INVALID_CONFIG, what + "feature '" + names.get(f) + "' is " + type
                        + "; features are numbers or booleans: turn it into numbers in the SQL (CASE, a cast, a lookup) ("
                        + spec.location() + ")");
            }
            featureColumns[f] = c;
            features.add(new Feature(names.get(f), type));
        }
        int width = featureColumns.length;
        double[] all = new double[rows.size() * width];
        double[] labels = new double[rows.size()];
        boolean[] test = new boolean[rows.size()];
        int kept = 0;
        int tests = 0;
        long unlabelled = 0;
        for (int r = 0; r < rows.size(); r++) {
            List<Object> row = rows.get(r);
            Object label = row.get(labelColumn);
            if (label == null) {
                unlabelled++;
                continue;
            }
            double y = label(spec, label, r, what);
            for (int f = 0; f < width; f++) {
                Object value = row.get(featureColumns[f]);
                all[kept * width + f] = value == null ? Double.NaN : number(value, "feature '" + names.get(f) + "' in row " + (r + 1), what);
            }
            labels[kept] = y;
            String key = keyColumn < 0 ? Long.toString(r) : String.valueOf(row.get(keyColumn));
            test[kept] = isTest(key, spec.split().seed(), spec.split().testFraction());
            tests += test[kept] ? 1 : 0;
            kept++;
        }
        int trains = kept - tests;
        if (trains < 2 || tests < 1) {
            throw new WatershedException(ErrorCode.INVALID_CONFIG, what + "the query returned " + rows.size() + " rows, " + kept
                    + " with a label, which split into " + trains + " training and " + tests + " test rows; a model needs at "
                    + "least 2 and 1 (more rows, or another test_fraction)");
        }
        double[] trainFeatures = new double[trains * width];
        double[] trainLabels = new double[trains];
        double[] testFeatures = new double[tests * width];
        double[] testLabels = new double[tests];
        int t = 0;
        int s = 0;
        for (int r = 0; r < kept; r++) {
            if (test[r]) {
                System.arraycopy(all, r * width, testFeatures, s * width, width);
                testLabels[s++] = labels[r];
            } else {
                System.arraycopy(all, r * width, trainFeatures, t * width, width);
                trainLabels[t++] = labels[r];
            }
        }
        return new TrainingSet(List.copyOf(features), trainFeatures, trainLabels, testFeatures, testLabels, unlabelled);
    }

    /**
     * Whether a row with this key is a test row: its key and the seed hashed (FNV-1a, then a 64-bit finalizer) to a
     * number in [0, 1), below the fraction. The same key falls on the same side in every training with the same seed.
     */
    static boolean isTest(String key, long seed, double fraction) {
        long h = 0xcbf29ce484222325L ^ seed;
        for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return (h >>> 11) * 0x1.0p-53 < fraction;
    }

    /** A feature row of a prediction request, in the model's feature order. */
    static double[] features(List<Feature> features, List<Map<String, Object>> rows, String what) {
        double[] matrix = new double[rows.size() * features.size()];
        for (int r = 0; r < rows.size(); r++) {
            Map<String, Object> row = rows.get(r);
            for (int f = 0; f < features.size(); f++) {
                String name = features.get(f).name();
                if (!row.containsKey(name)) {
                    throw new WatershedException(ErrorCode.INVALID_INPUT, what + "row " + (r + 1) + " has no '" + name
                            + "'; the model's features are " + features.stream().map(Feature::name).toList()
                            + " (send null for a missing value)");
                }
                Object value = row.get(name);
                matrix[r * features.size() + f] = value == null ? Double.NaN : number(value, "'" + name + "' in row " + (r + 1), what);
            }
        }
        return matrix;
    }

    private static double number(Object value, String where, String what) {
        if (value instanceof Number n) {
            return n.doubleValue();
        }
        if (value instanceof Boolean b) {
            return b ? 1 : 0;
        }
        throw new WatershedException(ErrorCode.INVALID_INPUT, what + where + " is " + quoted(value) + "; features are numbers "
                + "or booleans");
    }

    private static double label(MlSpec spec, Object value, int row, String what) {
        double y;
        if (value instanceof Number n) {
            y = n.doubleValue();
        } else if (value instanceof Boolean b) {
            y = b ? 1 : 0;
        } else {
            throw new WatershedException(ErrorCode.INVALID_CONFIG, what + "label '" + spec.label() + "' in row " + (row + 1) + " is "
                    + quoted(value) + "; a label is a number" + (spec.objective() == MlSpec.Objective.BINARY ? " (0 or 1) or a boolean" : ""));
        }
        if (spec.objective() == MlSpec.Objective.BINARY && y != 0 && y != 1) {
            throw new WatershedException(ErrorCode.INVALID_CONFIG, what + "label '" + spec.label() + "' in row " + (row + 1) + " is "
                    + value + "; a binary model's label is 0 or 1 (or false and true)");
        }
        if (Double.isNaN(y) || Double.isInfinite(y)) {
            throw new WatershedException(ErrorCode.INVALID_CONFIG, what + "label '" + spec.label() + "' in row " + (row + 1) + " is "
                    + y + "; a label is a finite number");
        }
        return y;
    }

    private static String quoted(Object value) {
        String text = String.valueOf(value);
        return "'" + (text.length() > 40 ? text.substring(0, 40) + "..." : text) + "'";
    }

    private static int column(List<String> columns, String name, String what, String role) {
        int index = columns.indexOf(name);
        if (index < 0) {
            throw new WatershedException(ErrorCode.INVALID_CONFIG, what + "the query returns no column '" + name + "' (the " + role
                    + "); its columns are " + columns);
        }
        return index;
    }
}
