package io.watershed.stream;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.connector.sink.SinkV2Provider;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.factories.DynamicTableSinkFactory;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.types.logical.RowType;

/**
 * The {@code watershed-live} connector: the sink of a {@code CREATE LIVE VIEW}. It takes the query's
 * whole changelog (inserts, updates before and after, deletes) into the view's multiset in this JVM
 * and checkpoints it, so after a failure the view starts again from the
 * checkpoint and the replayed changes bring it back to exactly the query's result.
 */
public final class LiveViewTableFactory implements DynamicTableSinkFactory {
    static final String IDENTIFIER = "watershed-live";
    static final ConfigOption<String> RUNNER = ConfigOptions.key("runner").stringType().noDefaultValue();
    static final ConfigOption<String> VIEW = ConfigOptions.key("view").stringType().noDefaultValue();

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return Set.of(RUNNER, VIEW);
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return Set.of();
    }

    @Override
    public DynamicTableSink createDynamicTableSink(Context context) {
        FactoryUtil.TableFactoryHelper helper = FactoryUtil.createTableFactoryHelper(this, context);
        helper.validate();
        return new TableSink(helper.getOptions().get(RUNNER), helper.getOptions().get(VIEW),
                (RowType) context.getPhysicalRowDataType().getLogicalType());
    }

    private record TableSink(String runner, String view, RowType type) implements DynamicTableSink {
        @Override
        public ChangelogMode getChangelogMode(ChangelogMode requested) {
            return ChangelogMode.all();
        }

        @Override
        public SinkRuntimeProvider getSinkRuntimeProvider(Context context) {
            // at the input's parallelism, forwarded: a configured parallelism would make the planner ask for a primary key
            return SinkV2Provider.of(new ViewSink(runner, view, type));
        }

        @Override
        public DynamicTableSink copy() {
            return new TableSink(runner, view, type);
        }

        @Override
        public String asSummaryString() {
            return "LiveView(" + view + ")";
        }
    }

    private record ViewSink(String runner, String view, RowType type) implements Sink<RowData>, SupportsWriterState<RowData, byte[]> {
        @Override
        public SinkWriter<RowData> createWriter(WriterInitContext context) throws IOException {
            return restoreWriter(context, List.of());
        }

        @Override
        public StatefulSinkWriter<RowData, byte[]> restoreWriter(WriterInitContext context, Collection<byte[]> states)
                throws IOException {
            LiveView live = LiveViews.find(runner, view);
            int subtask = context.getTaskInfo().getIndexOfThisSubtask();
            live.reset(subtask, new ArrayList<>(states));
            return new Writer(live, subtask);
        }

        @Override
        public SimpleVersionedSerializer<byte[]> getWriterStateSerializer() {
            return new Bytes();
        }
    }

    private record Writer(LiveView view, int subtask) implements StatefulSinkWriter<RowData, byte[]> {
        @Override
        public void write(RowData change, Context context) throws IOException {
            view.apply(subtask, change);
        }

        @Override
        public void flush(boolean endOfInput) {}

        @Override
        public List<byte[]> snapshotState(long checkpointId) throws IOException {
            return List.of(view.snapshot(subtask));
        }

        @Override
        public void close() {}
    }

    /** The view's state is already bytes (rows in Flink's binary row format with their counts). */
    private static final class Bytes implements SimpleVersionedSerializer<byte[]> {
        @Override
        public int getVersion() {
            return 1;
        }

        @Override
        public byte[] serialize(byte[] state) {
            return state;
        }

        @Override
        public byte[] deserialize(int version, byte[] serialized) throws IOException {
            if (version != 1) {
                throw new IOException("Cannot read live view state of version " + version + "; this build reads version 1");
            }
            return serialized;
        }
    }
}
