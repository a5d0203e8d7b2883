package io.watershed.stream;

import io.watershed.spi.SinkSpec;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.api.Schema;
import org.apache.flink.table.api.TableDescriptor;
import org.apache.flink.table.data.RowData;

/**
 * The {@code watershed-cassandra} connector: a pipeline's {@code INSERT INTO sinks.<name>} for a {@code cassandra} sink,
 * written by {@link CassandraSink}.
 */
public final class CassandraSinkFactory extends BufferedSinkFactory {
    static final String IDENTIFIER = "watershed-cassandra";
    static final ConfigOption<List<String>> CONTACT_POINTS = ConfigOptions.key("contact-points").stringType().asList().noDefaultValue();
    static final ConfigOption<String> LOCAL_DATACENTER = ConfigOptions.key("local-datacenter").stringType().noDefaultValue();
    static final ConfigOption<String> KEYSPACE = ConfigOptions.key("keyspace").stringType().noDefaultValue();
    static final ConfigOption<List<String>> PARTITION_KEY = ConfigOptions.key("partition-key").stringType().asList().noDefaultValue();
    static final ConfigOption<Duration> TTL = ConfigOptions.key("ttl").durationType().defaultValue(Duration.ZERO);
    static final ConfigOption<String> CONSISTENCY = ConfigOptions.key("consistency").stringType()
            .defaultValue(SinkSpec.Cassandra.DEFAULT_CONSISTENCY);
    static final ConfigOption<String> USER = ConfigOptions.key("user").stringType().defaultValue("");
    static final ConfigOption<Integer> REPLICATION_FACTOR = ConfigOptions.key("replication-factor").intType().defaultValue(1);
    static final ConfigOption<Integer> MAX_IN_FLIGHT = ConfigOptions.key("max-in-flight").intType()
            .defaultValue(SinkSpec.Cassandra.DEFAULT_MAX_IN_FLIGHT);

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    /** {@code sinks.<name>} of a cassandra sink with those columns. */
    static TableDescriptor descriptor(SinkSpec.Cassandra spec, Schema columns, String countedAs) {
        return descriptor(IDENTIFIER, columns, spec, countedAs, spec.password().reveal())
                .option(CONTACT_POINTS, spec.contactPoints())
                .option(LOCAL_DATACENTER, spec.localDatacenter())
                .option(KEYSPACE, spec.keyspace())
                .option(TABLE, spec.table())
                .option(PARTITION_KEY, spec.partitionKey())
                .option(TTL, spec.ttl().orElse(Duration.ZERO))
                .option(CONSISTENCY, spec.consistency())
                .option(USER, spec.user())
                .option(REPLICATION_FACTOR, spec.replicationFactor())
                .option(MAX_IN_FLIGHT, spec.maxInFlight())
                .build();
    }

    @Override
    Set<ConfigOption<?>> storeOptions() {
        return Set.of(CONTACT_POINTS, LOCAL_DATACENTER, KEYSPACE, PARTITION_KEY);
    }

    @Override
    Set<ConfigOption<?>> optionalStoreOptions() {
        return Set.of(TTL, CONSISTENCY, USER, REPLICATION_FACTOR, MAX_IN_FLIGHT);
    }

    @Override
    Sink<RowData> sink(SinkShape shape, ReadableConfig options) {
        return new CassandraSink(new CassandraSink.Target(shape, options.get(CONTACT_POINTS), options.get(LOCAL_DATACENTER),
                options.get(KEYSPACE), options.get(TABLE), options.get(PARTITION_KEY), options.get(TTL).toSeconds(),
                options.get(CONSISTENCY), options.get(USER), options.get(PASSWORD), options.get(REPLICATION_FACTOR),
                options.get(MAX_IN_FLIGHT)));
    }

    @Override
    String summary(ReadableConfig options) {
        return "Cassandra(" + options.get(SINK) + ": " + options.get(KEYSPACE) + "." + options.get(TABLE) + " at "
                + options.get(CONTACT_POINTS) + ")";
    }
}
