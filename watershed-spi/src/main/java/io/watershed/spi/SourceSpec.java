package io.watershed.spi;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A way events reach a stream besides {@code POST /v1/streams/{stream}/events}, declared under
 * {@code sources:} in {@code streams/<name>.yaml}. Every source publishes through the bus like the HTTP
 * API does: what it cannot decode goes to the stream's dead-letter table with the reason.
 */
public sealed interface SourceSpec permits SourceSpec.Forward, SourceSpec.FileTail, SourceSpec.Jdbc, SourceSpec.Cdc,
        SourceSpec.Mqtt {

    /** {@code forward}, {@code file}, {@code jdbc}, {@code cdc} or {@code mqtt}. */
    String type();

    /** Calls the case of this source's kind. */
    <R> R match(Cases<R> cases);

    /**
     * One case per kind of source. Java 17 has no exhaustive switch over a sealed type, so a new kind adds a method
     * here and whatever builds or describes sources fails to compile until it handles the kind.
     */
    interface Cases<R> {
        R forward(Forward spec);

        R file(FileTail spec);

        R jdbc(Jdbc spec);

        R cdc(Cdc spec);

        R mqtt(Mqtt spec);
    }

    /**
     * Fluentd's forward protocol (Fluentd, Fluent Bit, fluent-logger libraries): events whose tag matches one of
     * {@code tags} go to the stream.
     *
     * @param tags Fluentd match patterns: {@code *} one tag part, {@code **} any number of parts, {@code {a,b}} either
     * @param tagField field the event's tag is stored in (the record's own field of that name wins); empty: not stored
     * @param timeField field the event's time is stored in, as ISO-8601 UTC; empty: not stored
     */
    record Forward(List<String> tags, Optional<String> tagField, Optional<String> timeField) implements SourceSpec {
        public Forward {
            tags = List.copyOf(tags);
        }

        @Override
        public String type() {
            return "forward";
        }

        @Override
        public <R> R match(Cases<R> cases) {
            return cases.forward(this);
        }
    }

    /** How a tailed line becomes an event. */
    enum Format {
        /** Each record is a JSON object. */
        JSON,
        /** Each record must match a regular expression; its named groups become string fields. */
        REGEX,
        /** Each record becomes {@code {"message": "<the line>"}}. */
        LINES
    }

    /**
     * Files followed as they grow (Filebeat, Fluentd {@code in_tail}), resuming after a restart where the last
     * acknowledged record ended.
     *
     * @param paths glob patterns, absolute or relative to the project folder; a matched file must lie below the
     *        pattern's fixed directory after symlinks are resolved
     * @param exclude glob patterns of file names never read (rotated {@code *.gz}, for instance)
     * @param format how records are parsed
     * @param pattern the regular expression with named groups, for {@link Format#REGEX}
     * @param multilineStart a record starts at a line matching this; other lines continue the record before them
     * @param multilineFlush how long a record waits for continuation lines at the end of a file
     * @param fromBeginning a file first seen is read from its start (true) or only what is written after (false)
     * @param pathField field the file's path is stored in; empty: not stored
     * @param maxRecordBytes longer records go to the dead-letter table (truncated) instead of the lake table
     */
    record FileTail(List<String> paths, List<String> exclude, Format format, Optional<String> pattern,
            Optional<String> multilineStart, Duration multilineFlush, boolean fromBeginning, Optional<String> pathField,
            int maxRecordBytes) implements SourceSpec {
        public FileTail {
            paths = List.copyOf(paths);
            exclude = List.copyOf(exclude);
        }

        @Override
        public String type() {
            return "file";
        }

        @Override
        public <R> R match(Cases<R> cases) {
            return cases.file(this);
        }
    }

    /** How a {@code jdbc} source reads its table. */
    enum ImportMode {
        /** Every run reads the whole table (each row carries the run's {@code import_run}). */
        FULL,
        /** Each run reads the rows whose {@code column} is past the largest value the last run published. */
        INCREMENTAL
    }

    /**
     * A database table imported on a schedule (Sqoop): PostgreSQL, MySQL or MariaDB over JDBC.
     *
     * @param url a {@code jdbc:postgresql:}, {@code jdbc:mysql:} or {@code jdbc:mariadb:} URL
     * @param table the table ({@code schema.table} or {@code table}); or empty with {@code query}
     * @param query a SELECT to import instead of a table
     * @param column the monotonically increasing column (an id or a timestamp) of an incremental import
     * @param schedule cron (UTC) or a nickname such as {@code @hourly}
     * @param batchRows rows per published batch
     */
    record Jdbc(String url, String user, Secret password, Optional<String> table, Optional<String> query, ImportMode mode,
            Optional<String> column, String schedule, int batchRows) implements SourceSpec {
        @Override
        public String type() {
            return "jdbc";
        }

        @Override
        public <R> R match(Cases<R> cases) {
            return cases.jdbc(this);
        }
    }

    /**
     * Change data capture of one table (Debezium's embedded engine): inserts, updates and deletes become change events
     * on the stream, and {@code state.<stream>} follows the table.
     *
     * @param url a {@code jdbc:postgresql://host:port/db}, {@code jdbc:mysql://host:port/db} or {@code jdbc:mariadb://...} URL
     * @param table {@code schema.table} (PostgreSQL) or {@code database.table} (MySQL, MariaDB)
     * @param snapshot read the table's current rows first ({@code initial}) or only changes from now on ({@code never})
     */
    record Cdc(String url, String user, Secret password, String table, boolean snapshot) implements SourceSpec {
        @Override
        public String type() {
            return "cdc";
        }

        @Override
        public <R> R match(Cases<R> cases) {
            return cases.cdc(this);
        }
    }

    /**
     * Subscriptions on an MQTT broker (v5): each message on a matching topic is one JSON event. The session is persistent
     * (the broker keeps what arrives while Watershed is down) and a message is acknowledged only once its event is durable
     * in the bus; a message the broker delivers again after a crash is recognised and not published twice.
     *
     * @param url {@code tcp://host:port} (or {@code ssl://host:port})
     * @param topics topic filters, with {@code +} (one level) and {@code #} (the rest)
     * @param qos the subscriptions' quality of service: 1 (at least once from the broker) or 2
     * @param clientId the session's client id: stable across restarts, so the broker knows the session again
     * @param user empty: no login
     * @param topicField field the message's topic is stored in (the message's own field of that name wins); empty: not stored
     */
    record Mqtt(String url, List<String> topics, int qos, String clientId, Optional<String> user, Secret password,
            Optional<String> topicField) implements SourceSpec {
        public Mqtt {
            topics = List.copyOf(topics);
        }

        @Override
        public String type() {
            return "mqtt";
        }

        @Override
        public <R> R match(Cases<R> cases) {
            return cases.mqtt(this);
        }
    }
}
