package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Postgres wire protocol with real clients, none of them ours: Debian's psql, pgJDBC and node's pg log in with a token,
 * list and describe the tables they may read, run queries with parameters, read every common type exactly, get SQLSTATEs
 * for mistakes and refusals, cancel a long query; a column-limited user sees only its columns; a wrong or revoked token is
 * refused.
 */
class PgWireIT {
    @TempDir
    static Path root;

    static Platform platform;
    static WatershedHttp admin;
    static String analystToken;
    static int port;

    @BeforeAll
    static void start() {
        platform = Platform.start(TestProject.in(root.resolve("project"))
                .stream("people", "fields:\n  id: long\n  name: string\n  salary: long\n")
                .load(), root.resolve("data"));
        admin = new WatershedHttp(platform.url(), platform.adminToken());
        port = platform.pgPort().orElseThrow();
        assertThat(admin.events("people", "{\"id\":1,\"name\":\"Ada\",\"salary\":100}\n{\"id\":2,\"name\":\"Björn 😀\",\"salary\":200}")
                .status()).isEqualTo(200);
        ok(admin.postJson("/v1/access/roles", Map.of("name", "analyst")));
        ok(admin.postJson("/v1/access/grants", Map.of("role", "analyst", "privilege", "read", "object", "table:raw.people",
                "columns", List.of("id", "name"))));
        ok(admin.postJson("/v1/access/users", Map.of("name", "ana")));
        ok(admin.postJson("/v1/access/users/ana/roles", Map.of("role", "analyst")));
        analystToken = ok(admin.postJson("/v1/access/tokens", Map.of("user", "ana", "name", "psql"))).json().path("token").asText();
        Await.until("the people in the lake", Duration.ofSeconds(60), () -> admin.count("SELECT count(*) FROM raw.people") == 2);
    }

    @AfterAll
    static void stop() {
        if (platform != null) {
            platform.close();
        }
    }

    private static WatershedHttp.Response ok(WatershedHttp.Response r) {
        assertThat(r.status()).as(r.body()).isBetween(200, 299);
        return r;
    }

