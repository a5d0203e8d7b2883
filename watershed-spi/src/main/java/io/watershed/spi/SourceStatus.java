package io.watershed.spi;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a running source reports of itself, one record per kind of {@link SourceSpec}: the server shows it under
 * {@code GET /v1/sources}. A secret is carried as {@link Secret}, so whatever prints it shows {@code ****}. A text
 * field without a value (no run yet, no error) is null.
 */
public sealed interface SourceStatus permits SourceStatus.Forward, SourceStatus.FileTail, SourceStatus.Jdbc, SourceStatus.Cdc,
        SourceStatus.Mqtt {

    /** The source's name: {@code forward}, {@code <stream>.file[N]}, {@code <stream>.jdbc[N]}, {@code cdc[N]},
     * {@code <stream>.mqtt[N]}. */
    String name();

    /** The kind, as in {@link SourceSpec#type()}: {@code forward}, {@code file}, {@code jdbc}, {@code cdc} or {@code mqtt}. */
    String type();

    /** Calls the case of this status's kind. */
    <R> R match(Cases<R> cases);

    /**
     * One case per kind of status. Java 17 has no exhaustive switch over a sealed type, so a new kind adds a method
     * here and every user of the statuses fails to compile until it handles it.
     */
    interface Cases<R> {
        R forward(Forward status);

        R file(FileTail status);

        R jdbc(Jdbc status);

        R cdc(Cdc status);

        R mqtt(Mqtt status);
    }

    /**
     * The Fluentd forward listener (one for all streams).
     *
     * @param listen {@code host:port}
     * @param streams the tag patterns of each stream that declares a forward source
     * @param tagsCreateStreams a tag that matches no stream creates one ({@code ingest.auto_create_streams})
     * @param connections open client connections
     * @param messages messages read since the start
     */
    record Forward(String name, String listen, Secret sharedKey, Map<String, List<String>> streams, boolean tagsCreateStreams,
            int connections, long messages) implements SourceStatus {
        public Forward {
            Map<String, List<String>> copy = new LinkedHashMap<>();
            streams.forEach((stream, tags) -> copy.put(stream, List.copyOf(tags)));
            streams = java.util.Collections.unmodifiableMap(copy);
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

    /**
     * A file source: the files it follows and the bytes written to them that are not yet published.
     *
     * @param paths the source's glob patterns
     * @param lastError the last problem reading or publishing; null once a pass succeeds
     */
    record FileTail(String name, String stream, List<String> paths, List<TailedFile> files, long lagBytes, String lastError)
            implements SourceStatus {
        public FileTail {
            paths = List.copyOf(paths);
            files = List.copyOf(files);
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

    /**
     * One file a file source reads.
     *
     * @param offset the byte up to which records are published
     * @param size the file's size when last looked at
     * @param following the file still matches the source's patterns (false: renamed away, read to its end)
     */
    record TailedFile(String path, long offset, long size, boolean following) {}

    /**
     * A scheduled import of one table or query.
     *
     * @param table the table, or {@code (query)}
     * @param mode {@code full} or {@code incremental}
     * @param watermark the largest value of the incremental column published so far
     * @param lastRunAt when the last run ended successfully (ISO-8601)
     * @param nextRunAt the next scheduled run (ISO-8601)
     * @param running a run is under way
     */
    record Jdbc(String name, String stream, String table, String user, Secret password, String mode, String watermark,
            String lastRunAt, long lastRunRows, String nextRunAt, boolean running, String lastError) implements SourceStatus {
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
     * Change data capture of one database connection (all the tables declared on it).
     *
     * @param database {@code <kind>://host:port/database}
     * @param tables each captured table and its stream
     * @param running the engine runs (false while it waits to start again after an error)
     * @param events changes published since the start
     */
    record Cdc(String name, String database, String user, Secret password, Map<String, String> tables, boolean running, long events,
            String lastEventAt, String lastError) implements SourceStatus {
        public Cdc {
            tables = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(tables));
        }

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
     * An MQTT subscription.
     *
     * @param connected the session is up and the broker has answered its subscription (false while the source waits to
     *     connect again)
     * @param messages messages published to the stream since the start (dead letters included)
     * @param lastMessageAt when the last message was published (ISO-8601)
     * @param lastError the last connection or publishing problem; null once the session is up again
     */
    record Mqtt(String name, String stream, String url, List<String> topics, int qos, String clientId, String user, Secret password,
            boolean connected, long messages, String lastMessageAt, String lastError) implements SourceStatus {
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
