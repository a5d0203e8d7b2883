package io.watershed.stream;

import io.watershed.spi.SinkSpec;
import java.util.Set;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.api.Schema;
import org.apache.flink.table.api.TableDescriptor;
import org.apache.flink.table.data.RowData;

/**
 * The {@code watershed-jdbc} connector: a pipeline's {@code INSERT INTO sinks.<name>} for a {@code jdbc} sink, written by
 * {@link JdbcSink}.
 */
public final class JdbcSinkFactory extends BufferedSinkFactory {
    static final String IDENTIFIER = "watershed-jdbc";
    static final ConfigOption<String> URL = ConfigOptions.key("url").stringType().noDefaultValue();
    static final ConfigOption<String> USER = ConfigOptions.key("user").stringType().noDefaultValue();

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    /** {@code sinks.<name>} of a jdbc sink with those columns. */
    static TableDescriptor descriptor(SinkSpec.Jdbc spec, Schema columns, String countedAs) {
        return descriptor(IDENTIFIER, columns, spec, countedAs, spec.password().reveal())
                .option(URL, spec.url())
                .option(USER, spec.user())
                .option(TABLE, spec.table())
                .build();
    }

    @Override
    Set<ConfigOption<?>> storeOptions() {
        return Set.of(URL, USER);
    }

    @Override
    Sink<RowData> sink(SinkShape shape, ReadableConfig options) {
        String url = options.get(URL);
        return new JdbcSink(new JdbcSink.Target(shape, url, shownUrl(url), options.get(USER), options.get(PASSWORD), options.get(TABLE)));
    }

    @Override
    String summary(ReadableConfig options) {
        return "Jdbc(" + options.get(SINK) + ": " + options.get(TABLE) + " at " + shownUrl(options.get(URL)) + ")";
    }

    private static String shownUrl(String url) {
        return url.replaceFirst("\\?.*", "");
    }
}
