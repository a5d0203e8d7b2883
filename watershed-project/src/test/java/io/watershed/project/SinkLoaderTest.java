package io.watershed.project;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.SinkSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** sinks/*.yaml through the project loader: a jdbc sink read with its defaults, mistakes refused at their position. */
class SinkLoaderTest {
    @TempDir
    Path dir;

    @Test
    void readsJdbcSinksWithSecretPasswordAndDefaults() throws IOException {
        ProjectFiles.write(dir, "watershed.yaml", "name: shop\n");
        ProjectFiles.write(dir, "sinks/page_counts.yaml", """
                type: jdbc
                url: jdbc:postgresql://db:5432/marts
                user: loader
                password: ${MARTS_PASSWORD}
                key: [page]
                batch_size: 500
                flush_interval: 200ms
                """);
        ProjectFiles.write(dir, "sinks/clicks_log.yml", """
                type: jdbc
                url: jdbc:mariadb://db:3306/serving
                user: loader
                table: serving.clicks
                """);
        Map<String, SinkSpec> sinks = new ProjectLoader(Map.of("MARTS_PASSWORD", "s3cret")).load(dir, null).sinks();
        assertThat(sinks).containsOnlyKeys("page_counts", "clicks_log");
        SinkSpec.Jdbc counts = (SinkSpec.Jdbc) sinks.get("page_counts");
        assertThat(counts.table()).isEqualTo("page_counts");
        assertThat(counts.key()).containsExactly("page");
        assertThat(counts.dialect()).isEqualTo("postgresql");
        assertThat(counts.batchSize()).isEqualTo(500);
        assertThat(counts.flushInterval()).isEqualTo(Duration.ofMillis(200));
        assertThat(counts.password().reveal()).isEqualTo("s3cret");
        assertThat(counts.toString()).doesNotContain("s3cret").contains("password=****");
        assertThat(counts.location()).isEqualTo("sinks/page_counts.yaml:1:1");
        SinkSpec.Jdbc log = (SinkSpec.Jdbc) sinks.get("clicks_log");
        assertThat(log.key()).isEmpty();
        assertThat(log.table()).isEqualTo("serving.clicks");
        assertThat(log.dialect()).isEqualTo("mariadb");
        assertThat(log.batchSize()).isEqualTo(SinkSpec.DEFAULT_BATCH_SIZE);
        assertThat(log.flushInterval()).isEqualTo(SinkSpec.DEFAULT_FLUSH_INTERVAL);
    }

    @Test
    void reportsEveryMistakeAtItsPosition() throws IOException {
        ProjectFiles.write(dir, "watershed.yaml", "name: shop\n");
        ProjectFiles.write(dir, "sinks/counts.yaml", """
                type: jdbc
                url: postgres://db/marts?password=x
                user: loader
                password: ${NOT_SET}
                table: marts.counts.extra
                key: [page, page, "a-b"]
                batch_size: lots
                flush_intervall: 1s
                """);
        ProjectFiles.write(dir, "sinks/search.yaml", "type: elastic\n");
        ProjectFiles.write(dir, "sinks/Bad.yaml", "type: jdbc\n");
        ProjectFiles.write(dir, "sinks/nourl.yaml", "type: jdbc\nuser: x\n");
        List<String> problems = ProjectFiles.problems(dir, Map.of());
        assertThat(problems).anySatisfy(p -> assertThat(p).startsWith("sinks/Bad.yaml:1:1: sink file name 'Bad' is not a valid"));
        assertThat(problems).contains(
                "sinks/counts.yaml:8:1: unknown key 'flush_intervall' in a jdbc sink (did you mean 'flush_interval'?); allowed: "
                        + "[batch_size, description, flush_interval, key, name, password, table, type, url, user]",
                "sinks/counts.yaml:2:6: url 'postgres://db/marts?...' is not a JDBC URL of a database; use "
                        + "jdbc:postgresql://host:5432/db, jdbc:mysql://host:3306/db or jdbc:mariadb://host:3306/db",
                "sinks/counts.yaml:5:8: table 'marts.counts.extra' is not a table name; write schema.table or table",
                "sinks/counts.yaml:6:13: key column 'page' is listed twice",
                "sinks/counts.yaml:6:19: key column 'a-b' is not a column name",
                "sinks/search.yaml:1:7: unknown sink type 'elastic'; use one of [cassandra, jdbc]",
                "sinks/nourl.yaml:1:1: a jdbc sink needs url");
        assertThat(problems).anySatisfy(p -> assertThat(p).startsWith("sinks/counts.yaml:4:11:").contains("NOT_SET"));
        assertThat(problems).anySatisfy(p -> assertThat(p).startsWith("sinks/counts.yaml:7:13:"));
        assertThat(String.join("\n", problems)).doesNotContain("password=x");
    }

