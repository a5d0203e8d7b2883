package io.watershed.stream;

import java.net.URI;
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

    private final MiniCluster cluster;
    private final URI restAddress;
    private final Path checkpoints;

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

    @Override
    public void close() throws Exception {
        cluster.close();
    }
}
