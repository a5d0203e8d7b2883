package io.watershed.stream;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.flink.api.common.functions.util.ListCollector;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.formats.json.JsonFormatFactory;
import org.apache.flink.formats.json.JsonFormatOptions;
import org.apache.flink.metrics.Counter;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.format.DecodingFormat;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.factories.DeserializationFormatFactory;
import org.apache.flink.table.factories.DynamicTableFactory;
import org.apache.flink.table.types.DataType;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code watershed-json} format: Flink's JSON format that skips (and counts, and logs) a record it
 * cannot read, and nothing else. Flink's own {@code json.ignore-parse-errors} catches every exception
 * thrown while it hands the row on, and with operator chaining that includes the pipeline's own
 * operators: a division by zero or a failing function in the query would silently drop the record
 * instead of failing the job. Here the row is read into a buffer first, and only reading is guarded.
 */
public final class GuardedJsonFormatFactory implements DeserializationFormatFactory {
    static final String IDENTIFIER = "watershed-json";
    private static final Logger LOG = LoggerFactory.getLogger(GuardedJsonFormatFactory.class);
    private final JsonFormatFactory json = new JsonFormatFactory();
    /** The key the reading pipeline's unreadable records are counted under, {@code runner/pipeline} ({@link UnreadableRecords}). */
    static final ConfigOption<String> PIPELINE = org.apache.flink.configuration.ConfigOptions.key("pipeline").stringType()
            .noDefaultValue();

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return json.requiredOptions();
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        Set<ConfigOption<?>> options = new java.util.HashSet<>(json.optionalOptions());
        options.add(PIPELINE);
        return options;
    }

    @Override
    @SuppressWarnings({"unchecked", "rawtypes"})
    public DecodingFormat<DeserializationSchema<RowData>> createDecodingFormat(DynamicTableFactory.Context context,
            ReadableConfig formatOptions) {
        Configuration options = new Configuration();
        for (ConfigOption option : json.optionalOptions()) {
            formatOptions.getOptional(option).ifPresent(value -> options.set(option, value));
        }
        options.set(JsonFormatOptions.IGNORE_PARSE_ERRORS, false);
        DecodingFormat<DeserializationSchema<RowData>> decoding = json.createDecodingFormat(context, options);
        String table = context.getObjectIdentifier().getObjectName();
        String pipeline = formatOptions.getOptional(PIPELINE).orElse("");
        return new DecodingFormat<>() {
            @Override
            public DeserializationSchema<RowData> createRuntimeDecoder(DynamicTableSource.Context source, DataType type) {
                return new Guarded(decoding.createRuntimeDecoder(source, type), table, pipeline);
            }

            @Override
            public ChangelogMode getChangelogMode() {
                return decoding.getChangelogMode();
            }
        };
    }

    private static final class Guarded implements DeserializationSchema<RowData> {
        private static final long serialVersionUID = 1L;
        private final DeserializationSchema<RowData> json;
        private final String stream;
        private final String pipeline;
        private transient Counter unreadable;

        Guarded(DeserializationSchema<RowData> json, String stream, String pipeline) {
            this.json = json;
            this.stream = stream;
            this.pipeline = pipeline;
        }

        @Override
        public void open(InitializationContext context) throws Exception {
            json.open(context);
            unreadable = context.getMetricGroup().counter("watershedUnreadableRecords");
        }

        @Override
        public RowData deserialize(byte[] message) throws IOException {
            List<RowData> rows = new ArrayList<>(1);
            deserialize(message, new ListCollector<>(rows));
            return rows.isEmpty() ? null : rows.get(0);
        }

        @Override
        public void deserialize(byte[] message, Collector<RowData> out) {
            List<RowData> rows = new ArrayList<>(1);
            try {
                json.deserialize(message, new ListCollector<>(rows));
            } catch (IOException | RuntimeException e) {
                // the raw table keeps the record in full, and its dead-letter table says why it does not fit
                UnreadableRecords.record(pipeline);
                long count = 1;
                if (unreadable != null) {
                    unreadable.inc();
                    count = unreadable.getCount();
                }
                if (count <= 10 || Long.bitCount(count) == 1) {
                    LOG.warn("Pipeline '{}' skips record {} of stream '{}' that does not fit its columns (the raw table keeps it): {}",
                            pipeline.substring(pipeline.indexOf('/') + 1), count, stream,
                            e.getCause() == null ? e.getMessage() : e.getCause().getMessage());
                }
                return;
            }
            for (RowData row : rows) {
                out.collect(row);
            }
        }

        @Override
        public boolean isEndOfStream(RowData next) {
            return false;
        }

        @Override
        public TypeInformation<RowData> getProducedType() {
            return json.getProducedType();
        }
    }
}
