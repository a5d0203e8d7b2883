package io.watershed.spi;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * An external store a pipeline writes with {@code INSERT INTO sinks.<name>}, declared once in
 * {@code sinks/<name>.yaml} with its connection and key.
 */
public sealed interface SinkSpec permits SinkSpec.Jdbc {

    /** The file's name without {@code .yaml}; the same rule as stream names. */
    String name();

    /** {@code jdbc}. */
    String type();

    /** The columns a row is kept by: an updating query's rows are upserted and deleted by them; empty: rows are appended. */
    List<String> key();

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

    /** The default for {@code batch_size}. */
    int DEFAULT_BATCH_SIZE = 1000;
    /** The default for {@code flush_interval}. */
    Duration DEFAULT_FLUSH_INTERVAL = Duration.ofSeconds(1);

    /** The sink of that name among {@code sinks}. */
    static Optional<SinkSpec> find(java.util.Collection<SinkSpec> sinks, String name) {
        return sinks.stream().filter(s -> s.name().equals(name)).findFirst();
    }
}
