package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.bus.EmbeddedKafkaBroker;
import io.watershed.testing.Await;
import io.watershed.testing.DeliveryChecker;
import io.watershed.testing.DeliveryLog;
import io.watershed.testing.LoadGenerator;
import io.watershed.testing.PlatformProcess;
import io.watershed.testing.S3Store;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two Watershed instances of one project, each its own JVM and data directory, sharing a Kafka broker, the lake on S3
 * (S3Proxy) and PostgreSQL (catalog, state and leases): both ingest and answer queries while each stream's lake writer,
 * the pipeline, the model scheduler and lake upkeep run on one of them. Under load, kill -9 of the instance that does
 * that work: the other takes it over within the stated time (lease + a quarter), and every acknowledged event is in the
 * lake once, and in the pipeline's copy once. Then, under load through both, S3 unreachable for ~20 s and every
 * PostgreSQL connection cut: ingest goes on, the lake catches up, nothing is lost or duplicated, the leases stay put.
 */
class TwoInstancesIT {
    static final Duration LEASE = Duration.ofSeconds(3);
    static final String BUCKET = "two-instances";

    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    static Path root;

    static EmbeddedPostgres postgres;
    static S3Store s3;
    static EmbeddedKafkaBroker kafka;

    @BeforeAll
    static void startSharedEngines() throws Exception {
        postgres = EmbeddedPostgres.builder().start();
        s3 = S3Store.start(BUCKET);
        kafka = new EmbeddedKafkaBroker(root.resolve("kafka"), "127.0.0.1", 0, true);
    }

