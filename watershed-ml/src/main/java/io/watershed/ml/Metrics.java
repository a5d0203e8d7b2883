package io.watershed.ml;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The metrics of a model measured on its test rows: rmse and mae for regression; auc (the area under the ROC curve,
 * ties counted half), logloss (with probabilities clipped to [1e-15, 1 - 1e-15]) and accuracy (at 0.5) for binary.
 */
public final class Metrics {
    private static final double EPSILON = 1e-15;

    private Metrics() {}

    /** Each of {@code names}, measured on the predictions against the labels. */
    public static Map<String, Double> measure(List<String> names, double[] labels, double[] predictions) {
        Map<String, Double> measured = new LinkedHashMap<>();
        for (String name : names) {
            measured.put(name, switch (name) {
                case "rmse" -> rmse(labels, predictions);
                case "mae" -> mae(labels, predictions);
                case "auc" -> auc(labels, predictions);
                case "logloss" -> logloss(labels, predictions);
                case "accuracy" -> accuracy(labels, predictions);
                default -> throw new IllegalArgumentException("unknown metric " + name);
            });
        }
        return measured;
    }

    public static double rmse(double[] labels, double[] predictions) {
        double sum = 0;
        for (int i = 0; i < labels.length; i++) {
            double d = predictions[i] - labels[i];
            sum += d * d;
        }
        return Math.sqrt(sum / labels.length);
    }

    public static double mae(double[] labels, double[] predictions) {
        double sum = 0;
        for (int i = 0; i < labels.length; i++) {
            sum += Math.abs(predictions[i] - labels[i]);
        }
        return sum / labels.length;
    }

    /** NaN when the labels are all of one class: the area is undefined then. */
    public static double auc(double[] labels, double[] predictions) {
        Integer[] order = new Integer[labels.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(predictions[a], predictions[b]));
        double positives = 0;
        double rankSum = 0;
        int i = 0;
        while (i < order.length) {
            int j = i;
            while (j + 1 < order.length && predictions[order[j + 1]] == predictions[order[i]]) {
                j++;
            }
            double rank = (i + j) / 2.0 + 1; // ties share the mean of their ranks
            for (int k = i; k <= j; k++) {
                if (labels[order[k]] > 0.5) {
                    positives++;
                    rankSum += rank;
                }
            }
            i = j + 1;
        }
        double negatives = labels.length - positives;
        if (positives == 0 || negatives == 0) {
            return Double.NaN;
        }
        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives);
    }

    public static double logloss(double[] labels, double[] predictions) {
        double sum = 0;
        for (int i = 0; i < labels.length; i++) {
            double p = Math.min(1 - EPSILON, Math.max(EPSILON, predictions[i]));
            sum += labels[i] > 0.5 ? -Math.log(p) : -Math.log(1 - p);
        }
        return sum / labels.length;
    }

    public static double accuracy(double[] labels, double[] predictions) {
        int right = 0;
        for (int i = 0; i < labels.length; i++) {
            if ((predictions[i] >= 0.5) == (labels[i] > 0.5)) {
                right++;
            }
        }
        return (double) right / labels.length;
    }
}
