package io.watershed.spi;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Platform settings resolved from {@code watershed.yaml} (after the profile and {@code ${VAR}} substitution), one record
 * per YAML section. Each component is declared once, with its {@link Setting}: key, type, default, checks and
 * description; {@link SettingsSchema} binds, validates, documents and masks from there. Adding a setting is adding one
 * annotated component.
 */
public record Settings(Http http, Auth auth, Ingest ingest, Bus bus, Lake lake, Query query, Pg pg, Pipelines pipelines, Models models,
        Metadata metadata, Alerts alerts) {

    /** {@code http:}, the API and console. */
    public record Http(
            @Setting(value = "127.0.0.1", doc = "Address the HTTP API listens on. Loopback by default; set 0.0.0.0 to expose it.")
            String host,
            @Setting(value = "7070", min = 0, max = 65535, doc = "HTTP API port (0 picks a free port).")
            int port,
            @Setting(value = "16MiB", size = true, min = 1,
                    doc = "Largest ingest request body, after gzip decompression; larger bodies get 413.")
            long maxBody,
            @Setting(value = "8KiB", size = true, min = 1, doc = "Largest request line plus headers; larger requests get 431.")
            int maxHeader,
            @Setting(value = "", unset = "plain HTTP", doc = "A PKCS#12 keystore (.p12) with the server's key and certificate "
                    + "chain; when set, the API serves HTTPS only.")
            Optional<String> tlsKeystore,
            @Setting(value = "", doc = "Password of http.tls_keystore; use ${VAR} to keep it out of the file.")
            Secret tlsKeystorePassword) {}

    /** {@code auth:}, how tokens are held to account. */
    public record Auth(
            @Setting(value = "1000", min = 1, doc = "Requests per second one token may send (bursts of twice that); more get 429 "
                    + "with Retry-After. A token issued with its own --rate keeps that.")
            int tokenRateLimit) {}

    /** {@code ingest:}, the HTTP ingest path and every other source (forward, file tail, CDC, JDBC import). */
    public record Ingest(
            @Setting(value = "true", otherProfiles = "false", doc = "Create a stream on its first event instead of answering 404.")
            boolean autoCreateStreams,
            @Setting(value = "2", min = 1, max = 10_000, doc = "Kafka partitions of streams that do not declare their own.")
            int defaultPartitions,
            @Setting(value = "64", min = 1, doc = "Ingest requests handled at once; more get 429 with Retry-After.")
            int maxInFlightRequests,
            @Setting(value = "256MiB", size = true, min = 0, doc = "Below this free space in the data directory ingest answers 503 "
                    + "with Retry-After, and the other sources (forward, file tail, CDC, JDBC import) hold back.")
            long minFreeDisk,
            @Setting(value = "5000000", min = 0, doc = "Records a stream may have in the bus but not yet in its raw table; past "
                    + "it, ingest of that stream answers 503 with Retry-After and its other sources hold back until the lake writer "
                    + "catches up (0: never).")
            long maxLakeLag,
            @Setting(value = "30s", doc = "How long ingest waits for the bus to acknowledge a request before answering 503.")
            Duration produceTimeout,
            @Setting(value = "127.0.0.1", doc = "Address the Fluentd forward listener binds (TCP, and UDP for heartbeats). "
                    + "Loopback by default.")
            String forwardHost,
            @Setting(value = "24224", min = -1, max = 65535, doc = "Fluentd forward protocol port (Fluentd, Fluent Bit, "
                    + "fluent-logger); 0 picks a free port, -1 turns the listener off. Tags go to the streams whose sources: "
                    + "declare them.")
            int forwardPort,
            @Setting(value = "", unset = "no handshake", doc = "When set, forward clients must pass Fluentd's shared-key handshake (security.shared_key "
                    + "in Fluentd).")
            Secret forwardSharedKey) {}

    /** {@code bus:}, the embedded broker or the external Kafka cluster. */
    public record Bus(
            @Setting(value = "", unset = "embedded broker", doc = "An external Kafka cluster; empty starts the in-process KRaft "
                    + "broker in the data directory.")
            Optional<String> bootstrapServers,
            @Setting(value = "9092", min = 0, max = 65535, doc = "Client port of the embedded broker (0 picks a free port); "
                    + "ignored with bootstrap_servers. Clients log in with a token (user: its id, password: the token) over "
                    + "SASL/SCRAM-SHA-256 or -512, or SASL/PLAIN (see plain_over_network).")
            int port,
            @Setting(value = "127.0.0.1", doc = "Address the embedded broker's client port binds. Loopback by default.")
            String host,
            @Setting(value = "false", doc = "Let clients of the embedded broker in without credentials (no SASL, no ACLs). "
                    + "Refused on an address other than loopback unless this is set; meant for trusted test machines only.")
            boolean plaintext,
            @Setting(value = "false", doc = "Also take SASL/PLAIN logins on the embedded broker's client port when host is "
                    + "not loopback. PLAIN sends the token itself, and this port has no TLS: anyone on the network path can read "
                    + "it and act as the token (SCRAM never sends it). Needed by clients on librdkafka before 2.6.1 (Debian's "
                    + "kcat, Vector, Fluent Bit), which cannot do SCRAM with Kafka 4. On loopback PLAIN is always on.")
            boolean plainOverNetwork,
            @Setting(value = "PLAINTEXT", oneOf = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}, doc = "How the platform "
                    + "connects to the external cluster of bootstrap_servers (Kafka's security.protocol).")
            String securityProtocol,
            @Setting(value = "", oneOf = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}, unset = "PLAIN", doc = "SASL mechanism for "
                    + "the external cluster, with SASL_PLAINTEXT or SASL_SSL.")
            Optional<String> saslMechanism,
            @Setting(value = "", unset = "none", doc = "SASL user name for the external cluster.")
            Optional<String> saslUsername,
            @Setting(value = "", doc = "SASL password for the external cluster; use ${VAR} to keep it out of the file.")
            Secret saslPassword,
            @Setting(value = "", unset = "the JVM's trusted certificates", doc = "Trust store (PKCS#12 or JKS) with the "
                    + "certificates of the external cluster's brokers, with SSL or SASL_SSL.")
            Optional<String> sslTruststore,
            @Setting(value = "", doc = "Password of ssl_truststore.")
            Secret sslTruststorePassword,
            @Setting(value = "", unset = "no client certificate", doc = "Key store (PKCS#12 or JKS) with the platform's client "
                    + "certificate, when the external cluster authenticates clients by TLS.")
            Optional<String> sslKeystore,
            @Setting(value = "", doc = "Password of ssl_keystore (and of its key).")
            Secret sslKeystorePassword,
            @Setting(value = "0", min = 0, max = Short.MAX_VALUE, doc = "Replicas of each topic the platform creates on the "
                    + "external cluster (streams, its transaction and key logs, pipelines' commit records); 0 takes the "
                    + "cluster's default.replication.factor. The embedded broker is one node: 1.")
            int replicationFactor,
            @Setting(value = "0", min = 0, max = Short.MAX_VALUE, doc = "min.insync.replicas of each topic the platform "
                    + "creates on the external cluster: with acks=all an event is acknowledged once this many replicas have it. "
                    + "0 takes the cluster's default. Keep it below replication_factor, or one stopped broker stops ingest.")
            int minInsyncReplicas,
            @Setting(value = "false", doc = "Keep the external cluster's SCRAM credentials and ACLs in step with Watershed's "
                    + "tokens and grants, as on the embedded broker (the platform's user needs Alter and Describe on the "
                    + "cluster). Off: the cluster's own administrators manage who reaches it; tokens do not log in to Kafka.")
            boolean manageAcls) {

        /** What the clients of the external cluster need beyond its address, as Kafka client properties (secrets revealed). */
        public Map<String, String> clientSecurity() {
            Map<String, String> properties = new java.util.LinkedHashMap<>();
            if (bootstrapServers.isEmpty() || securityProtocol.equals("PLAINTEXT")) {
                return properties;
            }
            properties.put("security.protocol", securityProtocol);
            if (securityProtocol.startsWith("SASL_")) {
                String mechanism = saslMechanism.orElse("PLAIN");
                properties.put("sasl.mechanism", mechanism);
                String module = mechanism.equals("PLAIN") ? "org.apache.kafka.common.security.plain.PlainLoginModule"
                        : "org.apache.kafka.common.security.scram.ScramLoginModule";
                properties.put("sasl.jaas.config", module + " required username=\"" + jaasEscape(saslUsername.orElse(""))
                        + "\" password=\"" + jaasEscape(saslPassword.reveal()) + "\";");
            }
            if (Set.of("SSL", "SASL_SSL").contains(securityProtocol)) {
                sslTruststore.ifPresent(store -> {
                    properties.put("ssl.truststore.location", store);
                    if (!sslTruststorePassword.isEmpty()) { // absent, not empty: a store without a password
                        properties.put("ssl.truststore.password", sslTruststorePassword.reveal());
                    }
                });
                sslKeystore.ifPresent(store -> {
                    properties.put("ssl.keystore.location", store);
                    if (!sslKeystorePassword.isEmpty()) {
                        properties.put("ssl.keystore.password", sslKeystorePassword.reveal());
                        properties.put("ssl.key.password", sslKeystorePassword.reveal());
                    }
                });
            }
            return properties;
        }

        /** How the topics the platform creates on the external cluster are replicated. */
        public BusConnection.Placement topicPlacement() {
            return new BusConnection.Placement(replicationFactor, minInsyncReplicas);
        }

        /** Settings that contradict each other (each would otherwise be ignored without a word), as messages. */
        public java.util.List<String> problems() {
            java.util.List<String> problems = new java.util.ArrayList<>();
            boolean sasl = saslMechanism.isPresent() || saslUsername.isPresent() || !saslPassword.isEmpty();
            boolean ssl = sslTruststore.isPresent() || sslKeystore.isPresent() || !sslTruststorePassword.isEmpty()
                    || !sslKeystorePassword.isEmpty();
            if (bootstrapServers.isEmpty()) {
                if (sasl || ssl || !securityProtocol.equals("PLAINTEXT")) {
                    problems.add("bus.security_protocol and the bus.sasl_*/ssl_* settings are for an external cluster: set "
                            + "bus.bootstrap_servers, or remove them (the embedded broker needs none)");
                }
                if (plaintext && plainOverNetwork) {
                    problems.add("bus.plain_over_network is for logins, and bus.plaintext turns logins off: remove one of them");
                }
                if (replicationFactor > 1 || minInsyncReplicas > 1 || manageAcls) {
                    problems.add("bus.replication_factor, bus.min_insync_replicas and bus.manage_acls are for an external "
                            + "cluster: the embedded broker is one node and manages its own logins; set bus.bootstrap_servers "
                            + "or remove them");
                }
                return problems;
            }
            if (plainOverNetwork) {
                problems.add("bus.plain_over_network is for the embedded broker's logins: the external cluster of "
                        + "bus.bootstrap_servers has its own; remove it");
            }
            if (sasl && !securityProtocol.startsWith("SASL_")) {
                problems.add("bus.sasl_* is set but bus.security_protocol is " + securityProtocol + ": use SASL_PLAINTEXT or SASL_SSL");
            }
            if (securityProtocol.startsWith("SASL_") && (saslUsername.isEmpty() || saslPassword.isEmpty())) {
                problems.add("bus.security_protocol " + securityProtocol + " needs bus.sasl_username and bus.sasl_password");
            }
            if (ssl && !Set.of("SSL", "SASL_SSL").contains(securityProtocol)) {
                problems.add("bus.ssl_* is set but bus.security_protocol is " + securityProtocol + ": use SSL or SASL_SSL");
            }
            if (replicationFactor > 0 && minInsyncReplicas > replicationFactor) {
                problems.add("bus.min_insync_replicas (" + minInsyncReplicas + ") is above bus.replication_factor ("
                        + replicationFactor + "): no write could ever be acknowledged; use at most " + replicationFactor);
            }
            if (manageAcls && !saslMechanism.orElse("PLAIN").startsWith("SCRAM-")) {
                problems.add("bus.manage_acls gives each token a SCRAM login: it needs bus.sasl_mechanism SCRAM-SHA-256 or "
                        + "SCRAM-SHA-512 (the cluster's PLAIN users live in its own files)");
            }
            return problems;
        }

        private static String jaasEscape(String value) {
            return value.replace("\\", "\\\\").replace("\"", "\\\"");
        }
    }

    /** {@code lake:}, the lake writer and upkeep (compaction, snapshot expiry, orphan cleanup, retention). */
    public record Lake(
            @Setting(value = "5s", doc = "How often the lake writer commits to Iceberg; a row is queryable within about this long.")
            Duration commitInterval,
            @Setting(value = "128MiB", size = true, min = 1, doc = "Size at which the lake writer starts a new Parquet file "
                    + "within one commit, and the size compaction rewrites small files into (a stream's target_file_size wins).")
            long targetFileSize,
            @Setting(value = "1m", doc = "How often upkeep looks at every table: compacts partitions with enough small files, "
                    + "expires old snapshots, drops partitions past retention, trims stream topics. 0s turns it off (on demand "
                    + "still works).")
            Duration upkeepInterval,
            @Setting(value = "10", min = 2, doc = "Small files (under 75% of the target size) of about one size in one partition "
                    + "that start their compaction into one file of the next size tier; `watershed tables compact` takes every "
                    + "small file.")
            int compactionMinFiles,
            @Setting(value = "3d", doc = "Snapshots replaced longer ago than this are expired and the files only they held are "
                    + "deleted; within it, history older than 15 minutes keeps one snapshot per full hour. Snapshots a running "
                    + "query or model build reads are kept.")
            Duration snapshotRetention,
            @Setting(value = "3d", doc = "Files in a table's directory that no snapshot references (left by a crash mid-write) "
                    + "are deleted once older than this; keep it above the longest model build and pipeline downtime.")
            Duration orphanDelay,
            @Setting(value = "", unset = "<data>/lake/warehouse on the local disk", doc = "Where the lake's data and metadata "
                    + "files live: s3://bucket/prefix puts them on S3 (or an S3-compatible store, see s3_endpoint); the catalog "
                    + "stays in the data directory.")
            Optional<String> warehouse,
            @Setting(value = "", unset = "AWS", doc = "S3 endpoint of an S3-compatible store (http://host:port), with an s3:// "
                    + "warehouse.")
            Optional<String> s3Endpoint,
            @Setting(value = "us-east-1", doc = "S3 region, with an s3:// warehouse.")
            String s3Region,
            @Setting(value = "false", doc = "Address buckets as endpoint/bucket instead of bucket.endpoint (most S3-compatible "
                    + "stores need true).")
            boolean s3PathStyle,
            @Setting(value = "", doc = "S3 access key id; empty takes the AWS SDK's default credentials (environment, "
                    + "profile, instance role). Use ${VAR} to keep it out of the file.")
            Secret s3AccessKeyId,
            @Setting(value = "", doc = "S3 secret access key, with s3_access_key_id; use ${VAR} to keep it out of the file.")
            Secret s3SecretAccessKey,
            @Setting(value = "2GiB", size = true, min = 1, doc = "Disk space of the local read-through cache that queries read an "
                    + "s3:// warehouse's data files through (least recently used files go first); ignored for a local warehouse.")
            long cacheSize) {

        /** The warehouse is on S3, not the local disk. */
        public boolean remote() {
            return warehouse.isPresent();
        }

        /** Settings that contradict each other (each would otherwise be ignored without a word), as messages. */
        public java.util.List<String> problems() {
            java.util.List<String> problems = new java.util.ArrayList<>();
            boolean s3 = s3Endpoint.isPresent() || s3PathStyle || !s3AccessKeyId.isEmpty() || !s3SecretAccessKey.isEmpty();
            if (warehouse.isEmpty()) {
                if (s3) {
                    problems.add("lake.s3_* is for a warehouse on S3: set lake.warehouse to s3://bucket/prefix, or remove them "
                            + "(the local warehouse needs none)");
                }
                return problems;
            }
            if (!warehouse.get().matches("s3a?://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?")) {
                problems.add("lake.warehouse '" + warehouse.get() + "' is not an S3 location: use s3://bucket/prefix, or leave it "
                        + "empty for <data>/lake/warehouse on the local disk");
            }
            if (s3AccessKeyId.isEmpty() != s3SecretAccessKey.isEmpty()) {
                problems.add("lake.s3_access_key_id and lake.s3_secret_access_key go together: set both, or neither for the "
                        + "AWS SDK's default credentials");
            }
            s3Endpoint.filter(e -> !e.matches("https?://[^/\\s]+/?")).ifPresent(e -> problems.add("lake.s3_endpoint '" + e
                    + "' is not an endpoint: use http://host:port or https://host"));
            return problems;
        }
    }

    /** {@code query:}, the SQL engine behind the API, the console and the Postgres wire. */
    public record Query(
            @Setting(value = "30s", doc = "Statements running longer are cancelled.")
            Duration timeout,
            @Setting(value = "10000", min = 1, doc = "Rows an API answer carries at most; the answer says when it was truncated.")
            int maxRows,
            @Setting(value = "1GB", doc = "DuckDB memory limit.")
            String memoryLimit,
            @Setting(value = "true", doc = "raw.<stream> also reads the events the bus holds past the table's last commit, so an "
                    + "acknowledged event is queryable at once; false serves committed snapshots only (committed.raw.<stream> "
                    + "always does).")
            boolean freshTail) {}

    /** {@code pg:}, the Postgres wire protocol listener (psql, JDBC, BI tools) in front of the SQL engine. */
    public record Pg(
            @Setting(value = "127.0.0.1", doc = "Address the Postgres wire listener binds. Loopback by default; clients log in with "
                    + "a token as the password, sent in clear text unless http.tls_keystore is set and the client asks for TLS.")
            String host,
            @Setting(value = "15432", min = -1, max = 65535, doc = "Postgres wire protocol port for psql, JDBC, node pg and BI "
                    + "tools (user: any, password: a token); 0 picks a free port, -1 turns the listener off. When the port is taken, "
                    + "the platform starts without it and says so.")
            int port,
            @Setting(value = "64", min = 1, doc = "Postgres wire connections open at once; more are refused with SQLSTATE 53300.")
            int maxConnections) {}

    /** {@code pipelines:}, the speed layer. */
    public record Pipelines(
            @Setting(value = "10s", doc = "A stream partition without records this long stops holding back event time in "
                    + "pipelines. Records it brings later than the watermark are late; keep it above how long a backlog takes to "
                    + "start flowing.")
            Duration idleTimeout,
            @Setting(value = "", unset = "<data>/flink/checkpoints", doc = "Directory of the pipelines' Flink checkpoints. "
                    + "Instances that share a project (metadata.url) need one they all reach (a shared mount), so that a "
                    + "pipeline taken over from a dead instance resumes from its last checkpoint instead of the streams' start.")
            Optional<String> checkpoints) {}

    /** {@code models:}, defaults for batch models; a model's own settings win. */
    public record Models(
            @Setting(value = "2", min = 1, doc = "Model builds that run at once, over all runs; further ready builds wait.")
            int maxConcurrentBuilds,
            @Setting(value = "1h", doc = "A build running longer is cancelled and fails (a model's own timeout wins).")
            Duration timeout,
            @Setting(value = "1", min = 0, doc = "Further attempts after a failed build, 0 for none (a model's own retries win).")
            int retries,
            @Setting(value = "30s", doc = "Wait before the first retry of a failed build; it doubles with each further one.")
            Duration retryDelay,
            @Setting(value = "false", doc = "After downtime, run every scheduled period that was missed (true) or only the latest "
                    + "(false).")
            boolean catchup,
            @Setting(value = "models", check = Namespace.class, doc = "Lake namespace of model tables.")
            String namespace) {

        /** A model namespace is a plain name and none the platform's own tables live in. */
        public static final class Namespace implements Setting.Check {
            @Override
            public Optional<String> problem(Object value) {
                String namespace = (String) value;
                return StreamSpec.NAME.matcher(namespace).matches() && !Set.of("raw", "live", "streams", "committed").contains(namespace)
                        ? Optional.empty()
                        : Optional.of("'" + namespace + "' is not valid: use " + StreamSpec.NAME_RULE
                                + ", and none of raw, live, streams, committed");
            }
        }
    }

    /** The defaults of profile local. */
    /** {@code metadata:}, where Watershed keeps its own state ({@link StateDatabase}). */
    public record Metadata(
            @Setting(value = "", unset = "SQLite files in the data directory", doc = "A PostgreSQL database for Watershed's own "
                    + "state (jdbc:postgresql://host:5432/db), shared by every instance of the project: users, roles, grants and "
                    + "token hashes. Its migrations are applied at start.")
            Optional<String> url,
            @Setting(value = "", unset = "the driver's default", doc = "User name for metadata.url.")
            Optional<String> user,
            @Setting(value = "", doc = "Password for metadata.url; use ${VAR} to keep it out of the file.")
            Secret password,
            @Setting(value = "watershed", doc = "Schema of metadata.url that holds Watershed's tables; created when missing.")
            String schema,
            @Setting(value = "", unset = "the host name and a hash of the data directory", doc = "This instance's name in "
                    + "the leases of metadata.url, the same across its restarts; instances of one project need different names. "
                    + "Set it where the host name changes at each start (a container), or a restart waits out its own lease.")
            Optional<String> instance,
            @Setting(value = "15s", doc = "How long an instance holds a lease (a stream's lake writer, a pipeline, the model "
                    + "scheduler, lake upkeep) without renewing it: another instance takes the work over at most this long "
                    + "(plus a quarter) after the holder dies. It renews every quarter of it, and stops the work itself after two "
                    + "thirds without renewal.")
            Duration leaseTtl) {

        /** A PostgreSQL database with the default instance name and lease length. */
        public static Metadata postgres(String url, String user, Secret password, String schema) {
            return new Metadata(Optional.of(url), Optional.of(user), password, schema, Optional.empty(), Duration.ofSeconds(15));
        }

        /** Settings that contradict each other, as messages. */
        public java.util.List<String> problems() {
            java.util.List<String> problems = new java.util.ArrayList<>();
            if (url.isEmpty() && (user.isPresent() || !password.isEmpty())) {
                problems.add("metadata.user and metadata.password are for metadata.url: set it, or remove them (SQLite files in "
                        + "the data directory need none)");
            }
            if (url.isPresent() && url.get().toLowerCase(java.util.Locale.ROOT).contains("password=")) {
                problems.add("metadata.url carries a password: put it in metadata.password (a secret, shown masked) and remove it "
                        + "from the URL");
            } else if (url.isPresent() && !url.get().startsWith("jdbc:postgresql://")) {
                problems.add("metadata.url must be a PostgreSQL JDBC URL (jdbc:postgresql://host:5432/database), not '"
                        + url.get() + "'");
            }
            if (leaseTtl.toMillis() < 300) {
                problems.add("metadata.lease_ttl " + leaseTtl + " is too short: at least 300ms (seconds are usual)");
            }
            if (instance.isPresent() && !instance.get().matches("[A-Za-z0-9_.:-]{1,80}")) {
                problems.add("metadata.instance '" + instance.get() + "' must be 1 to 80 letters, digits, _ . : or -");
            }
            if (!schema.matches("[a-z_][a-z0-9_]*")) {
                problems.add("metadata.schema '" + schema + "' must be a lowercase SQL name (letters, digits, _)");
            }
            return problems;
        }
    }

    /** {@code alerts:}, where the alerts of {@code GET /v1/alerts} are sent while they last, and when they end. */
    public record Alerts(
            @Setting(value = "", unset = "none", doc = "Webhook URLs (http or https, comma-separated) that get one JSON message "
                    + "when an alert fires, again every repeat_interval while it lasts, and when it is resolved; its text field "
                    + "is a Slack-compatible line, so a Slack incoming webhook works as it is. A secret (such URLs carry "
                    + "credentials): use ${VAR}.")
            Secret webhooks,
            @Setting(value = "", unset = "none", doc = "Base URL of an Alertmanager (http://host:9093); alerts are posted to its "
                    + "/api/v2/alerts while they last, and with an end time when they are resolved. Basic auth as "
                    + "http://user:password@host:9093. A secret: use ${VAR} when it carries credentials.")
            Secret alertmanager,
            @Setting(value = "4h", doc = "A webhook hears of an alert that still lasts again after this long (Alertmanager applies "
                    + "its own repeat_interval).")
            Duration repeatInterval,
            @Setting(value = "15s", doc = "How often alerts are evaluated and notifications sent; a notification that failed is "
                    + "tried again at the next evaluation.")
            Duration evaluationInterval,
            @Setting(value = "10m", doc = "Dead letters committed this recently raise the dead_letters alert of their stream (in "
                    + "GET /v1/alerts too); it is resolved once none is this recent.")
            Duration deadLettersWindow) {

        /** The webhook URLs, in order (secrets revealed). */
        public java.util.List<java.net.URI> webhookUrls() {
            return java.util.Arrays.stream(webhooks.reveal().split(",")).map(String::trim).filter(u -> !u.isEmpty())
                    .map(java.net.URI::create).toList();
        }

        /** The Alertmanager's base URL (secret revealed), when set. */
        public Optional<java.net.URI> alertmanagerUrl() {
            return alertmanager.reveal().isBlank() ? Optional.empty() : Optional.of(java.net.URI.create(alertmanager.reveal().trim()));
        }

        /** Whether any notification target is set. */
        public boolean notifies() {
            return !webhooks.reveal().isBlank() || !alertmanager.reveal().isBlank();
        }

        /** Settings that cannot work, as messages; URLs are never quoted (they are secrets), only their position. */
        public java.util.List<String> problems() {
            java.util.List<String> problems = new java.util.ArrayList<>();
            String[] hooks = webhooks.reveal().split(",");
            for (int i = 0; i < hooks.length; i++) {
                if (!hooks[i].isBlank() && !httpUrl(hooks[i].trim())) {
                    problems.add("alerts.webhooks: URL " + (i + 1) + " of " + hooks.length + " is not an http:// or https:// URL "
                            + "with a host (the URLs are not shown: they are secret)");
                }
            }
            if (!alertmanager.reveal().isBlank() && !httpUrl(alertmanager.reveal().trim())) {
                problems.add("alerts.alertmanager is not an http:// or https:// URL with a host (http://host:9093; not shown: it "
                        + "is secret)");
            }
            if (evaluationInterval.toMillis() < 1000) {
                problems.add("alerts.evaluation_interval " + evaluationInterval + " is too short: at least 1s (15s is usual)");
            }
            if (repeatInterval.compareTo(evaluationInterval) < 0) {
                problems.add("alerts.repeat_interval " + repeatInterval + " is shorter than alerts.evaluation_interval "
                        + evaluationInterval + ": use at least that");
            }
            if (deadLettersWindow.toMillis() < 1000) {
                problems.add("alerts.dead_letters_window " + deadLettersWindow + " is too short: at least 1s");
            }
            return problems;
        }

        private static boolean httpUrl(String text) {
            try {
                java.net.URI uri = new java.net.URI(text);
                return (uri.getScheme() != null && (uri.getScheme().equalsIgnoreCase("http")
                        || uri.getScheme().equalsIgnoreCase("https"))) && uri.getHost() != null;
            } catch (java.net.URISyntaxException e) {
                return false;
            }
        }
    }

    public static Settings defaults() {
        return SettingsSchema.PLATFORM.defaults(SettingsSchema.LOCAL);
    }

    public Settings withPort(int newPort) {
        return new Settings(new Http(http.host(), newPort, http.maxBody(), http.maxHeader(), http.tlsKeystore(), http.tlsKeystorePassword()),
                auth, ingest, bus, lake, query, pg, pipelines, models, metadata, alerts);
    }
}