    private static Connection jdbc(String token) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "jdbc");
        p.setProperty("password", token);
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/lake", p);
    }

    // --- pgJDBC

    @Test
    void jdbcReadsEveryCommonTypeExactly() throws Exception {
        try (Connection c = jdbc(platform.adminToken()); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT 42::INTEGER AS i, 12345678901::BIGINT AS l, 7::SMALLINT AS sm, "
                        + "12345.67::DECIMAL(10,2) AS d, 0.1::DOUBLE AS f, 'héllo 😀' AS t, true AS b, DATE '2024-02-29' AS day, "
                        + "TIMESTAMPTZ '2024-01-02 03:04:05.123456+00' AS at, [1, 2] AS list, {'a': 'x', 'n': 1} AS st, NULL::VARCHAR AS nothing")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getInt("i")).isEqualTo(42);
            assertThat(rs.getLong("l")).isEqualTo(12345678901L);
            assertThat(rs.getShort("sm")).isEqualTo((short) 7);
            assertThat(rs.getBigDecimal("d")).isEqualTo(new BigDecimal("12345.67"));
            assertThat(rs.getDouble("f")).isEqualTo(0.1);
            assertThat(rs.getString("t")).isEqualTo("héllo 😀");
            assertThat(rs.getBoolean("b")).isTrue();
            assertThat(rs.getObject("day", LocalDate.class)).isEqualTo(LocalDate.of(2024, 2, 29));
            assertThat(rs.getObject("at", OffsetDateTime.class)).isEqualTo(OffsetDateTime.of(2024, 1, 2, 3, 4, 5, 123_456_000, ZoneOffset.UTC));
            assertThat(rs.getString("list")).isEqualTo("[1,2]");
            assertThat(rs.getString("st")).isEqualTo("{\"a\":\"x\",\"n\":1}");
            assertThat(rs.getString("nothing")).isNull();
            assertThat(rs.getMetaData().getColumnTypeName(4)).isEqualTo("numeric");
            assertThat(rs.getMetaData().getColumnTypeName(10)).isEqualTo("json");
        }
    }

    @Test
    void jdbcRunsPreparedQueriesWithParametersInTextAndBinary() throws Exception {
        try (Connection c = jdbc(platform.adminToken());
                PreparedStatement p = c.prepareStatement("SELECT id, name, salary * 1.5 AS raised, id = ? AS chosen FROM raw.people "
                        + "WHERE name <> ? AND id >= ? ORDER BY id")) {
            // pgJDBC switches to a server-side statement and binary results from the fifth execution on
            for (int run = 0; run < 7; run++) {
                p.setLong(1, 2);
                p.setString(2, "nobody");
                p.setInt(3, 1);
                List<String> rows = new ArrayList<>();
                try (ResultSet rs = p.executeQuery()) {
                    while (rs.next()) {
                        rows.add(rs.getLong("id") + " " + rs.getString("name") + " " + rs.getBigDecimal("raised").stripTrailingZeros()
                                .toPlainString() + " " + rs.getBoolean("chosen"));
                    }
                }
                assertThat(rows).as("run %d", run).containsExactly("1 Ada 150 false", "2 Björn 😀 300 true");
            }
        }
    }

    @Test
    void jdbcMetadataListsOnlyWhatTheUserMayRead() throws Exception {
        try (Connection c = jdbc(analystToken)) {
            DatabaseMetaData meta = c.getMetaData();
            List<String> tables = new ArrayList<>();
            try (ResultSet rs = meta.getTables(null, null, "%", new String[] {"TABLE"})) {
                while (rs.next()) {
                    tables.add(rs.getString("TABLE_SCHEM") + "." + rs.getString("TABLE_NAME"));
                }
            }
            assertThat(tables).containsExactly("raw.people");
            List<String> columns = new ArrayList<>();
            try (ResultSet rs = meta.getColumns(null, "raw", "people", "%")) {
                while (rs.next()) {
                    columns.add(rs.getString("COLUMN_NAME") + " " + rs.getString("TYPE_NAME"));
                }
            }
            assertThat(columns).containsExactly("id int8", "name varchar");
        }
        try (Connection c = jdbc(platform.adminToken()); ResultSet rs = c.getMetaData().getTables(null, "raw", "%", new String[] {"TABLE"})) {
            List<String> tables = new ArrayList<>();
            while (rs.next()) {
                tables.add(rs.getString("TABLE_NAME"));
            }
            assertThat(tables).contains("people", "watershed_audit");
        }
    }

    @Test
    void jdbcGetsSqlStatesForMistakesAndRefusals() throws Exception {
        try (Connection c = jdbc(analystToken); Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.executeQuery("SELEC 1")).isInstanceOf(SQLException.class)
                    .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("42601");
            assertThatThrownBy(() -> s.executeQuery("SELECT salary FROM raw.people")).isInstanceOf(SQLException.class)
                    .extracting(e -> ((SQLException) e).getSQLState()).isIn("42501", "42703");
            assertThatThrownBy(() -> s.executeQuery("SELECT * FROM raw.watershed_audit")).isInstanceOf(SQLException.class)
                    .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("42501");
            try (ResultSet rs = s.executeQuery("SELECT * FROM raw.people ORDER BY id")) {
                assertThat(rs.getMetaData().getColumnCount()).isEqualTo(2);
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString("name")).isEqualTo("Ada");
            }
        }
    }

    @Test
    void jdbcCancelsALongQuery() throws Exception {
        try (Connection c = jdbc(platform.adminToken()); Statement s = c.createStatement()) {
            CompletableFuture<Void> cancel = CompletableFuture.runAsync(() -> {
                try {
                    Thread.sleep(500); // the statement is under way by then; cancel() before it started would be lost
                    s.cancel();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            long started = System.nanoTime();
            assertThatThrownBy(() -> s.executeQuery("SELECT sum(i) FROM range(1000000000000) t(i)")).isInstanceOf(SQLException.class)
                    .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("57014");
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
            cancel.get(5, TimeUnit.SECONDS);
            try (ResultSet rs = s.executeQuery("SELECT 1")) {
                assertThat(rs.next()).isTrue();
            }
        }
    }

    @Test
    void wrongAndRevokedTokensAreRefused() throws Exception {
        assertThatThrownBy(() -> jdbc("wst_nobody_00000000000000000000")).isInstanceOf(SQLException.class)
                .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("28P01");
        String token = ok(admin.postJson("/v1/access/tokens", Map.of("user", "ana", "name", "revoked"))).json().path("token").asText();
        try (Connection c = jdbc(token)) {
            assertThat(c.isValid(5)).isTrue();
        }
        String id = io.watershed.access.AccessStore.tokenId(token).orElseThrow();
        ok(admin.delete("/v1/access/tokens/" + id));
        assertThatThrownBy(() -> jdbc(token)).isInstanceOf(SQLException.class)
                .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("28P01");
    }

    // --- psql

    private static String psql(String token, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("/usr/bin/psql", "-X", "-h", "127.0.0.1", "-p", String.valueOf(port), "-U", "psql",
                "-d", "lake", "-v", "VERBOSITY=verbose"));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("PGPASSWORD", token);
        builder.environment().put("PGCONNECT_TIMEOUT", "10");
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return output;
    }

    @Test
    void psqlListsAndDescribesTheTablesTheUserMayRead() throws Exception {
        String analystTables = psql(analystToken, "-c", "\\dt *.*");
        assertThat(analystTables).contains("raw    | people").doesNotContain("watershed_audit").doesNotContain("pg_");
        String described = psql(analystToken, "-c", "\\d raw.people");
        assertThat(described).contains("Table \"raw.people\"").contains(" id ").contains("bigint").contains(" name ")
                .contains("character varying").doesNotContain("salary");
        String adminDescribed = psql(platform.adminToken(), "-c", "\\d raw.people");
        assertThat(adminDescribed).contains("salary");
    }

    @Test
    void psqlQueriesAndGetsSqlStates() throws Exception {
        String rows = psql(analystToken, "-A", "-t", "-c", "SELECT id, name FROM raw.people ORDER BY id");
        assertThat(rows).isEqualTo("1|Ada\n2|Björn 😀\n");
        String mistake = psql(analystToken, "-c", "SELECT nope FROM raw.people");
        assertThat(mistake).contains("ERROR:  42703");
        String refused = psql(analystToken, "-c", "SELECT * FROM raw.watershed_audit");
        assertThat(refused).contains("ERROR:  42501");
        String wrong = psql("wst_nobody_00000000000000000000", "-c", "SELECT 1");
        assertThat(wrong).contains("password authentication failed");
        String session = psql(analystToken, "-A", "-t", "-c", "BEGIN", "-c", "SET application_name = 'x'", "-c", "SHOW server_version",
                "-c", "COMMIT");
        assertThat(session).contains("16.0");
    }

    // --- node pg

    @Test
    void nodePgQueriesWithParameters() throws Exception {
        Process process = new ProcessBuilder("node", "pg.js", String.valueOf(port), platform.adminToken())
                .directory(ForwardSourceIT.NODE_CLIENT.toFile()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(output.lines().toList()).as(output).containsExactly(
                "{\"n\":\"42\",\"s\":\"héllo 😀\",\"d\":\"1.25\",\"f\":0.1,\"b\":true,\"day\":\"date\",\"at\":\"2024-01-02T03:04:05.123Z\","
                        + "\"l\":[1,2],\"st\":{\"a\":\"x\"}}",
                "[{\"id\":\"2\",\"name\":\"Björn 😀\"}]",
                "{\"error\":\"42601\"}");
    }
}
