package io.watershed.project;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watershed.spi.Project;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProjectLoaderTest {
    @TempDir
    Path dir;

    private void write(String file, String text) throws IOException {
        ProjectFiles.write(dir, file, text);
    }

    private List<String> problems(Map<String, String> env) {
        return ProjectFiles.problems(dir, env);
    }

    @Test
    void loadsSettingsStreamsAndSubstitutesVariables() throws IOException {
        write("watershed.yaml", """
                name: shop
                http:
                  port: ${PORT:-8080}
                  max_body: 2MiB
                lake:
                  commit_interval: ${COMMIT}
                  upkeep_interval: 30s
                  compaction_min_files: 4
                  snapshot_retention: 1d
                """);
        write("streams/clicks.yaml", """
                name: clicks
                partitions: 3
                key: user
                retention: 7d
                retention_size: 1GiB
                lake_retention: 90d
                dlq_retention: 30d
                fields:
                  user: string
                  ts: timestamp
                """);
        Project project = new ProjectLoader(Map.of("COMMIT", "2s")).load(dir, null);
        assertThat(project.name()).isEqualTo("shop");
        assertThat(project.settings().http().port()).isEqualTo(8080);
        assertThat(project.settings().http().maxBody()).isEqualTo(2L << 20);
        assertThat(project.settings().lake().commitInterval()).isEqualTo(Duration.ofSeconds(2));
        assertThat(project.settings().ingest().autoCreateStreams()).as("on by default in the local profile").isTrue();
        assertThat(project.streams().get("clicks").partitions()).isEqualTo(3);
        assertThat(project.streams().get("clicks").key()).contains("user");
        assertThat(project.streams().get("clicks").retention()).contains(Duration.ofDays(7));
        assertThat(project.streams().get("clicks").lifecycle()).isEqualTo(new io.watershed.spi.StreamSpec.Lifecycle(
                java.util.Optional.of(1L << 30), java.util.Optional.of(Duration.ofDays(90)), java.util.Optional.of(Duration.ofDays(30)),
                java.util.Optional.empty()));
        assertThat(project.settings().lake().upkeepInterval()).isEqualTo(Duration.ofSeconds(30));
        assertThat(project.settings().lake().compactionMinFiles()).isEqualTo(4);
        assertThat(project.settings().lake().snapshotRetention()).isEqualTo(Duration.ofDays(1));
        assertThat(project.settings().lake().orphanDelay()).isEqualTo(Duration.ofDays(3));
    }

    @Test
    void readsASearchIndexAndReportsItsProblemsWithPositions() throws IOException {
        write("watershed.yaml", "name: shop\n");
        write("streams/logs.yaml", """
                name: logs
                search:
                  text: [message]
                  keywords: [level, service]
                  retention: 7d
                """);
        Project project = new ProjectLoader(Map.of()).load(dir, null);
        assertThat(project.streams().get("logs").search()).contains(new io.watershed.spi.SearchSpec(List.of("message"),
                List.of("level", "service"), java.util.Optional.of(Duration.ofDays(7))));

        write("streams/logs.yaml", """
                name: logs
                fields:
                  message: string
                  level: string
                search:
                  text: [message, msg]
                  keywords: [level, message, _offset]
                  colour: red
                """);
        write("streams/empty.yaml", "name: empty\nsearch: {}\n");
        write("streams/undeclared.yaml", "name: undeclared\nsearch: {keywords: [_time, level]}\n");
        assertThat(problems(Map.of())).containsExactly(
                "streams/empty.yaml:2:9: search lists no fields; name the fields to index under text (analysed into words) and/or "
                        + "keywords (kept whole), e.g. search: {text: [message], keywords: [level]}",
                "streams/logs.yaml:6:19: search.text names field 'msg', which is not among the declared fields [message, level]",
                "streams/logs.yaml:7:13: field 'message' is in both search.text and search.keywords; a field is indexed one way",
                "streams/logs.yaml:7:30: field '_offset' is a provenance column, not an event field; it cannot be searched as keywords",
                "streams/logs.yaml:8:3: unknown key 'colour' in search; allowed: [keywords, retention, text]",
                "streams/undeclared.yaml:2:21: field '_time' has the name of one of the index's own fields [_id, _time, _source]; "
                        + "it cannot be searched as keywords");
    }

    @Test
    void reportsEveryProblemAtOnceWithFileLineAndColumn() throws IOException {
        write("watershed.yaml", """
                name: shop
                htp:
                  port: 1
                http:
                  port: lots
                  max_body: 12 parsecs
                lake:
                  commit_interval: ${SECRET_INTERVAL:?set SECRET_INTERVAL to the commit interval}
                """);
        write("streams/orders.yaml", """
                name: purchases
                partitions: two
                key: customer
                colour: blue
                fields:
                  amount: money
                """);
        assertThat(problems(Map.of())).containsExactly(
                "streams/orders.yaml:1:7: stream name 'purchases' does not match its file name 'orders.yaml'; rename one of them",
                "streams/orders.yaml:2:13: expected an integer, got 'two'",
                "streams/orders.yaml:3:6: key refers to field 'customer', which is not among the declared fields [amount]",
                "streams/orders.yaml:4:1: unknown key 'colour' in a stream; allowed: [description, dlq_retention, event_time, fields, key, lake_retention, lateness, name, partitions, retention, retention_size, search, sources, target_file_size]",
                "streams/orders.yaml:6:11: unknown type 'money' for field 'amount'; expected one of [boolean, double, int, json, long, string, timestamp]",
                "watershed.yaml:2:1: unknown key 'htp' in watershed.yaml (did you mean 'http'?); allowed: [alerts, auth, bus, http, ingest, lake, metadata, models, name, pg, pipelines, profile, profiles, query, schedules]",
                "watershed.yaml:5:9: http.port: expected an integer, got 'lots'",
                "watershed.yaml:6:13: http.max_body: expected a size such as 16MiB, 256MB or 1048576, got '12 parsecs'",
                "watershed.yaml:8:20: ${SECRET_INTERVAL}: set SECRET_INTERVAL to the commit interval");
    }

    @Test
    void everyDeclaredSectionLoadsAndAProfileOverridesIt() throws IOException {
        // auth: was missing from the allowed sections, and max_lake_lag: 0 (documented as "never") was refused
        write("watershed.yaml", """
                auth:
                  token_rate_limit: 50
                ingest:
                  max_lake_lag: 0
                bus:
                  bootstrap_servers: k1:9093
                  security_protocol: SASL_SSL
                  sasl_mechanism: SCRAM-SHA-256
                  sasl_username: svc
                  sasl_password: ${BUS_PASSWORD}
                profiles:
                  strict:
                    auth:
                      token_rate_limit: 5
                """);
        Project project = new ProjectLoader(Map.of("BUS_PASSWORD", "hunter2")).load(dir, null);
        assertThat(project.settings().auth().tokenRateLimit()).isEqualTo(50);
        assertThat(project.settings().ingest().maxLakeLag()).isZero();
        assertThat(project.settings().bus().clientSecurity()).containsEntry("sasl.mechanism", "SCRAM-SHA-256");
        assertThat(io.watershed.spi.SettingsSchema.PLATFORM.describe(project.settings())).containsEntry("bus.sasl_password", "****")
                .doesNotContainValue("hunter2");
        assertThat(new ProjectLoader(Map.of("BUS_PASSWORD", "x")).load(dir, "strict").settings().auth().tokenRateLimit()).isEqualTo(5);

        write("watershed.yaml", "bus:\n  security_protocol: KERBEROS\n");
        assertThat(problems(Map.of())).containsExactly("watershed.yaml:2:22: bus.security_protocol must be one of [PLAINTEXT, SSL, "
                + "SASL_PLAINTEXT, SASL_SSL], got 'KERBEROS'");
        // security that would be ignored without a word is refused
        write("watershed.yaml", "bus:\n  sasl_username: svc\n");
        assertThat(problems(Map.of())).singleElement().asString().contains("are for an external cluster: set bus.bootstrap_servers");
        write("watershed.yaml", "bus:\n  bootstrap_servers: k1:9093\n  sasl_username: svc\n  sasl_password: p\n");
        assertThat(problems(Map.of())).singleElement().asString().contains("bus.sasl_* is set but bus.security_protocol is PLAINTEXT");
        write("watershed.yaml", "bus:\n  bootstrap_servers: k1:9093\n  security_protocol: ' SASL_SSL '\n");
        assertThat(problems(Map.of())).singleElement().asString().endsWith("needs bus.sasl_username and bus.sasl_password");
        write("watershed.yaml", "lake:\n  snapshot_retention: 999999999999999d\n");
        assertThat(problems(Map.of())).singleElement().asString().contains("lake.snapshot_retention: duration '999999999999999d' is "
                + "too long");
    }

    @Test
    void readsSourcesAndMasksTheSharedKey() throws IOException {
        write("watershed.yaml", "ingest:\n  forward_port: 0\n  forward_shared_key: ${FLUENT_KEY}\n");
        write("streams/logs.yaml", """
                sources:
                  - type: forward
                    tags: [app.**, 'nginx.{access,error}']
                    time_field: ''
                  - type: file
                    paths: [logs/*.log, /var/log/x/**/*.json]
                    exclude: ['*.gz']
                    format: regex
                    pattern: '^(?<ip>\\S+) (?<status>\\d+)$'
                    multiline_start: '^\\d'
                    multiline_flush: 2s
                    read_from: end
                    path_field: file
                    max_record_size: 64KiB
                """);
        Project project = new ProjectLoader(Map.of("FLUENT_KEY", "k3y")).load(dir, null);
        assertThat(project.settings().ingest().forwardPort()).isZero();
        assertThat(project.settings().ingest().forwardSharedKey().reveal()).isEqualTo("k3y");
        assertThat(project.settings().toString()).doesNotContain("k3y").contains("****");
        var sources = project.streams().get("logs").sources();
        assertThat(sources).hasSize(2);
        var forward = (io.watershed.spi.SourceSpec.Forward) sources.get(0);
        assertThat(forward.tags()).containsExactly("app.**", "nginx.{access,error}");
        assertThat(forward.tagField()).contains("tag");
        assertThat(forward.timeField()).isEmpty();
        var file = (io.watershed.spi.SourceSpec.FileTail) sources.get(1);
        assertThat(file.paths()).containsExactly(dir.toAbsolutePath().normalize().resolve("logs/*.log").toString(), "/var/log/x/**/*.json");
        assertThat(file.format()).isEqualTo(io.watershed.spi.SourceSpec.Format.REGEX);
        assertThat(file.fromBeginning()).isFalse();
        assertThat(file.maxRecordBytes()).isEqualTo(64 * 1024);
        assertThat(file.multilineFlush()).isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void reportsEverySourceMistakeWithItsPosition() throws IOException {
        write("watershed.yaml", "ingest:\n  forward_port: -2\n");
        write("streams/a.yaml", """
                sources:
                  - type: fluentd
                  - type: forward
                    tags: ['bad tag', 'x.{y']
                  - type: file
                    paths: [../etc/*.log]
                    format: regex
                  - type: file
                    paths: [x.log]
                    pattern: '(?<a>'
                    colour: red
                """);
        write("streams/b.yaml", "sources:\n  - type: forward\n    tags: [app.*]\n");
        String cdc = "key: id\nsources:\n  - type: cdc\n    url: jdbc:postgresql://db:5432/shop\n    user: u\n    table: public.t\n";
        write("streams/d.yaml", cdc);
        write("streams/e.yaml", cdc);
        write("streams/c.yaml", "sources:\n  - type: forward\n    tags: [app.*]\n");
        assertThat(problems(Map.of())).containsExactlyInAnyOrder(
                "watershed.yaml:2:17: ingest.forward_port must be between -1 and 65535, got -2",
                "streams/a.yaml:2:11: unknown source type 'fluentd'; use one of [cdc, file, forward, jdbc, mqtt] (Kafka producers write to the stream's topic directly)",
                "streams/a.yaml:4:12: tag pattern 'bad tag' is not valid: use dot-separated parts of letters, digits, '_' and '-', with * (one part), ** (any parts) or {a,b}",
                "streams/a.yaml:4:23: tag pattern 'x.{y' has unbalanced braces",
                "streams/a.yaml:6:13: '../etc/*.log' must not contain '..'; write the directory it means",
                "streams/a.yaml:7:13: format: regex needs a pattern with named groups, like '^(?<ip>\\S+) (?<status>\\d{3})$'",
                "streams/a.yaml:10:14: not a valid regular expression: Unclosed group near index 5",
                "streams/a.yaml:10:14: pattern is only used with format: regex",
                "streams/a.yaml:11:5: unknown key 'colour' in a file source; allowed: [exclude, format, max_record_size, multiline_flush, multiline_start, path_field, paths, pattern, read_from, type]",
                "streams/c.yaml:2:3: tag pattern 'app.*' is already taken by stream 'b'; an event goes to one stream, so give each pattern to one",
                "streams/e.yaml:3:3: table public.t of jdbc:postgresql://db:5432/shop is already captured by stream 'd'; capture each table into one stream");
    }

    @Test
    void readsDatabaseSourcesAndReportsTheirMistakes() throws IOException {
        write("watershed.yaml", "name: db\n");
        write("streams/orders.yaml", """
                key: id
                sources:
                  - type: jdbc
                    url: jdbc:postgresql://db:5432/shop
                    user: app
                    password: ${DB_PASSWORD}
                    table: public.orders
                    column: id
                    schedule: '@daily'
                  - type: cdc
                    url: jdbc:mariadb://db:3306/shop
                    user: app
                    password: ${DB_PASSWORD}
                    table: shop.orders
                    snapshot: never
                """);
        Project project = new ProjectLoader(Map.of("DB_PASSWORD", "pw")).load(dir, null);
        var sources = project.streams().get("orders").sources();
        var jdbc = (io.watershed.spi.SourceSpec.Jdbc) sources.get(0);
        assertThat(jdbc.schedule()).isEqualTo("0 0 * * *");
        assertThat(jdbc.mode()).isEqualTo(io.watershed.spi.SourceSpec.ImportMode.INCREMENTAL);
        assertThat(jdbc.password().reveal()).isEqualTo("pw");
        assertThat(jdbc.toString()).doesNotContain("pw,");
        var cdc = (io.watershed.spi.SourceSpec.Cdc) sources.get(1);
        assertThat(cdc.snapshot()).isFalse();
        assertThat(project.streams().get("orders").stateTable()).isTrue();

        write("streams/orders.yaml", """
                sources:
                  - type: jdbc
                    url: postgres://db/shop
                    user: app
                    table: orders
                    query: SELECT 1
                  - type: jdbc
                    url: jdbc:mysql://db:3306/shop
                    user: app
                    table: orders
                    schedule: sometimes
                  - type: cdc
                    url: jdbc:postgresql://db:5432/shop
                    user: app
                    table: orders
                  - type: cdc
                    url: jdbc:postgresql://db:5432/shop
                    user: app
                    table: public.orders
                """);
        assertThat(problems(Map.of())).containsExactlyInAnyOrder(
                "streams/orders.yaml:3:10: url 'postgres://db/shop' is not a JDBC URL of a database; use jdbc:postgresql://host:5432/db, jdbc:mysql://host:3306/db or jdbc:mariadb://host:3306/db",
                "streams/orders.yaml:2:5: a jdbc source needs either table (schema.table) or query (a SELECT), not both",
                "streams/orders.yaml:2:5: an incremental jdbc source needs column: the monotonically increasing column (an id or a timestamp) that tells new rows; or use mode: full",
                "streams/orders.yaml:7:5: an incremental jdbc source needs column: the monotonically increasing column (an id or a timestamp) that tells new rows; or use mode: full",
                "streams/orders.yaml:11:15: 'sometimes' is not a cron expression (minute hour day-of-month month day-of-week, UTC; or [@annually, @daily, @hourly, @midnight, @monthly, @weekly, @yearly]): Cron expression contains 1 parts but we expect one of [5]",
                "streams/orders.yaml:15:12: table 'orders' must be schema.table (PostgreSQL) or database.table (MySQL, MariaDB)",
                "streams/orders.yaml:2:3: a stream with a cdc source needs key: the table's primary key column, which state.orders is kept by");
    }

    @Test
    void readsMqttSourcesAndReportsTheirMistakes() throws IOException {
        write("watershed.yaml", "name: plant\n");
        write("streams/readings.yaml", """
                key: id
                sources:
                  - type: mqtt
                    url: tcp://broker:1883
                    topics: [sensors/+/reading, alerts/#]
                    user: reader
                    password: ${MQTT_PASSWORD}
                  - type: mqtt
                    url: ssl://broker:8883
                    topics: [other]
                    qos: 2
                    client_id: plant-other
                    topic_field: ''
                    format: json
                """);
        Project project = new ProjectLoader(Map.of("MQTT_PASSWORD", "mqtt-pw")).load(dir, null);
        var sources = project.streams().get("readings").sources();
        var first = (io.watershed.spi.SourceSpec.Mqtt) sources.get(0);
        assertThat(first.topics()).containsExactly("sensors/+/reading", "alerts/#");
        assertThat(first.qos()).isEqualTo(1);
        assertThat(first.clientId()).as("stable across restarts: from the project and the stream").isEqualTo("watershed-plant-readings");
        assertThat(first.password().reveal()).isEqualTo("mqtt-pw");
        assertThat(first.toString()).doesNotContain("mqtt-pw");
        assertThat(first.topicField()).contains("topic");
        var second = (io.watershed.spi.SourceSpec.Mqtt) sources.get(1);
        assertThat(second.qos()).isEqualTo(2);
        assertThat(second.clientId()).isEqualTo("plant-other");
        assertThat(second.topicField()).isEmpty();

        write("streams/readings.yaml", """
                sources:
                  - type: mqtt
                    url: mqtt://broker
                    topics: [a/b#, 'x+/y', $SYS/#]
                    qos: 0
                    password: secret
                    format: csv
                  - type: mqtt
                    url: tcp://broker:1883
                    client_id: 'has space'
                  - type: mqtt
                    url: tcp://broker:1883
                    topics: [a]
                    qos: 3
                """);
        assertThat(problems(Map.of())).containsExactlyInAnyOrder(
                "streams/readings.yaml:3:10: url 'mqtt://broker' is not a broker address; use tcp://host:1883 or ssl://host:8883",
                "streams/readings.yaml:4:14: topic filter 'a/b#' is not valid: '+' must fill a whole level and '#' the last one, as in sensors/+/temperature or sensors/#",
                "streams/readings.yaml:4:20: topic filter 'x+/y' is not valid: '+' must fill a whole level and '#' the last one, as in sensors/+/temperature or sensors/#",
                "streams/readings.yaml:4:28: topic filter '$SYS/#' is not valid: topics starting with $ are the broker's own",
                "streams/readings.yaml:5:10: qos must be 1 or 2 (0 loses the messages sent while Watershed is away), got 0",
                "streams/readings.yaml:6:15: a password needs its user",
                "streams/readings.yaml:7:13: unknown format 'csv'; an mqtt source takes json (one JSON object per message)",
                "streams/readings.yaml:8:5: an mqtt source needs topics: the topic filters it subscribes to, like [sensors/+/temperature]",
                "streams/readings.yaml:10:16: client_id 'has space' must be 1 to 128 letters, digits, '_', '-' or '.'",
                "streams/readings.yaml:14:10: qos must be 1 or 2 (0 loses the messages sent while Watershed is away), got 3");
    }

    @Test
    void profileOverridesBaseSettingsAndTurnsOffAutoCreate() throws IOException {
        write("watershed.yaml", """
                http:
                  port: 7000
                profiles:
                  cluster:
                    bus:
                      bootstrap_servers: kafka-1:9092
                    http:
                      port: 7001
                """);
        Project local = new ProjectLoader(Map.of()).load(dir, null);
        Project cluster = new ProjectLoader(Map.of()).load(dir, "cluster");
        assertThat(local.settings().http().port()).isEqualTo(7000);
        assertThat(local.settings().bus().bootstrapServers()).isEmpty();
        assertThat(cluster.settings().http().port()).isEqualTo(7001);
        assertThat(cluster.settings().bus().bootstrapServers()).contains("kafka-1:9092");
        assertThat(cluster.settings().ingest().autoCreateStreams()).isFalse();
        assertThatThrownBy(() -> new ProjectLoader(Map.of()).load(dir, "staging"))
                .hasMessageContaining("profile 'staging' is not defined");
    }

    @Test
    void reportsInvalidYamlWithItsPosition() throws IOException {
        write("watershed.yaml", "http:\n  port: [1,\n");
        assertThat(problems(Map.of())).singleElement().asString().startsWith("watershed.yaml:3:1: invalid YAML");
    }

    @Test
    void yamlTagsNeverConstructObjects() throws IOException {
        Path marker = dir.resolve("constructed");
        write("watershed.yaml", "name: x\nhttp:\n  host: !!java.io.FileOutputStream [\"" + marker + "\"]\n"
                + "  port: !!javax.script.ScriptEngineManager [!!java.net.URLClassLoader [[!!java.net.URL [\"http://127.0.0.1:1/\"]]]]\n");
        write("streams/a.yaml", "name: a\nfields: !!java.io.FileOutputStream [\"" + marker + "\"]\n");
        List<String> problems = problems(Map.of());
        assertThat(problems).isNotEmpty().allMatch(p -> p.matches("^(watershed|streams/a)\\.yaml:\\d+:\\d+: .*"));
        assertThat(Files.exists(marker)).as("no class named by a tag was instantiated").isFalse();
    }

    @Test
    void missingProjectFileSaysWhatToDo() {
        assertThat(problems(Map.of())).singleElement().asString().contains("no watershed.yaml here");
    }
}
