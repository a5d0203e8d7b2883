package io.watershed.ml;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * One trained version of an ml model, as the registry keeps it.
 *
 * @param version 1 for the first training of the model, then one more for each
 * @param stage {@link #CANDIDATE} when trained, {@link #PRODUCTION} once promoted, {@link #ARCHIVED} when another took its place
 * @param parameters every parameter the algorithm was trained with, defaults included
 * @param metrics measured on the test rows, in the order the file lists them
 * @param trainingRows the rows it was fitted on
 * @param testRows the held-out rows its metrics were measured on
 * @param features its input columns in order, with their SQL types
 * @param snapshots the snapshot id of each lake table the training query read, {@code schema.table}
 * @param artifact where its model file is, relative to the data directory
 * @param sha256 the model file's SHA-256, checked when it is loaded
 * @param sql the training query it was trained with
 */
public record ModelVersion(String model, int version, String stage, Instant createdAt, Instant stageChangedAt, String algorithm,
        String objective, Map<String, String> parameters, Map<String, Double> metrics, long trainingRows, long testRows,
        List<Feature> features, String label, Map<String, Long> snapshots, String artifact, String sha256, long trainingMillis,
        String sql) {
    public static final String CANDIDATE = "candidate";
    public static final String PRODUCTION = "production";
    public static final String ARCHIVED = "archived";

    public ModelVersion {
        features = List.copyOf(features);
    }
}
