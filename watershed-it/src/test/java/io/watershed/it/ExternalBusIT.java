package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watershed.bus.BrokerAccess;
import io.watershed.bus.EmbeddedKafkaBroker;
import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The platform on a Kafka cluster of its own that takes SASL/SCRAM logins only (a real KRaft broker whose client
 * listener authenticates every connection and authorizes with ACLs): every Kafka client of the platform — ingest, keyed
 * ingest's transactions, the lake writer, the fresh tail, retention, rates, a pipeline's Kafka source and its stream
 * sink — connects with the {@code bus.security_*} settings, or the events would not arrive where they are checked.
 */
class ExternalBusIT {
    private static final String PASSWORD = "correct-horse-battery";

    @TempDir
    static Path root;

    private static EmbeddedKafkaBroker cluster;

    @BeforeAll
    static void startTheCluster() {
        // authenticated: its client listener takes SCRAM logins only; "watershed" is the broker's super user
        cluster = new EmbeddedKafkaBroker(root.resolve("cluster"), "127.0.0.1", 0, false);
        try (BrokerAccess access = new BrokerAccess(cluster.bootstrapServers())) {
            access.allowLogin("watershed", PASSWORD);
        }
    }

    @AfterAll
    static void stopTheCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static TestProject project(String name, String password) {
        return TestProject.in(root.resolve(name))
                .bus("bootstrap_servers", cluster.externalAddress())
                .bus("security_protocol", "SASL_PLAINTEXT")
                .bus("sasl_mechanism", "SCRAM-SHA-256")
                .bus("sasl_username", "watershed")
                .bus("sasl_password", password);
    }

    @Test
    void everyClientOfThePlatformLogsInToTheExternalCluster() throws Exception {
        TestProject project = project("p", PASSWORD)
                .stream("orders", "partitions: 2\nkey: id\nfields:\n  id: string\n  amount: long\n")
                .pipeline("big", "INSERT INTO streams.big_orders SELECT id, amount FROM streams.orders WHERE amount >= 100;\n");
        try (Platform platform = Platform.start(project.load(), root.resolve("d"))) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            assertThat(platform.embeddedBus()).isFalse();
            http.awaitPipelinesRunning(1, Duration.ofSeconds(180));
            StringBuilder body = new StringBuilder();
            for (int i = 0; i < 20; i++) {
                body.append("{\"id\":\"o").append(i).append("\",\"amount\":").append(i * 10).append("}\n");
            }
            assertThat(http.events("orders", body.toString()).status()).isEqualTo(200);
            assertThat(http.events("orders", "{\"id\":\"k1\",\"amount\":500}\n", "Idempotency-Key", "key-1").status()).as("keyed: a transaction")
                    .isEqualTo(200);
            assertThat(http.count("SELECT count(*) FROM raw.orders")).as("the fresh tail reads the cluster at once").isEqualTo(21);
            Await.until("the lake writer committed the orders", Duration.ofSeconds(60),
                    () -> http.count("SELECT count(*) FROM committed.raw.orders") == 21);
            Await.until("the pipeline's sink wrote the big orders", Duration.ofSeconds(120),
                    () -> http.count("SELECT count(*) FROM raw.big_orders") == 11);
            String answers = http.get("/v1/sources").body() + http.get("/v1/pipelines").body() + http.get("/v1/health").body();
            assertThat(answers).doesNotContain(PASSWORD);
        }
    }

    @Test
    void aWrongPasswordStopsTheStartWithTheReason() {
        TestProject project = project("wrong", "not-the-password").stream("orders", "partitions: 1\n");
        assertThatThrownBy(() -> Platform.start(project.load(), root.resolve("d-wrong")).close())
                .hasStackTraceContaining("Authentication failed")
                .satisfies(e -> assertThat(stackTrace(e)).doesNotContain("not-the-password"));
    }

    private static String stackTrace(Throwable e) {
        java.io.StringWriter out = new java.io.StringWriter();
        e.printStackTrace(new java.io.PrintWriter(out));
        return out.toString();
    }
}
