package io.watershed.stream;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.table.catalog.Column;
import org.apache.flink.table.catalog.ResolvedSchema;
import org.apache.flink.table.catalog.UniqueConstraint;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.sink.DynamicTableSink;
import org.apache.flink.table.connector.sink.SinkV2Provider;
import org.apache.flink.table.factories.DynamicTableSinkFactory;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.types.RowKind;

/**
 * The {@code watershed-jdbc} connector: a pipeline's {@code INSERT INTO sinks.<name>} for a {@code jdbc} sink, written by
 * {@link JdbcSink}. A table with a primary key takes an updating query's changes (upserts and deletes by the key); one
 * without takes appends only.
 */
public final class JdbcSinkFactory implements DynamicTableSinkFactory {
    static final String IDENTIFIER = "watershed-jdbc";
    static final ConfigOption<String> SINK = ConfigOptions.key("sink").stringType().noDefaultValue();
    /** The key its writes are counted under ({@link SinkStatistics}); the sink's name unless given. */
    static final ConfigOption<String> COUNTED_AS = ConfigOptions.key("counted-as").stringType().noDefaultValue();
    static final ConfigOption<String> URL = ConfigOptions.key("url").stringType().noDefaultValue();
    static final ConfigOption<String> USER = ConfigOptions.key("user").stringType().noDefaultValue();
    /** Flink masks options whose key contains "password" wherever it prints them. */
    static final ConfigOption<String> PASSWORD = ConfigOptions.key("password").stringType().defaultValue("");
    static final ConfigOption<String> TABLE = ConfigOptions.key("table").stringType().noDefaultValue();
    static final ConfigOption<Integer> BATCH_SIZE = ConfigOptions.key("batch-size").intType().defaultValue(1000);
    static final ConfigOption<Duration> FLUSH_INTERVAL = ConfigOptions.key("flush-interval").durationType()
            .defaultValue(Duration.ofSeconds(1));
    /** Set on the table that takes the rows the sink cannot (a NULL key): each change goes to the dead letters with it. */
    static final ConfigOption<String> DEAD_LETTER_REASON = ConfigOptions.key("dead-letter-reason").stringType().defaultValue("");

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return Set.of(SINK, URL, USER, TABLE);
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return Set.of(PASSWORD, BATCH_SIZE, FLUSH_INTERVAL, COUNTED_AS, DEAD_LETTER_REASON);
    }

    @Override
    public DynamicTableSink createDynamicTableSink(Context context) {
        FactoryUtil.TableFactoryHelper helper = FactoryUtil.createTableFactoryHelper(this, context);
        helper.validate();
        ResolvedSchema schema = context.getCatalogTable().getResolvedSchema();
        List<String> columns = schema.getColumns().stream().filter(Column::isPhysical).map(Column::getName).toList();
        List<LogicalType> types = schema.getColumns().stream().filter(Column::isPhysical)
                .map(c -> c.getDataType().getLogicalType()).toList();
        List<String> key = schema.getPrimaryKey().map(UniqueConstraint::getColumns).orElse(List.of());
        String url = helper.getOptions().get(URL);
        String sink = helper.getOptions().get(SINK);
        return new TableSink(new JdbcSink.Target(sink, helper.getOptions().getOptional(COUNTED_AS).orElse(sink), url, url.replaceFirst("\\?.*", ""),
                helper.getOptions().get(USER), helper.getOptions().get(PASSWORD), helper.getOptions().get(TABLE), columns, types,
                key, helper.getOptions().get(BATCH_SIZE), helper.getOptions().get(FLUSH_INTERVAL).toMillis(),
                helper.getOptions().get(DEAD_LETTER_REASON)));
    }

    private record TableSink(JdbcSink.Target target) implements DynamicTableSink {
        @Override
        public ChangelogMode getChangelogMode(ChangelogMode requested) {
            if (!target.deadLetterReason().isEmpty()) {
                return ChangelogMode.all(); // every change of the rows it cannot write is a dead letter
            }
            if (target.key().isEmpty()) {
                return ChangelogMode.insertOnly();
            }
            return ChangelogMode.newBuilder().addContainedKind(RowKind.INSERT).addContainedKind(RowKind.UPDATE_AFTER)
                    .addContainedKind(RowKind.DELETE).build();
        }

        @Override
        public SinkRuntimeProvider getSinkRuntimeProvider(Context context) {
            return SinkV2Provider.of(new JdbcSink(target));
        }

        @Override
        public DynamicTableSink copy() {
            return new TableSink(target);
        }

        @Override
        public String asSummaryString() {
            return "Jdbc(" + target.sink() + ": " + target.table() + " at " + target.shownUrl() + ")";
        }
    }
}
