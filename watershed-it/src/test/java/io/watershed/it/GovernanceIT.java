package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.access.AccessStore;
import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Governance over HTTP and SQL on a running platform: every endpoint but health needs a token; tokens are stored as
 * hashes, expire and are revoked at once; a stream-scoped token writes its stream only; grants decide which tables and
 * columns a query reads, however it is written; admins read the audit log; the surface refuses oversized headers,
 * too many requests and names that try to leave their place.
 */
class GovernanceIT {
    @TempDir
    static Path root;

    static Platform platform;
    static WatershedHttp admin;
    static WatershedHttp analyst;
    static String analystToken;

    @BeforeAll
    static void start() {
        platform = Platform.start(TestProject.in(root.resolve("project"))
                .stream("users", "fields:\n  id: long\n  email: string\n  country: string\n")
                .stream("payroll", "fields:\n  id: long\n  salary: long\n")
                .model("by_country", "SELECT country, count(*) AS n FROM raw.users GROUP BY country")
                .load(), root.resolve("data"));
        admin = new WatershedHttp(platform.url(), platform.adminToken());
        assertThat(admin.events("users", "{\"id\":1,\"email\":\"ada@example.com\",\"country\":\"NL\"}\n"
                + "{\"id\":2,\"email\":\"bob@example.com\",\"country\":\"KR\"}").status()).isEqualTo(200);
        assertThat(admin.events("payroll", "{\"id\":1,\"salary\":90000}").status()).isEqualTo(200);
        assertThat(admin.events("clicks", "{\"user\":\"ada\",\"page\":\"/home\"}").status()).isEqualTo(200);
        ok(admin.postJson("/v1/access/roles", Map.of("name", "analyst")));
        ok(admin.postJson("/v1/access/grants", Map.of("role", "analyst", "privilege", "read", "object", "table:raw.clicks")));
        ok(admin.postJson("/v1/access/grants", Map.of("role", "analyst", "privilege", "read", "object", "table:raw.users",
                "columns", List.of("id", "country"))));
        ok(admin.postJson("/v1/access/users", Map.of("name", "ana")));
        ok(admin.postJson("/v1/access/users/ana/roles", Map.of("role", "analyst")));
        analystToken = ok(admin.postJson("/v1/access/tokens", Map.of("user", "ana", "name", "notebook"))).path("token").asText();
        analyst = admin.as(analystToken);
        Await.until("the rows in the lake", Duration.ofSeconds(60), () -> admin.count("SELECT count(*) FROM committed.raw.users") == 2
                && admin.count("SELECT count(*) FROM committed.raw.payroll") == 1);
    }

    @AfterAll
    static void stop() {
        if (platform != null) {
            platform.close();
        }
    }

    static JsonNode ok(WatershedHttp.Response r) {
        assertThat(r.status()).as(r.body()).isBetween(200, 299);
        return r.json();
    }

