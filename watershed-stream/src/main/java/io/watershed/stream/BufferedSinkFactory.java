package io.watershed.stream;

import io.watershed.spi.SinkSpec;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.api.Schema;
import org.apache.flink.table.api.TableDescriptor;
import org.apache.flink.table.catalog.Column;
import org.apache.flink.table.catalog.ResolvedSchema;
import org.apache.flink.table.catalog.UniqueConstraint;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.connector.sink.SinkV2Provider;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.factories.DynamicTableSinkFactory;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.types.RowKind;

/**
 * The connector of one type of sink to an outside store, written by a {@link BufferedSinkWriter}: the options every such
 * sink takes (its name, counting key, table, password, batch size and flush interval), the query's columns and key as
 * its {@link SinkShape}, and the changes it takes: a table with a primary key takes an updating query's changes (upserts
 * and deletes by the key), one without appends only.
 */
abstract class BufferedSinkFactory implements DynamicTableSinkFactory {
    static final ConfigOption<String> SINK = ConfigOptions.key("sink").stringType().noDefaultValue();
    /** The key its writes are counted under ({@link SinkStatistics}); the sink's name unless given. */
    static final ConfigOption<String> COUNTED_AS = ConfigOptions.key("counted-as").stringType().noDefaultValue();
    /** Flink masks options whose key contains "password" wherever it prints them. */
    static final ConfigOption<String> PASSWORD = ConfigOptions.key("password").stringType().defaultValue("");
    static final ConfigOption<String> TABLE = ConfigOptions.key("table").stringType().noDefaultValue();
    static final ConfigOption<Integer> BATCH_SIZE = ConfigOptions.key("batch-size").intType().defaultValue(SinkSpec.DEFAULT_BATCH_SIZE);
    static final ConfigOption<Duration> FLUSH_INTERVAL = ConfigOptions.key("flush-interval").durationType()
            .defaultValue(SinkSpec.DEFAULT_FLUSH_INTERVAL);
    /** Set on the table that takes the rows a sink cannot write (a NULL key): each change is a dead letter with it. */
    static final ConfigOption<String> DEAD_LETTER_REASON = ConfigOptions.key("dead-letter-reason").stringType().defaultValue("");

    /** The options only this type of sink takes, and needs. */
    abstract Set<ConfigOption<?>> storeOptions();

    /** The options only this type of sink takes, and may go without. */
    Set<ConfigOption<?>> optionalStoreOptions() {
        return Set.of();
    }

    /** The sink that writes rows of that shape as the options say. */
    abstract Sink<RowData> sink(SinkShape shape, ReadableConfig options);

    /** The target in a few words, for Flink's plan (no credentials). */
    abstract String summary(ReadableConfig options);

    /**
     * The table of a sink's columns (the key as its primary key) on its connector, with the options every sink takes;
     * the caller adds the store's own.
     */
    static TableDescriptor.Builder descriptor(String connector, Schema columns, SinkSpec spec, String countedAs, String password) {
        return TableDescriptor.forConnector(connector).schema(columns)
                .option(SINK, spec.name())
                .option(COUNTED_AS, countedAs)
                .option(PASSWORD, password)
                .option(BATCH_SIZE, spec.batchSize())
                .option(FLUSH_INTERVAL, spec.flushInterval());
    }

    @Override
    public final Set<ConfigOption<?>> requiredOptions() {
        Set<ConfigOption<?>> options = new HashSet<>(storeOptions());
        options.addAll(Set.of(SINK, TABLE));
        return options;
    }

    @Override
    public final Set<ConfigOption<?>> optionalOptions() {
        Set<ConfigOption<?>> options = new HashSet<>(optionalStoreOptions());
        options.addAll(Set.of(PASSWORD, BATCH_SIZE, FLUSH_INTERVAL, COUNTED_AS, DEAD_LETTER_REASON));
        return options;
    }

    @Override
    public final DynamicTableSink createDynamicTableSink(Context context) {
        FactoryUtil.TableFactoryHelper helper = FactoryUtil.createTableFactoryHelper(this, context);
        helper.validate();
        ResolvedSchema schema = context.getCatalogTable().getResolvedSchema();
        List<String> columns = schema.getColumns().stream().filter(Column::isPhysical).map(Column::getName).toList();
        List<LogicalType> types = schema.getColumns().stream().filter(Column::isPhysical)
                .map(c -> c.getDataType().getLogicalType()).toList();
        List<String> key = schema.getPrimaryKey().map(UniqueConstraint::getColumns).orElse(List.of());
        ReadableConfig options = helper.getOptions();
        String sink = options.get(SINK);
        SinkShape shape = new SinkShape(sink, options.getOptional(COUNTED_AS).orElse(sink), columns, types, key,
                options.get(BATCH_SIZE), options.get(FLUSH_INTERVAL).toMillis(), options.get(DEAD_LETTER_REASON));
        return new TableSink(sink(shape, options), !key.isEmpty(), shape.deadLetters(), summary(options));
    }

    private record TableSink(Sink<RowData> sink, boolean keyed, boolean deadLetters, String summary) implements DynamicTableSink {
        @Override
        public ChangelogMode getChangelogMode(ChangelogMode requested) {
            if (deadLetters) {
                return ChangelogMode.all(); // every change of the rows it cannot write is a dead letter
            }
            if (!keyed) {
                return ChangelogMode.insertOnly();
            }
            return ChangelogMode.newBuilder().addContainedKind(RowKind.INSERT).addContainedKind(RowKind.UPDATE_AFTER)
                    .addContainedKind(RowKind.DELETE).build();
        }

        @Override
        public SinkRuntimeProvider getSinkRuntimeProvider(Context context) {
            return SinkV2Provider.of(sink);
        }

        @Override
        public DynamicTableSink copy() {
            return new TableSink(sink, keyed, deadLetters, summary);
        }

        @Override
        public String asSummaryString() {
            return summary;
        }
    }
}