    @AfterAll
    static void stopSharedEngines() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {kafka, s3, postgres}) {
            if (c != null) {
                c.close();
            }
        }
    }

    static Path project() {
        return TestProject.in(root.resolve("project"))
                .bus("bootstrap_servers", kafka.bootstrapServers())
                .lake("warehouse", "s3://" + BUCKET + "/wh")
                .lake("s3_endpoint", s3.endpoint())
                .lake("s3_path_style", "true")
                .lake("s3_access_key_id", s3.accessKey())
                .lake("s3_secret_access_key", s3.secretKey())
                .lake("cache_size", "64MiB")
                .yaml("metadata:\n  url: " + postgres.getJdbcUrl("postgres", "postgres") + "\n  user: postgres\n  lease_ttl: "
                        + LEASE.toSeconds() + "s\n"
                        + "pipelines:\n  checkpoints: " + root.resolve("shared-checkpoints") + "\n"
                        + "query:\n  max_rows: 10000000")
                .stream("orders", "partitions: 3\nkey: key\nfields:\n  producer: string\n  seq: long\n  key: string\n  ts: string\n")
                .pipeline("copy", "INSERT INTO streams.orders_copy SELECT producer, seq, `key` FROM streams.orders;\n")
                .model("per_producer", "SELECT producer, count(*) AS events FROM raw.orders GROUP BY producer\n")
                .stream("customers", "partitions: 1\nsources:\n  - type: jdbc\n    url: " + postgres.getJdbcUrl("postgres", "postgres")
                        + "\n    user: postgres\n    password: postgres\n    table: public.customers\n    mode: incremental\n"
                        + "    column: id\n    schedule: '@daily'\n")
                .write();
    }

    /** S3Proxy cannot check the SDK's default upload checksums (see {@link S3Store}); the platforms' JVMs skip them too. */
    static PlatformProcess start(Path project, String data, Path log) {
        return PlatformProcess.start(project, root.resolve(data), log,
                List.of("-Xmx640m", "-Daws.requestChecksumCalculation=when_required"), System.getProperty("java.class.path"));
    }

    static void sql(String... statements) throws java.sql.SQLException {
        try (java.sql.Connection c = postgres.getPostgresDatabase().getConnection(); java.sql.Statement s = c.createStatement()) {
            for (String statement : statements) {
                s.execute(statement);
            }
        }
    }

    /** Ends every client connection to PostgreSQL, as its restart does; how many. */
    static int cutPostgresConnections() throws java.sql.SQLException {
        try (java.sql.Connection c = postgres.getPostgresDatabase().getConnection();
                java.sql.Statement s = c.createStatement();
                java.sql.ResultSet rs = s.executeQuery("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                        + "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    static Set<String> leases(WatershedHttp http) {
        Set<String> held = new TreeSet<>();
        http.get("/v1/health").json().path("leases").forEach(l -> held.add(l.asText()));
        return held;
    }

    @Test
    void theOtherInstanceTakesOverAKilledOnesWorkWithNothingLostOrDuplicated() throws Exception {
        Path project = project();
        Path logA = root.resolve("a.log");
        Path logB = root.resolve("b.log");
        List<String> mustMove = List.of("lake:orders", "pipeline:copy", "models", "upkeep", "import:customers.jdbc");
        sql("CREATE TABLE public.customers (id bigserial PRIMARY KEY, name text NOT NULL)",
                "INSERT INTO public.customers (name) SELECT 'c' || i FROM generate_series(1, 500) i");
        DeliveryLog deliveries = new DeliveryLog();
        PlatformProcess a = start(project, "data-a", logA);
        PlatformProcess b = null;
        List<AutoCloseable> open = new ArrayList<>(List.of(a));
        try {
            WatershedHttp httpA = a.http();
            httpA.awaitPipelinesRunning(1, Duration.ofSeconds(180));
            b = start(project, "data-b", logB);
            open.add(b);
            WatershedHttp httpB = b.http();
            JsonNode healthA = httpA.get("/v1/health").json();
            JsonNode healthB = httpB.get("/v1/health").json();
            assertThat(healthA.path("instance").asText()).isNotEqualTo(healthB.path("instance").asText());
            assertThat(leases(httpA)).containsAll(mustMove);
            assertThat(leases(httpB)).as("the first instance holds every lease").isEmpty();
            Await.until("B's pipeline on standby once its Flink has started", Duration.ofSeconds(120),
                    () -> httpB.get("/v1/pipelines").json().path("pipelines").get(0).path("state").asText().equals("STANDBY"));
            assertThat(httpB.get("/metrics").body()).contains("watershed_lease_held{instance=\"" + healthB.path("instance").asText()
                    + "\",lease=\"lake:orders\"} 0.0");
            // the standby cannot restart what the other runs, and says who does
            WatershedHttp.Response refused = httpB.postJson("/v1/pipelines/copy/restart", java.util.Map.of());
            assertThat(refused.status()).as(refused.body()).isEqualTo(409);
            assertThat(refused.body()).contains(healthA.path("instance").asText());
            // a jdbc import runs where its lease is: once, though both instances declare it
            Await.until("the first import", Duration.ofSeconds(60), () -> httpB.count("SELECT count(*) FROM raw.customers") == 500);
            WatershedHttp.Response importHere = httpB.post("/v1/sources/customers.jdbc/run", new byte[0]);
            assertThat(importHere.status()).as(importHere.body()).isEqualTo(409);

            // load through both instances, as a load balancer would spread it
            List<LoadGenerator.Target> targets = new CopyOnWriteArrayList<>(List.of(
                    new LoadGenerator.Target(a.url(), a.adminToken()), new LoadGenerator.Target(b.url(), b.adminToken())));
            AtomicLong turn = new AtomicLong();
            try (LoadGenerator load = new LoadGenerator(deliveries, () -> targets.get((int) (turn.getAndIncrement() % targets.size())),
                    "orders", 4, 400, 20, 16)) {
                deliveries.awaitMore(DeliveryLog.Fate.ACKNOWLEDGED, 2_000, Duration.ofSeconds(60));
                Await.until("the copy pipeline wrote on instance A", Duration.ofSeconds(180),
                        () -> httpB.count("SELECT count(*) FROM raw.orders_copy") > 0);

                a.kill(); // requests in flight to A get no answer: indeterminate, allowed either way
                long killed = System.nanoTime();
                targets.remove(0); // the load balancer's health check drops A
                Await.until("instance B holds " + mustMove, Duration.ofSeconds(60), () -> leases(httpB).containsAll(mustMove));
                Duration takeover = Duration.ofNanos(System.nanoTime() - killed);
                System.out.println("TwoInstancesIT: takeover after kill -9 in " + takeover.toMillis() + " ms (lease " + LEASE + ")");
                // the lease ends at most LEASE after A's last renewal, B tries every quarter of it
                assertThat(takeover).isLessThan(LEASE.plus(LEASE.dividedBy(4)).plusSeconds(3));
                httpB.awaitPipelinesRunning(1, Duration.ofSeconds(180));
                deliveries.awaitMore(DeliveryLog.Fate.ACKNOWLEDGED, 2_000, Duration.ofSeconds(60));
                // the import moved too: it goes on from the shared watermark
                sql("INSERT INTO public.customers (name) SELECT 'late' || i FROM generate_series(1, 200) i");
                assertThat(httpB.post("/v1/sources/customers.jdbc/run", new byte[0]).status()).isEqualTo(202);
            }

            Await.until("the import after the takeover", Duration.ofSeconds(60),
                    () -> httpB.count("SELECT count(*) FROM raw.customers") == 700);
            DeliveryChecker.Report report = DeliveryChecker.awaitCommittedAndCheck(deliveries, httpB, "raw.orders");
            System.out.println("TwoInstancesIT: " + report);
            assertThat(report.clean()).as(report + "\nB's problems:\n" + PlatformProcess.problems(logB, 40)).isTrue();
            assertThat(report.lost()).isZero();
            assertThat(report.duplicated()).isZero();

            // the pipeline resumed on B from A's last checkpoint: each stored event in its copy once
            long stored = httpB.count("SELECT count(*) FROM raw.orders");
            Await.until("the copy caught up with raw.orders (" + stored + ")", Duration.ofSeconds(180),
                    () -> httpB.count("SELECT count(*) FROM raw.orders_copy") >= stored);
            assertThat(httpB.count("SELECT count(*) FROM raw.orders_copy")).as("each event copied once").isEqualTo(stored);
            assertThat(httpB.count("SELECT count(*) FROM (SELECT DISTINCT producer, seq FROM raw.orders_copy)")).isEqualTo(stored);
            assertThat(httpB.count("SELECT count(*) FROM (SELECT producer, seq FROM raw.orders_copy EXCEPT "
                    + "SELECT producer, seq FROM raw.orders)")).isZero();

            // A comes back: B keeps the work (no flapping), and A answers queries over what B wrote
            a = start(project, "data-a", logA);
            open.add(a);
            WatershedHttp againA = a.http();
            assertThat(leases(againA)).isEmpty();
            Await.until("instance A reads what B committed", Duration.ofSeconds(60),
                    () -> againA.count("SELECT count(*) FROM raw.orders") == stored);
            assertThat(leases(httpB)).containsAll(mustMove);

            // faults of the shared engines under load through both instances: S3 unreachable for ~20 s, then every
            // PostgreSQL connection cut (as a restart of PostgreSQL does)
            List<LoadGenerator.Target> both = List.of(new LoadGenerator.Target(a.url(), a.adminToken()),
                    new LoadGenerator.Target(b.url(), b.adminToken()));
            long s3Outage;
            int cut;
            try (LoadGenerator load = new LoadGenerator(deliveries, () -> both.get((int) (turn.getAndIncrement() % 2)), "orders",
                    "q", false, 4, 400, 20, 16, 0)) {
                deliveries.awaitMore(DeliveryLog.Fate.ACKNOWLEDGED, 1_000, Duration.ofSeconds(60));
                s3.stop();
                long down = System.nanoTime();
                // ingest goes on while the lake cannot write: what is acknowledged waits in Kafka
                deliveries.awaitMore(DeliveryLog.Fate.ACKNOWLEDGED, 8_000, Duration.ofSeconds(90));
                s3.start();
                s3Outage = Duration.ofNanos(System.nanoTime() - down).toMillis();
                cut = cutPostgresConnections();
                deliveries.awaitMore(DeliveryLog.Fate.ACKNOWLEDGED, 2_000, Duration.ofSeconds(60));
            }
            long recovering = System.nanoTime();
            DeliveryChecker.Report afterFaults = DeliveryChecker.awaitCommittedAndCheck(deliveries, httpB, "raw.orders");
            System.out.println("TwoInstancesIT: S3 unreachable for " + s3Outage + " ms, " + cut + " PostgreSQL connections cut; "
                    + "the lake caught up " + Duration.ofNanos(System.nanoTime() - recovering).toMillis() + " ms after the load stopped; "
                    + afterFaults);
            assertThat(afterFaults.clean()).as(afterFaults + "\nB's problems:\n" + PlatformProcess.problems(logB, 40)).isTrue();
            assertThat(cut).isPositive();
            Await.until("instance B holds " + mustMove + " after the faults", Duration.ofSeconds(30),
                    () -> leases(httpB).containsAll(mustMove));
            long storedAfterFaults = httpB.count("SELECT count(*) FROM raw.orders");
            Await.until("the copy caught up again (" + storedAfterFaults + ")", Duration.ofSeconds(180),
                    () -> httpB.count("SELECT count(*) FROM raw.orders_copy") >= storedAfterFaults);
            assertThat(httpB.count("SELECT count(*) FROM (SELECT DISTINCT producer, seq FROM raw.orders_copy)"))
                    .isEqualTo(httpB.count("SELECT count(*) FROM raw.orders_copy")).isEqualTo(storedAfterFaults);
            assertThat(httpB.count("SELECT count(*) FROM raw.customers")).as("each row imported once").isEqualTo(700);

            // a clean stop of B hands everything to A at once, not after the lease runs out
            assertThat(b.stop(Duration.ofSeconds(90))).isZero();
            Await.until("instance A holds " + mustMove + " after B stopped", LEASE,
                    () -> leases(againA).containsAll(mustMove));
        } catch (AssertionError | RuntimeException e) {
            System.out.println("A's problems:\n" + PlatformProcess.problems(logA, 40) + "\nB's problems:\n"
                    + PlatformProcess.problems(logB, 40));
            throw e;
        } finally {
            for (AutoCloseable c : open) {
                c.close();
            }
        }
    }
}
