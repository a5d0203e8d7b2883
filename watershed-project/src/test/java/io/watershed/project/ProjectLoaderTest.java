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
        assertThat(project.settings().port()).isEqualTo(8080);
        assertThat(project.settings().maxBodyBytes()).isEqualTo(2L << 20);
        assertThat(project.settings().commitInterval()).isEqualTo(Duration.ofSeconds(2));
        assertThat(project.settings().autoCreateStreams()).as("on by default in the local profile").isTrue();
        assertThat(project.streams().get("clicks").partitions()).isEqualTo(3);
        assertThat(project.streams().get("clicks").key()).contains("user");
        assertThat(project.streams().get("clicks").retention()).contains(Duration.ofDays(7));
        assertThat(project.streams().get("clicks").lifecycle()).isEqualTo(new io.watershed.spi.StreamSpec.Lifecycle(
                java.util.Optional.of(1L << 30), java.util.Optional.of(Duration.ofDays(90)), java.util.Optional.of(Duration.ofDays(30)),
                java.util.Optional.empty()));
        assertThat(project.settings().upkeep()).isEqualTo(new io.watershed.spi.Settings.UpkeepSettings(Duration.ofSeconds(30), 4,
                Duration.ofDays(1), Duration.ofDays(3)));
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
                "streams/orders.yaml:4:1: unknown key 'colour' in a stream; allowed: [description, dlq_retention, event_time, fields, key, lake_retention, lateness, name, partitions, retention, retention_size, target_file_size]",
                "streams/orders.yaml:6:11: unknown type 'money' for field 'amount'; expected one of [boolean, double, int, json, long, string, timestamp]",
                "watershed.yaml:2:1: unknown key 'htp' in watershed.yaml (did you mean 'http'?); allowed: [bus, http, ingest, lake, models, name, pipelines, profile, profiles, query, schedules]",
                "watershed.yaml:5:9: expected an integer, got 'lots'",
                "watershed.yaml:6:13: expected a size such as 16MiB, 256MB or 1048576, got '12 parsecs'",
                "watershed.yaml:8:20: ${SECRET_INTERVAL}: set SECRET_INTERVAL to the commit interval");
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
        assertThat(local.settings().port()).isEqualTo(7000);
        assertThat(local.settings().bootstrapServers()).isEmpty();
        assertThat(cluster.settings().port()).isEqualTo(7001);
        assertThat(cluster.settings().bootstrapServers()).contains("kafka-1:9092");
        assertThat(cluster.settings().autoCreateStreams()).isFalse();
        assertThatThrownBy(() -> new ProjectLoader(Map.of()).load(dir, "staging"))
                .hasMessageContaining("profile 'staging' is not defined");
    }

    @Test
    void reportsInvalidYamlWithItsPosition() throws IOException {
        write("watershed.yaml", "http:\n  port: [1,\n");
        assertThat(problems(Map.of())).singleElement().asString().startsWith("watershed.yaml:3:1: invalid YAML");
    }

    @Test
    void missingProjectFileSaysWhatToDo() {
        assertThat(problems(Map.of())).singleElement().asString().contains("no watershed.yaml here");
    }
}