    static void refused(WatershedHttp.Response r, int status, String code) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.json().path("error").path("code").asText()).as(r.body()).isEqualTo(code);
    }

    @Test
    void everyEndpointButHealthNeedsAToken() {
        WatershedHttp anonymous = admin.as(null);
        assertThat(anonymous.get("/v1/health").status()).isEqualTo(200);
        for (String path : List.of("/v1/streams", "/v1/pipelines", "/v1/models", "/v1/runs", "/v1/lineage", "/v1/tables", "/v1/sources",
                "/metrics", "/v1/whoami", "/v1/access/users", "/v1/access/tokens")) {
            refused(anonymous.get(path), 401, "UNAUTHENTICATED");
            refused(admin.as("wst_aaaaaaaaaaaaaaaa_" + "x".repeat(43)).get(path), 401, "UNAUTHENTICATED");
        }
        refused(anonymous.events("clicks", "{}"), 401, "UNAUTHENTICATED");
        refused(anonymous.sql("SELECT 1"), 401, "UNAUTHENTICATED");
        refused(anonymous.post("/v1/runs", "{}".getBytes()), 401, "UNAUTHENTICATED");
        refused(anonymous.post("/v1/tables/raw.clicks/compact", new byte[0]), 401, "UNAUTHENTICATED");
        refused(anonymous.post("/v1/pipelines/p/stop", new byte[0]), 401, "UNAUTHENTICATED");
        refused(anonymous.postJson("/v1/access/tokens", Map.of("user", "admin")), 401, "UNAUTHENTICATED");
        // the last character changed (to A, or to B when it was A: one token in 64 ends in A)
        char last = analystToken.charAt(analystToken.length() - 1);
        WatershedHttp.Response wrong = admin.as(analystToken.substring(0, analystToken.length() - 1) + (last == 'A' ? 'B' : 'A'))
                .get("/v1/streams");
        refused(wrong, 401, "UNAUTHENTICATED");
        assertThat(wrong.body()).doesNotContain(analystToken.substring(21));
    }

    @Test
    void tokensAreStoredAsHashesAndTheAdminTokenFileIsPrivate() throws Exception {
        Path file = platform.adminTokenFile();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("data/access.db")))).isEqualTo("rw-------");
        List<String> stored = new ArrayList<>();
        try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + root.resolve("data/access.db"));
                ResultSet rs = db.createStatement().executeQuery("SELECT * FROM tokens")) {
            while (rs.next()) {
                for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                    stored.add(String.valueOf(rs.getObject(i)));
                }
            }
        }
        for (String token : List.of(platform.adminToken(), analystToken)) {
            String secret = token.substring(AccessStore.tokenId(token).orElseThrow().length() + 1);
            assertThat(String.join("|", stored)).doesNotContain(secret);
        }
        JsonNode listed = ok(admin.get("/v1/access/tokens"));
        assertThat(listed.toString()).doesNotContain(analystToken.substring(21)).contains("notebook");
    }

    @Test
    void aRevokedTokenStopsAtOnceAndAnExpiredOneWhenItExpires() {
        JsonNode issued = ok(admin.postJson("/v1/access/tokens", Map.of("user", "ana", "name", "short")));
        WatershedHttp shortLived = admin.as(issued.path("token").asText());
        assertThat(shortLived.get("/v1/whoami").json().path("user").asText()).isEqualTo("ana");
        ok(admin.delete("/v1/access/tokens/" + issued.path("id").asText()));
        refused(shortLived.get("/v1/whoami"), 401, "UNAUTHENTICATED");

        JsonNode expiring = ok(admin.postJson("/v1/access/tokens", Map.of("user", "ana", "expires_in", "2s")));
        WatershedHttp soon = admin.as(expiring.path("token").asText());
        assertThat(soon.get("/v1/whoami").status()).isEqualTo(200);
        Await.until("the token to expire", Duration.ofSeconds(10), () -> soon.get("/v1/whoami").status() == 401);
    }

    @Test
    void aStreamScopedTokenWritesItsStreamOnly() {
        ok(admin.postJson("/v1/access/users", Map.of("name", "collector", "kind", "service")));
        ok(admin.postJson("/v1/access/roles", Map.of("name", "writer")));
        ok(admin.postJson("/v1/access/grants", Map.of("role", "writer", "privilege", "write", "object", "stream:*")));
        ok(admin.postJson("/v1/access/users/collector/roles", Map.of("role", "writer")));
        String token = ok(admin.postJson("/v1/access/tokens", Map.of("user", "collector", "stream", "clicks"))).path("token").asText();
        WatershedHttp collector = admin.as(token);
        assertThat(collector.events("clicks", "{\"user\":\"cyd\"}").status()).isEqualTo(200);
        refused(collector.events("users", "{\"id\":9}"), 403, "FORBIDDEN");
        refused(collector.events("orders", "{\"id\":9}"), 403, "FORBIDDEN");
        refused(collector.get("/v1/streams"), 403, "FORBIDDEN");
        refused(collector.sql("SELECT count(*) FROM raw.clicks"), 403, "FORBIDDEN");
        refused(analyst.events("clicks", "{\"user\":\"ana\"}"), 403, "FORBIDDEN");
    }

    @Test
    void adminOnlyAndGrantedOperations() {
        refused(analyst.get("/v1/access/users"), 403, "FORBIDDEN");
        refused(analyst.postJson("/v1/access/grants", Map.of("role", "analyst", "privilege", "read", "object", "table:*")), 403,
                "FORBIDDEN");
        refused(analyst.get("/v1/sources"), 403, "FORBIDDEN");
        refused(analyst.post("/v1/tables/raw.clicks/compact", new byte[0]), 403, "FORBIDDEN");
        refused(analyst.post("/v1/pipelines/pages/stop", new byte[0]), 403, "FORBIDDEN");
        refused(admin.post("/v1/pipelines/pages/stop", new byte[0]), 404, "UNKNOWN_PIPELINE");
        refused(analyst.postJson("/v1/runs", Map.of("models", List.of("by_country"))), 403, "FORBIDDEN");
        refused(analyst.postJson("/v1/backfills", Map.of("model", "by_country", "from", "2026-11-01", "to", "2026-11-01")), 403,
                "FORBIDDEN");
        assertThat(ok(analyst.get("/v1/whoami")).path("roles").toString()).contains("analyst");
        String tables = ok(analyst.get("/v1/tables")).toString();
        assertThat(tables).as("the tables the analyst may read").contains("raw.clicks").contains("raw.users").doesNotContain("payroll");
        assertThat(ok(admin.get("/v1/tables")).toString()).contains("raw.payroll");
        refused(admin.postJson("/v1/access/grants", Map.of("role", "analyst", "privilege", "read", "object",
                "table:raw.watershed_audit")), 400, "INVALID_INPUT");
        refused(admin.postJson("/v1/access/grants", Map.of("role", "analyst", "privilege", "write", "object", "table:raw.clicks")),
                400, "INVALID_INPUT");
    }

    @Test
    void grantedTablesAndColumnsAreReadable() {
        assertThat(analyst.count("SELECT count(*) FROM raw.clicks")).isGreaterThanOrEqualTo(1);
        assertThat(analyst.count("WITH c AS (SELECT * FROM raw.clicks) SELECT count(*) FROM c")).isGreaterThanOrEqualTo(1);
        JsonNode users = analyst.query("SELECT * FROM raw.users ORDER BY id");
        assertThat(users.path("columns").toString()).isEqualTo("[\"id\",\"country\"]");
        assertThat(users.toString()).doesNotContain("example.com");
        assertThat(analyst.query("SELECT u FROM raw.users u").toString()).doesNotContain("example.com").doesNotContain("email");
        assertThat(analyst.query("SELECT raw.users.id FROM raw.users ORDER BY 1").path("rows").toString()).isEqualTo("[[1],[2]]");
        assertThat(analyst.query("SELECT to_json(t) FROM committed.raw.users t").toString()).doesNotContain("example.com");
        assertThat(analyst.query("DESCRIBE SELECT * FROM raw.users").toString()).doesNotContain("email");
        assertThat(analyst.query("SELECT * FROM range(3)").path("rows")).hasSize(3);
        for (String sql : List.of("SELECT email FROM raw.users", "SELECT users.email FROM raw.users",
                "SELECT * FROM raw.users WHERE email LIKE '%ada%'", "SELECT COLUMNS('e.*') FROM raw.users")) {
            WatershedHttp.Response r = analyst.sql(sql);
            assertThat(r.status()).as(sql + " -> " + r.body()).isIn(400, 403);
            assertThat(r.body()).doesNotContain("example.com");
        }
        assertThat(admin.query("SELECT email FROM raw.users ORDER BY id").path("rows").toString()).contains("ada@example.com");
    }

    /** Each is a way to read raw.payroll (or the catalog, files or settings) that the analyst has no grant for. */
    static final List<String> FORBIDDEN_SHAPES = List.of(
            "SELECT * FROM raw.payroll",
            "SELECT * FROM RAW.PAYROLL",
            "SELECT * FROM \"raw\".\"payroll\"",
            "SELECT * FROM memory.raw.payroll",
            "SELECT * FROM committed.raw.payroll",
            "SELECT * FROM raw.payroll__dlq",
            "FROM raw.payroll",
            "TABLE raw.payroll",
            "WITH p AS (SELECT * FROM raw.payroll) SELECT * FROM p",
            "WITH a AS (SELECT 1), b AS (WITH c AS (SELECT * FROM raw.payroll) SELECT * FROM c) SELECT * FROM b",
            "WITH RECURSIVE r AS (SELECT salary FROM raw.payroll UNION ALL SELECT salary FROM r WHERE false) SELECT * FROM r",
            "SELECT * FROM (SELECT * FROM raw.payroll) s",
            "SELECT * FROM raw.clicks WHERE 1 IN (SELECT id FROM raw.payroll)",
            "SELECT * FROM raw.clicks WHERE EXISTS (SELECT 1 FROM raw.payroll)",
            "SELECT (SELECT max(salary) FROM raw.payroll)",
            "SELECT 1 UNION ALL SELECT salary FROM raw.payroll",
            "SELECT * FROM raw.clicks, LATERAL (SELECT salary FROM raw.payroll) x",
            "SELECT * FROM raw.clicks c JOIN raw.payroll p ON true",
            "SELECT * FROM raw.users u JOIN raw.payroll USING (id)",
            "PIVOT raw.payroll ON id IN (1) USING sum(salary)",
            "SELECT * FROM raw.payroll AT (VERSION => 1)",
            "DESCRIBE raw.payroll",
            "SUMMARIZE raw.payroll",
            "SHOW raw.payroll",
            "SHOW TABLES",
            "SHOW ALL TABLES",
            "SELECT * FROM query('SELECT * FROM raw.payroll')",
            "SELECT * FROM query_table('raw.payroll')",
            "SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT * FROM raw.payroll'))",
            "SELECT * FROM read_parquet('{lake}/raw/payroll/**/*.parquet')",
            "SELECT * FROM read_parquet('{file}')",
            "SELECT * FROM '{file}'",
            "SELECT * FROM glob('{lake}/**')",
            "SELECT * FROM read_blob('{file}')",
            "SELECT * FROM parquet_metadata('{file}')",
            "SELECT * FROM duckdb_tables()",
            "SELECT * FROM duckdb_views()",
            "SELECT * FROM duckdb_columns()",
            "SELECT * FROM duckdb_settings()",
            "SELECT * FROM duckdb_tables",
            "SELECT * FROM information_schema.tables",
            "SELECT * FROM information_schema.columns",
            "SELECT * FROM pg_catalog.pg_class",
            "SELECT * FROM pg_class",
            "SELECT * FROM system.main.duckdb_views",
            "SELECT * FROM pragma_table_info('raw.payroll')",
            "SELECT * FROM _tail.raw__payroll",
            "SELECT * FROM _grant.anything",
            "SELECT pg_get_viewdef(1)",
            "SELECT current_setting('allowed_directories')",
            "SELECT getvariable('x')",
            "SELECT main.current_setting('memory_limit')",
            "WITH duckdb_views AS (SELECT 1) SELECT * FROM (SELECT * FROM duckdb_views) x, raw.payroll",
            "WITH \"x.parquet\" AS (SELECT 1) SELECT * FROM \"x.parquet\"",
            "SELECT * FROM histogram('raw.payroll', salary)");

    /** Shapes refused for everyone (not supported, or nothing to read): the rest answer an admin. */
    static final java.util.Set<String> REFUSED_FOR_ALL = java.util.Set.of(
            "SELECT * FROM raw.payroll AT (VERSION => 1)",
            "SELECT * FROM _grant.anything",
            "SELECT * FROM _tail.raw__payroll",
            "SELECT getvariable('x')",
            "SELECT main.current_setting('memory_limit')",
            "SELECT pg_get_viewdef(1)",
            "SELECT * FROM histogram('raw.payroll', salary)");

    static List<String> forbiddenShapes() {
        return FORBIDDEN_SHAPES;
    }

    static List<String> shapesAnAdminMayRun() {
        return FORBIDDEN_SHAPES.stream().filter(s -> !REFUSED_FOR_ALL.contains(s)).toList();
    }

    /** The refusals above are the grants' doing: an admin runs the same statements. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("shapesAnAdminMayRun")
    void theSameStatementsAnswerAnAdmin(String shape) {
        String sql = shape.replace("{lake}", lake()).replace("{file}", payrollFile());
        WatershedHttp.Response r = admin.sql(sql);
        assertThat(r.status()).as(sql + " -> " + r.body()).isEqualTo(200);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("forbiddenShapes")
    void aQueryCannotReachWhatItsUserMayNotRead(String shape) {
        String sql = shape.replace("{lake}", lake()).replace("{file}", payrollFile());
        WatershedHttp.Response r = analyst.sql(sql);
        assertThat(r.status()).as(sql + " -> " + r.body()).isIn(400, 403);
        assertThat(r.body()).as(sql).doesNotContain("90000");
        if (sql.contains("payroll") && r.status() == 403) {
            assertThat(r.json().path("error").path("code").asText()).isEqualTo("QUERY_FORBIDDEN");
        }
    }

    /** The lake's warehouse directory: where the raw tables' files are (the one directory DuckDB may read). */
    static String lake() {
        String file = payrollFile();
        return file.substring(0, file.indexOf("/raw/"));
    }

    /** A Parquet data file of raw.payroll. */
    static String payrollFile() {
        try (java.util.stream.Stream<Path> files = Files.walk(root.resolve("data"))) {
            return files.map(Path::toString).filter(f -> f.contains("/raw/payroll/") && f.endsWith(".parquet")).findFirst()
                    .orElseThrow(() -> new AssertionError("no Parquet file of raw.payroll under " + root.resolve("data")));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void adminsReadEverythingIncludingTheAuditLog() {
        assertThat(admin.count("SELECT count(*) FROM raw.payroll")).isEqualTo(1);
        assertThat(admin.count("SELECT count(*) FROM information_schema.tables WHERE table_name = 'payroll'")).isGreaterThanOrEqualTo(1);
        refused(analyst.sql("SELECT * FROM raw.watershed_audit"), 403, "QUERY_FORBIDDEN");
        refused(admin.events("watershed_audit", "{\"action\":\"forged\"}"), 403, "FORBIDDEN");
        analyst.sql("SELECT count(*) FROM raw.clicks");
        analyst.sql("SELECT * FROM raw.payroll");
        admin.as(null).get("/v1/streams");
        ok(admin.postJson("/v1/access/roles", Map.of("name", "auditor")));
        Await.until("the audit records", Duration.ofSeconds(60), () -> {
            List<String> rows = admin.rows("SELECT action || '|' || coalesce(\"user\", '-') || '|' || status || '|' || coalesce(tables, '') "
                    + "FROM raw.watershed_audit");
            return rows.stream().anyMatch(r -> r.startsWith("query|ana|200|raw.clicks"))
                    && rows.stream().anyMatch(r -> r.startsWith("query|ana|403|"))
                    && rows.stream().anyMatch(r -> r.startsWith("auth.refused|-|401"))
                    && rows.stream().anyMatch(r -> r.startsWith("role.create|admin|201"))
                    && rows.stream().anyMatch(r -> r.startsWith("grant|admin|201"))
                    && rows.stream().anyMatch(r -> r.startsWith("token.issue|admin|201"));
        });
        assertThat(admin.rows("SELECT detail FROM raw.watershed_audit WHERE action = 'query' AND \"user\" = 'ana'"))
                .contains("SELECT * FROM raw.payroll");
        assertThat(admin.rows("SELECT coalesce(detail, '') FROM raw.watershed_audit").toString()).doesNotContain(analystToken);
    }

    @Test
    void theSurfaceRefusesOversizedHeadersFloodsAndStrayNames() {
        WatershedHttp.Response big = admin.post("/v1/sql", "{\"sql\":\"SELECT 1\"}".getBytes(), "X-Padding", "x".repeat(20_000));
        assertThat(big.status()).isEqualTo(431);

        String limited = ok(admin.postJson("/v1/access/tokens", Map.of("user", "ana", "rate", 2))).path("token").asText();
        WatershedHttp slow = admin.as(limited);
        WatershedHttp.Response last = null;
        for (int i = 0; i < 10 && (last == null || last.status() != 429); i++) {
            last = slow.get("/v1/whoami");
        }
        refused(last, 429, "RATE_LIMITED");
        assertThat(last.header("Retry-After")).isNotNull();

        for (String name : List.of("..%2Fx", "%2E%2E", "a%22b", "x".repeat(10_000), "Clicks", "a%00b", "watershed_x")) {
            WatershedHttp.Response r = admin.events(name, "{\"a\":1}");
            assertThat(r.status()).as(name + " -> " + r.body()).isIn(400, 403, 404, 414, 431);
        }
        assertThat(Files.exists(root.resolve("data").resolve("x"))).isFalse();
        assertThat(admin.get("/v1/health").status()).isEqualTo(200);
    }
}
