package io.watershed.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.DeploymentOptions;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.Schema;
import org.apache.flink.table.api.Table;
import org.apache.flink.table.api.TableDescriptor;
import org.apache.flink.table.api.TableEnvironment;

/**
 * The peer of the speed-layer benchmark: one Nexmark query on a bare Flink MiniCluster in its own JVM,
 * configured as Watershed's (one task manager, 4 slots, 128 MB managed memory, checkpoints every
 * second, exactly once, jobs submitted over REST), reading the same Kafka topic with Flink's Kafka
 * connector and JSON format into a blackhole. Runs until killed; progress is the consumer group's
 * committed offsets, as for Watershed's pipeline.
 *
 * <p>Usage: {@code BareFlinkPeer BOOTSTRAP TOPIC GROUP QUERY WORKDIR}
 */
public final class BareFlinkPeer {
    public static void main(String[] args) {
        try {
            run(args);
        } catch (Throwable e) {
            e.printStackTrace();
            System.exit(1); // the MiniCluster's threads would keep the JVM alive
        }
    }

    private static void run(String[] args) throws Exception {
        String bootstrap = args[0];
        String topic = args[1];
        String group = args[2];
        String query = args[3];
        Path work = Path.of(args[4]);
        Files.createDirectories(work.resolve("tmp"));
        Configuration conf = new Configuration();
        conf.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
        conf.set(RestOptions.ADDRESS, "127.0.0.1");
        conf.set(RestOptions.PORT, 0);
        conf.set(CoreOptions.TMP_DIRS, work.resolve("tmp").toString());
        conf.set(TaskManagerOptions.MANAGED_MEMORY_SIZE, MemorySize.parse("128m"));
        MiniCluster cluster = new MiniCluster(new MiniClusterConfiguration.Builder().setConfiguration(conf)
                .setNumTaskManagers(1).setNumSlotsPerTaskManager(4).build());
        cluster.start();
        java.net.URI rest = cluster.getRestAddress().get();
        Configuration job = new Configuration();
        job.set(DeploymentOptions.TARGET, "remote");
        job.set(RestOptions.ADDRESS, rest.getHost());
        job.set(RestOptions.PORT, rest.getPort());
        job.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
        job.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, work.resolve("checkpoints").toUri().toString());
        job.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofSeconds(1));
        job.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
        job.setString("table.local-time-zone", "UTC");
        TableEnvironment env = TableEnvironment.create(EnvironmentSettings.newInstance().inStreamingMode().withConfiguration(job).build());
        env.executeSql("CREATE TABLE bid (" + Nexmark.BID_COLUMNS + ", WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '1' SECOND) WITH ("
                + "'connector' = 'kafka', 'topic' = '" + topic + "', 'properties.bootstrap.servers' = '" + bootstrap + "', "
                + "'properties.group.id' = '" + group + "', 'properties.isolation.level' = 'read_committed', "
                + "'scan.startup.mode' = 'earliest-offset', 'format' = 'json', 'json.timestamp-format.standard' = 'ISO-8601')");
        env.executeSql("CREATE TEMPORARY VIEW nexmark_result AS " + Nexmark.query(query, "bid"));
        Table result = env.from("nexmark_result");
        result.executeInsert(TableDescriptor.forConnector("blackhole")
                .schema(Schema.newBuilder().fromResolvedSchema(result.getResolvedSchema()).build()).build());
        System.out.println("peer job submitted");
        Thread.currentThread().join();
    }
}
