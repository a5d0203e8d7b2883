package io.watershed.stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobID;
import org.apache.flink.runtime.executiongraph.ErrorInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.DeploymentOptions;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.api.config.TableConfigOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Flink MiniCluster in this JVM. Jobs are submitted to it over its REST endpoint on 127.0.0.1,
 * the same way they would go to a Flink session cluster.
 */
final class FlinkRuntime implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FlinkRuntime.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final MiniCluster cluster;
    private final URI restAddress;
    private final Path checkpoints;
    private final java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final Duration BACKPRESSURE_KEPT = Duration.ofSeconds(5);
    private final java.util.Map<JobID, Sampled> backpressure = new java.util.concurrent.ConcurrentHashMap<>();

    FlinkRuntime(Path directory, int slots) throws Exception {
        this.checkpoints = directory.resolve("checkpoints").toAbsolutePath();
        Path tmp = directory.resolve("tmp").toAbsolutePath();
        Files.createDirectories(checkpoints);
        Files.createDirectories(tmp);
        Configuration conf = new Configuration();
        conf.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
        conf.set(RestOptions.ADDRESS, "127.0.0.1");
        conf.set(RestOptions.PORT, 0);
        conf.set(CoreOptions.TMP_DIRS, tmp.toString());
        conf.set(TaskManagerOptions.MANAGED_MEMORY_SIZE, MemorySize.parse("128m"));
        long t0 = System.nanoTime();
        this.cluster = new MiniCluster(new MiniClusterConfiguration.Builder()
                .setConfiguration(conf)
                .setNumTaskManagers(1)
                .setNumSlotsPerTaskManager(slots)
                .build());
        cluster.start();
        this.restAddress = cluster.getRestAddress().get();
        LOG.info("Flink MiniCluster up in {} ms, REST at {}", (System.nanoTime() - t0) / 1_000_000, restAddress);
    }

    Path checkpoints() {
        return checkpoints;
    }

    /** A streaming table environment whose jobs run on this cluster. */
    TableEnvironment tableEnvironment(Configuration jobConfiguration) {
        Configuration conf = new Configuration(jobConfiguration);
        conf.set(DeploymentOptions.TARGET, "remote");
        conf.set(RestOptions.ADDRESS, restAddress.getHost());
        conf.set(RestOptions.PORT, restAddress.getPort());
        conf.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
        // results must not depend on the machine's zone: TIMESTAMP values (window_start...) are in UTC unless a pipeline SETs another
        if (!jobConfiguration.containsKey(TableConfigOptions.LOCAL_TIME_ZONE.key())) {
            conf.set(TableConfigOptions.LOCAL_TIME_ZONE, "UTC");
        }
        return TableEnvironment.create(EnvironmentSettings.newInstance().inStreamingMode().withConfiguration(conf).build());
    }

    /** A batch table environment whose jobs run on this cluster (model builds). */
    TableEnvironment batchEnvironment(Configuration jobConfiguration) {
        Configuration conf = new Configuration(jobConfiguration);
        conf.set(DeploymentOptions.TARGET, "remote");
        conf.set(RestOptions.ADDRESS, restAddress.getHost());
        conf.set(RestOptions.PORT, restAddress.getPort());
        if (!jobConfiguration.containsKey(TableConfigOptions.LOCAL_TIME_ZONE.key())) {
            conf.set(TableConfigOptions.LOCAL_TIME_ZONE, "UTC");
        }
        return TableEnvironment.create(EnvironmentSettings.newInstance().inBatchMode().withConfiguration(conf).build());
    }

    /** How often the job restarted after a failure (Flink's numRestarts), 0 when unknown. */
    long restarts(JobID job) {
        try {
            return rest("/jobs/" + job + "/metrics?get=numRestarts").path(0).path("value").asLong(0); // [{"id":…,"value":"3"}]
        } catch (Exception e) {
            LOG.debug("Cannot read the restarts of job {}: {}", job, e.toString());
            return 0;
        }
    }

    /**
     * The job's backpressure as Flink's web UI shows it: the largest share of time (0 to 1) any subtask of any of its
     * vertices spent waiting for room in its output, from Flink's backPressuredTimeMsPerSecond; empty while Flink has no
     * sample yet (its metric fetcher samples every 10 s) or cannot be asked. Kept for 5 s, as every status poll asks.
     */
    Optional<Double> backpressure(JobID job) {
        long now = System.nanoTime();
        Sampled last = backpressure.get(job);
        if (last != null && now - last.atNanos() < BACKPRESSURE_KEPT.toNanos()) {
            return last.ratio();
        }
        Optional<Double> ratio = sampleBackpressure(job);
        backpressure.entrySet().removeIf(e -> now - e.getValue().atNanos() > Duration.ofMinutes(1).toNanos()); // jobs gone
        backpressure.put(job, new Sampled(ratio, now));
        return ratio;
    }

    private record Sampled(Optional<Double> ratio, long atNanos) {}

    private Optional<Double> sampleBackpressure(JobID job) {
        try {
            double highest = -1;
            for (JsonNode vertex : rest("/jobs/" + job).path("vertices")) {
                JsonNode sample = rest("/jobs/" + job + "/vertices/" + vertex.path("id").asText() + "/backpressure");
                if (!sample.path("status").asText().equals("ok")) {
                    continue;
                }
                for (JsonNode subtask : sample.path("subtasks")) {
                    highest = Math.max(highest, subtask.path("ratio").asDouble(0));
                }
            }
            return highest < 0 ? Optional.empty() : Optional.of(highest);
        } catch (Exception e) {
            LOG.debug("Cannot read the backpressure of job {}: {}", job, e.toString());
            return Optional.empty();
        }
    }

    private JsonNode rest(String path) throws java.io.IOException, InterruptedException {
        java.net.http.HttpResponse<String> response = http.send(java.net.http.HttpRequest.newBuilder(restAddress.resolve(path))
                .timeout(Duration.ofSeconds(5)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new java.io.IOException("Flink's REST answered " + response.statusCode() + " to " + path);
        }
        return JSON.readTree(response.body());
    }

    /** Checkpoints the job completed since it started, or -1 when unknown. */
    long completedCheckpoints(JobID job) {
        try {
            return cluster.getExecutionGraph(job).get(5, TimeUnit.SECONDS).getCheckpointStatsSnapshot().getCounts()
                    .getNumberOfCompletedCheckpoints();
        } catch (Exception e) {
            return -1;
        }
    }

    /** The job's latest failure in full (class names, messages, stack), if it failed since it started. */
    Optional<String> lastFailureDetail(JobID job) {
        try {
            ErrorInfo failure = cluster.getExecutionGraph(job).get(5, TimeUnit.SECONDS).getFailureInfo();
            return failure == null ? Optional.empty() : Optional.of(failure.getExceptionAsString());
        } catch (Exception e) {
            return Optional.empty();
        }
    }

    /** The root cause of the job's latest failure, if it failed since it started. */
    Optional<String> lastFailure(JobID job) {
        try {
            ErrorInfo failure = cluster.getExecutionGraph(job).get(5, TimeUnit.SECONDS).getFailureInfo();
            if (failure == null) {
                return Optional.empty();
            }
            Throwable root = failure.getException();
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            String message = root.getMessage() == null ? root.toString() : root.getMessage().strip();
            return Optional.of(message.lines().findFirst().orElse(message));
        } catch (Exception e) {
            LOG.debug("Cannot read the failure of job {}: {}", job, e.toString());
            return Optional.empty();
        }
    }

    @Override
    public void close() throws Exception {
        cluster.close();
    }
}
