package io.watershed.spi;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * An external store a pipeline writes with {@code INSERT INTO sinks.<name>}, declared once in
 * {@code sinks/<name>.yaml} with its connection and key.
 */
public sealed interface SinkSpec permits SinkSpec.Jdbc, SinkSpec.Cassandra {

    /** The file's name without {@code .yaml}; the same rule as stream names. */
    String name();

    /** {@code jdbc} or {@code cassandra}. */
    String type();

    /** The columns a row is kept by: an updating query's rows are upserted and deleted by them; empty: rows are appended. */
    List<String> key();

    /** Rows a writer buffers at most before it writes them (it blocks, and so holds its input back, meanwhile). */
    int batchSize();

    /** How long a buffered row waits at most before it is written. */
    Duration flushInterval();

    /** {@code file:line:col} of its declaration. */
    String location();

    /**
     * A table of PostgreSQL, MySQL or MariaDB, written over JDBC. Each checkpoint's rows go in one transaction: with a key,
     * as upserts and deletes by the key (replayed after a crash they leave the same table, so the effect is exactly
     * once); without one, as inserts (a replay after a crash inserts again: at least once).
     *
     * @param url a {@code jdbc:postgresql:}, {@code jdbc:mysql:} or {@code jdbc:mariadb:} URL
     * @param table the target table ({@code schema.table} or {@code table}); created from the query's columns if missing
     * @param batchSize rows a writer buffers at most before it writes them (it blocks, and so holds its input back, meanwhile)
     * @param flushInterval how long a buffered row waits at most before it is written
     */
    record Jdbc(String name, String url, String user, Secret password, String table, List<String> key, int batchSize,
            Duration flushInterval, String location) implements SinkSpec {
        public Jdbc {
            key = List.copyOf(key);
        }

        @Override
        public String type() {
            return "jdbc";
        }

        /** {@code postgresql}, {@code mysql} or {@code mariadb}: the URL's subprotocol. */
        public String dialect() {
            return url.substring("jdbc:".length(), url.indexOf(':', "jdbc:".length()));
        }

        /** The URL without its query string (where a password could be), for messages. */
        public String shownUrl() {
            int query = url.indexOf('?');
            return query < 0 ? url : url.substring(0, query);
        }
    }

    /**
     * A table of Apache Cassandra (or a server speaking its protocol), written with the DataStax Java driver. Every
     * change is an upsert ({@code INSERT}, which CQL never refuses for an existing row) or a {@code DELETE} by the key, so
     * a replay after a crash leaves the same table: the effect is exactly once. A Cassandra table needs a primary key,
     * so the key is required, also for an append-only query (an event id, say).
     *
     * @param contactPoints {@code host:port} of nodes the driver first connects to
     * @param localDatacenter the datacenter whose nodes the driver writes to
     * @param keyspace created with {@code SimpleStrategy} and {@code replicationFactor} if missing
     * @param table created from the query's columns if missing
     * @param key the table's primary key, in order: {@code partitionKey} first, the rest clustering columns
     * @param partitionKey the leading key columns that make the partition key (the first key column unless set)
     * @param ttl how long a written row lives; empty: for ever
     * @param consistency the consistency level of every write, one of {@link #WRITE_CONSISTENCIES}
     * @param user the role to log in as; empty: no authentication
     * @param maxInFlight writes a writer has sent and not yet seen acknowledged at most
     */
    record Cassandra(String name, List<String> contactPoints, String localDatacenter, String keyspace, String table,
            List<String> key, List<String> partitionKey, Optional<Duration> ttl, String consistency, String user, Secret password,
            int replicationFactor, int batchSize, Duration flushInterval, int maxInFlight, String location) implements SinkSpec {
        /** Consistency levels a write may ask for (SERIAL and LOCAL_SERIAL are for lightweight transactions). */
        public static final List<String> WRITE_CONSISTENCIES = List.of("ANY", "ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_ONE",
                "LOCAL_QUORUM", "EACH_QUORUM");
        /** The default for {@code consistency}. */
        public static final String DEFAULT_CONSISTENCY = "LOCAL_QUORUM";
        /** The default for {@code max_in_flight}. */
        public static final int DEFAULT_MAX_IN_FLIGHT = 64;

        public Cassandra {
            contactPoints = List.copyOf(contactPoints);
            key = List.copyOf(key);
            partitionKey = List.copyOf(partitionKey);
        }

        @Override
        public String type() {
            return "cassandra";
        }
    }

    /** The default for {@code batch_size}. */
    int DEFAULT_BATCH_SIZE = 1000;
    /** The default for {@code flush_interval}. */
    Duration DEFAULT_FLUSH_INTERVAL = Duration.ofSeconds(1);

    /** The sink of that name among {@code sinks}. */
    static Optional<SinkSpec> find(java.util.Collection<SinkSpec> sinks, String name) {
        return sinks.stream().filter(s -> s.name().equals(name)).findFirst();
    }
}
