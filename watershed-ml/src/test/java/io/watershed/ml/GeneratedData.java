package io.watershed.ml;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Rows with a known relationship between the features and the label, for training tests. */
final class GeneratedData {
    private GeneratedData() {}

    /** id, x1, x2, y with y = 3 x1 - 2 x2 + N(0, 0.1), x uniform in [-1, 1). */
    static List<List<Object>> linear(int rows, long seed) {
        Random random = new Random(seed);
        List<List<Object>> out = new ArrayList<>();
        for (long id = 0; id < rows; id++) {
            double x1 = random.nextDouble() * 2 - 1;
            double x2 = random.nextDouble() * 2 - 1;
            out.add(List.of(id, x1, x2, 3 * x1 - 2 * x2 + random.nextGaussian() * 0.1));
        }
        return out;
    }

    /** id, x1, x2, y with y = 1 when x1 - 0.5 x2 + N(0, 0.2) is above 0, else 0 (x uniform in [-1, 1)). */
    static List<List<Object>> logistic(int rows, long seed) {
        Random random = new Random(seed);
        List<List<Object>> out = new ArrayList<>();
        for (long id = 0; id < rows; id++) {
            double x1 = random.nextDouble() * 2 - 1;
            double x2 = random.nextDouble() * 2 - 1;
            out.add(List.of(id, x1, x2, x1 - 0.5 * x2 + random.nextGaussian() * 0.2 > 0 ? 1L : 0L));
        }
        return out;
    }
}