    @Test
    void readsCassandraSinksWithDefaults() throws IOException {
        ProjectFiles.write(dir, "watershed.yaml", "name: shop\n");
        ProjectFiles.write(dir, "sinks/page_counts.yaml", """
                type: cassandra
                contact_points: [cass1:9042, "10.0.0.2:9043"]
                local_datacenter: dc1
                keyspace: serving
                key: [site, page]
                partition_key: [site]
                ttl: 7d
                consistency: local_one
                user: loader
                password: ${CASSANDRA_PASSWORD}
                replication_factor: 3
                max_in_flight: 16
                """);
        ProjectFiles.write(dir, "sinks/click_log.yaml", """
                type: cassandra
                contact_points: localhost:9042
                local_datacenter: datacenter1
                keyspace: Serving
                table: clicks
                key: id
                """);
        Map<String, SinkSpec> sinks = new ProjectLoader(Map.of("CASSANDRA_PASSWORD", "s3cret")).load(dir, null).sinks();
        SinkSpec.Cassandra counts = (SinkSpec.Cassandra) sinks.get("page_counts");
        assertThat(counts.contactPoints()).containsExactly("cass1:9042", "10.0.0.2:9043");
        assertThat(counts.localDatacenter()).isEqualTo("dc1");
        assertThat(counts.table()).isEqualTo("page_counts");
        assertThat(counts.key()).containsExactly("site", "page");
        assertThat(counts.partitionKey()).containsExactly("site");
        assertThat(counts.ttl()).contains(Duration.ofDays(7));
        assertThat(counts.consistency()).isEqualTo("LOCAL_ONE");
        assertThat(counts.replicationFactor()).isEqualTo(3);
        assertThat(counts.maxInFlight()).isEqualTo(16);
        assertThat(counts.password().reveal()).isEqualTo("s3cret");
        assertThat(counts.toString()).doesNotContain("s3cret").contains("password=****");
        SinkSpec.Cassandra log = (SinkSpec.Cassandra) sinks.get("click_log");
        assertThat(log.contactPoints()).containsExactly("localhost:9042");
        assertThat(log.keyspace()).isEqualTo("Serving");
        assertThat(log.table()).isEqualTo("clicks");
        assertThat(log.partitionKey()).containsExactly("id");
        assertThat(log.ttl()).isEmpty();
        assertThat(log.consistency()).isEqualTo("LOCAL_QUORUM");
        assertThat(log.user()).isEmpty();
        assertThat(log.replicationFactor()).isEqualTo(1);
        assertThat(log.maxInFlight()).isEqualTo(SinkSpec.Cassandra.DEFAULT_MAX_IN_FLIGHT);
        assertThat(log.batchSize()).isEqualTo(SinkSpec.DEFAULT_BATCH_SIZE);
    }

    @Test
    void reportsCassandraMistakesAtTheirPosition() throws IOException {
        ProjectFiles.write(dir, "watershed.yaml", "name: shop\n");
        ProjectFiles.write(dir, "sinks/counts.yaml", """
                type: cassandra
                contact_points: [cass1, "cass2:99999"]
                keyspace: serving-ks
                table: x.y
                key: [site, page]
                partition_key: [page, day]
                ttl: 100ms
                consistency: SERIAL
                password: ${PW}
                url: jdbc:postgresql://db/x
                """);
        ProjectFiles.write(dir, "sinks/unkeyed.yaml", """
                type: cassandra
                contact_points: [cass1:9042]
                local_datacenter: dc1
                keyspace: serving
                """);
        List<String> problems = ProjectFiles.problems(dir, Map.of("PW", "s3cret"));
        assertThat(problems).contains(
                "sinks/counts.yaml:1:1: a cassandra sink needs local_datacenter",
                "sinks/counts.yaml:2:18: contact point 'cass1' is not host:port (e.g. cassandra1:9042)",
                "sinks/counts.yaml:2:25: contact point 'cass2:99999' is not host:port (e.g. cassandra1:9042)",
                "sinks/counts.yaml:3:11: keyspace 'serving-ks' is not a keyspace name; use letters, digits and _, at most 48, "
                        + "starting with a letter",
                "sinks/counts.yaml:4:8: table 'x.y' is not a table name; use letters, digits and _, at most 48, starting with a "
                        + "letter (the keyspace is set by keyspace:)",
                "sinks/counts.yaml:6:16: partition_key column(s) [day] are not in key [site, page]; the partition key is part of "
                        + "the primary key",
                "sinks/counts.yaml:7:6: ttl must be from 1s to 7300d (Cassandra's longest), got PT0.1S",
                "sinks/counts.yaml:8:14: consistency 'SERIAL' is not a consistency level of a write; use one of [ANY, ONE, TWO, "
                        + "THREE, QUORUM, ALL, LOCAL_ONE, LOCAL_QUORUM, EACH_QUORUM]",
                "sinks/counts.yaml:9:1: a password without a user; set user: too, or remove the password",
                "sinks/unkeyed.yaml:1:1: a cassandra sink needs key: the columns of its table's primary key, as Cassandra keeps "
                        + "every row by one; for an append-only query name the columns that tell its rows apart (an event id)");
        assertThat(problems).anySatisfy(p -> assertThat(p).startsWith("sinks/counts.yaml:10:1: unknown key 'url' in a cassandra sink"));
        assertThat(String.join("\n", problems)).doesNotContain("s3cret");
    }
}
