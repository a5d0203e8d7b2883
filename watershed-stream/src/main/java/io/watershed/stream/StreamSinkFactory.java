package io.watershed.stream;

import io.watershed.spi.BusConnection;
import java.util.Map;
import java.util.Set;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.format.EncodingFormat;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.connector.sink.SinkV2Provider;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.factories.DynamicTableSinkFactory;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.factories.SerializationFormatFactory;
import org.apache.flink.table.types.DataType;

/**
 * The {@code watershed-stream} connector: a pipeline's {@code INSERT INTO streams.<name>}, written to
 * the stream's topic exactly once (see {@link StreamSink}). Rows are encoded by a Flink format
 * ({@code 'format' = 'json'} with its options), like the Kafka connector's.
 */
public final class StreamSinkFactory implements DynamicTableSinkFactory {
    static final String IDENTIFIER = "watershed-stream";
    static final ConfigOption<String> TOPIC = ConfigOptions.key("topic").stringType().noDefaultValue();
    static final ConfigOption<String> BOOTSTRAP = ConfigOptions.key("bootstrap-servers").stringType().noDefaultValue();
    /** The bus's security settings, as Kafka client properties with this prefix (as the Kafka connector takes them). */
    static final String PROPERTIES = "properties.";
    static final ConfigOption<Integer> REPLICATION_FACTOR = ConfigOptions.key("replication-factor").intType().defaultValue(0)
            .withDescription("Replicas of the sink's commit-records topic; 0 takes the cluster's default");
    static final ConfigOption<Integer> MIN_INSYNC_REPLICAS = ConfigOptions.key("min-insync-replicas").intType().defaultValue(0)
            .withDescription("min.insync.replicas of the sink's commit-records topic; 0 takes the cluster's default");
    static final ConfigOption<String> SINK_ID = ConfigOptions.key("sink-id").stringType().noDefaultValue()
            .withDescription("Names the sink's transactions and its commit records: unique per pipeline and stream");
    static final ConfigOption<String> RUN = ConfigOptions.key("run").stringType().noDefaultValue()
            .withDescription("Identifies one run of the pipeline from its first start until its state is reset");

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return Set.of(TOPIC, BOOTSTRAP, SINK_ID, RUN, FactoryUtil.FORMAT);
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return Set.of(REPLICATION_FACTOR, MIN_INSYNC_REPLICAS);
    }

    @Override
    public DynamicTableSink createDynamicTableSink(Context context) {
        FactoryUtil.TableFactoryHelper helper = FactoryUtil.createTableFactoryHelper(this, context);
        EncodingFormat<SerializationSchema<RowData>> format = helper.discoverEncodingFormat(SerializationFormatFactory.class,
                FactoryUtil.FORMAT);
        helper.validateExcept(PROPERTIES);
        Map<String, String> security = new java.util.HashMap<>();
        context.getCatalogTable().getOptions().forEach((key, value) -> {
            if (key.startsWith(PROPERTIES)) {
                security.put(key.substring(PROPERTIES.length()), value);
            }
        });
        return new TableSink(helper.getOptions().get(TOPIC), new BusConnection(helper.getOptions().get(BOOTSTRAP), security,
                        new BusConnection.Placement(helper.getOptions().get(REPLICATION_FACTOR), helper.getOptions().get(MIN_INSYNC_REPLICAS))),
                helper.getOptions().get(SINK_ID),
                helper.getOptions().get(RUN), format, context.getPhysicalRowDataType());
    }

    private record TableSink(String topic, BusConnection bus, String sinkId, String run,
            EncodingFormat<SerializationSchema<RowData>> format, DataType type) implements DynamicTableSink {
        @Override
        public ChangelogMode getChangelogMode(ChangelogMode requested) {
            // a stream is a log of events: appends only (an updating query goes to a live view or a lake table)
            return ChangelogMode.insertOnly();
        }

        @Override
        public SinkRuntimeProvider getSinkRuntimeProvider(Context context) {
            return SinkV2Provider.of(new StreamSink(topic, bus, sinkId, run, format.createRuntimeEncoder(context, type)));
        }

        @Override
        public DynamicTableSink copy() {
            return new TableSink(topic, bus, sinkId, run, format, type);
        }

        @Override
        public String asSummaryString() {
            return "Stream(" + topic + ")";
        }
    }
}
