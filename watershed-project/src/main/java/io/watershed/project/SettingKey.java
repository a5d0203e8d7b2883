package io.watershed.project;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Every key of {@code watershed.yaml}, declared once with its type, default and description. The
 * validator, the settings binding and {@code watershed config} (the reference) all read this list.
 */
public record SettingKey(String name, ValueKind kind, String defaultValue, String description) {

    public enum ValueKind {
        STRING, INTEGER, BOOLEAN, SIZE, DURATION
    }

    public static final List<SettingKey> ALL = List.of(
            new SettingKey("http.host", ValueKind.STRING, "127.0.0.1",
                    "Address the HTTP API listens on. Loopback by default; set 0.0.0.0 to expose it."),
            new SettingKey("http.port", ValueKind.INTEGER, "7070", "HTTP API port (0 picks a free port)."),
            new SettingKey("http.max_body", ValueKind.SIZE, "16MiB",
                    "Largest ingest request body, after gzip decompression; larger bodies get 413."),
            new SettingKey("http.max_header", ValueKind.SIZE, "8KiB",
                    "Largest request line plus headers; larger requests get 431."),
            new SettingKey("http.tls_keystore", ValueKind.STRING, "(empty: plain HTTP)",
                    "A PKCS#12 keystore (.p12) with the server's key and certificate chain; when set, the API serves HTTPS only."),
            new SettingKey("http.tls_keystore_password", ValueKind.STRING, "(empty)",
                    "Password of http.tls_keystore; use ${VAR} to keep it out of the file. Shown masked everywhere."),
            new SettingKey("auth.token_rate_limit", ValueKind.INTEGER, "1000",
                    "Requests per second one token may send (bursts of twice that); more get 429 with Retry-After. "
                            + "A token issued with its own --rate keeps that."),
            new SettingKey("ingest.auto_create_streams", ValueKind.BOOLEAN, "true in profile local, else false",
                    "Create a stream on its first event instead of answering 404."),
            new SettingKey("ingest.default_partitions", ValueKind.INTEGER, "2",
                    "Kafka partitions of streams that do not declare their own."),
            new SettingKey("ingest.max_in_flight_requests", ValueKind.INTEGER, "64",
                    "Ingest requests handled at once; more get 429 with Retry-After."),
            new SettingKey("ingest.min_free_disk", ValueKind.SIZE, "256MiB",
                    "Below this free space in the data directory ingest answers 503 with Retry-After, and the other sources "
                            + "(forward, file tail, CDC, JDBC import) hold back."),
            new SettingKey("ingest.max_lake_lag", ValueKind.INTEGER, "5000000",
                    "Records a stream may have in the bus but not yet in its raw table; past it, ingest of that stream answers "
                            + "503 with Retry-After and its other sources hold back until the lake writer catches up (0: never)."),
            new SettingKey("ingest.produce_timeout", ValueKind.DURATION, "30s",
                    "How long ingest waits for the bus to acknowledge a request before answering 503."),
            new SettingKey("ingest.forward_host", ValueKind.STRING, "127.0.0.1",
                    "Address the Fluentd forward listener binds (TCP, and UDP for heartbeats). Loopback by default."),
            new SettingKey("ingest.forward_port", ValueKind.INTEGER, "24224",
                    "Fluentd forward protocol port (Fluentd, Fluent Bit, fluent-logger); 0 picks a free port, -1 turns the "
                            + "listener off. Tags go to the streams whose sources: declare them."),
            new SettingKey("ingest.forward_shared_key", ValueKind.STRING, "(empty: no handshake)",
                    "When set, forward clients must pass Fluentd's shared-key handshake (security.shared_key in Fluentd). "
                            + "Shown masked everywhere."),
            new SettingKey("bus.bootstrap_servers", ValueKind.STRING, "(empty: embedded broker)",
                    "An external Kafka cluster; empty starts the in-process KRaft broker in the data directory."),
            new SettingKey("bus.port", ValueKind.INTEGER, "9092",
                    "Client port of the embedded broker (0 picks a free port); ignored with bootstrap_servers. Clients "
                            + "authenticate with SASL/SCRAM-SHA-256 as a token (user: its id, password: the token)."),
            new SettingKey("bus.host", ValueKind.STRING, "127.0.0.1",
                    "Address the embedded broker's client port binds. Loopback by default."),
            new SettingKey("bus.plaintext", ValueKind.BOOLEAN, "false",
                    "Let clients of the embedded broker in without credentials (no SASL, no ACLs). Refused on an address "
                            + "other than loopback unless this is set; meant for trusted test machines only."),
            new SettingKey("lake.commit_interval", ValueKind.DURATION, "5s",
                    "How often the lake writer commits to Iceberg; a row is queryable within about this long."),
            new SettingKey("lake.target_file_size", ValueKind.SIZE, "128MiB",
                    "Size at which the lake writer starts a new Parquet file within one commit, and the size compaction "
                            + "rewrites small files into (a stream's target_file_size wins)."),
            new SettingKey("lake.upkeep_interval", ValueKind.DURATION, "1m",
                    "How often upkeep looks at every table: compacts partitions with enough small files, expires old "
                            + "snapshots, drops partitions past retention, trims stream topics. 0s turns it off (on demand still works)."),
            new SettingKey("lake.compaction_min_files", ValueKind.INTEGER, "10",
                    "Small files (under 75% of the target size) of about one size in one partition that start their "
                            + "compaction into one file of the next size tier; `watershed tables compact` takes every small file."),
            new SettingKey("lake.snapshot_retention", ValueKind.DURATION, "3d",
                    "Snapshots replaced longer ago than this are expired and the files only they held are deleted; "
                            + "within it, history older than 15 minutes keeps one snapshot per full hour. Snapshots a running "
                            + "query or model build reads are kept."),
            new SettingKey("lake.orphan_delay", ValueKind.DURATION, "3d",
                    "Files in a table's directory that no snapshot references (left by a crash mid-write) are deleted once "
                            + "older than this; keep it above the longest model build and pipeline downtime."),
            new SettingKey("query.timeout", ValueKind.DURATION, "30s", "Statements running longer are cancelled."),
            new SettingKey("query.max_rows", ValueKind.INTEGER, "10000",
                    "Rows an API answer carries at most; the answer says when it was truncated."),
            new SettingKey("query.memory_limit", ValueKind.STRING, "1GB", "DuckDB memory limit."),
            new SettingKey("query.fresh_tail", ValueKind.BOOLEAN, "true",
                    "raw.<stream> also reads the events the bus holds past the table's last commit, so an acknowledged "
                            + "event is queryable at once; false serves committed snapshots only (committed.raw.<stream> "
                            + "always does)."),
            new SettingKey("pipelines.idle_timeout", ValueKind.DURATION, "10s",
                    "A stream partition without records this long stops holding back event time in pipelines. Records it "
                            + "brings later than the watermark are late; keep it above how long a backlog takes to start flowing."),
            new SettingKey("models.max_concurrent_builds", ValueKind.INTEGER, "2",
                    "Model builds that run at once, over all runs; further ready builds wait."),
            new SettingKey("models.timeout", ValueKind.DURATION, "1h",
                    "A build running longer is cancelled and fails (a model's own timeout wins)."),
            new SettingKey("models.retries", ValueKind.INTEGER, "1",
                    "Further attempts after a failed build, 0 for none (a model's own retries win)."),
            new SettingKey("models.retry_delay", ValueKind.DURATION, "30s",
                    "Wait before the first retry of a failed build; it doubles with each further one."),
            new SettingKey("models.catchup", ValueKind.BOOLEAN, "false",
                    "After downtime, run every scheduled period that was missed (true) or only the latest (false)."),
            new SettingKey("models.namespace", ValueKind.STRING, "models", "Lake namespace of model tables."));

    public static final Map<String, SettingKey> BY_NAME =
            ALL.stream().collect(Collectors.toMap(SettingKey::name, Function.identity()));

    public String section() {
        return name.substring(0, name.indexOf('.'));
    }

    public String leaf() {
        return name.substring(name.indexOf('.') + 1);
    }
}
