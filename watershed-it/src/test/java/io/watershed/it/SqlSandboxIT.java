package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;
import com.fasterxml.jackson.databind.JsonNode;

/** SQL over the lake through the API: results, CSV, caps, timeouts, and the sandbox that keeps queries inside the lake. */
class SqlSandboxIT {
    @TempDir
    static Path root;

    static Platform platform;
    static WatershedHttp http;

    @BeforeAll
    static void start() {
        platform = Platform.start(TestProject.in(root.resolve("project")).yaml("query:\n  max_rows: 5\n  timeout: 2s").load(),
                root.resolve("data"));
        http = new WatershedHttp(platform.url(), platform.adminToken());
        StringBuilder body = new StringBuilder();
        for (int i = 0; i < 20; i++) {
            body.append("{\"n\":").append(i).append(",\"name\":\"item, \\\"").append(i).append("\\\"\"}\n");
        }
        assertThat(http.events("items", body.toString()).status()).isEqualTo(200);
        Await.until("20 rows", Duration.ofSeconds(30), () -> http.count("SELECT count(*) FROM raw.items") == 20);
    }

    @AfterAll
    static void stop() {
        platform.close();
    }

    @Test
    void resultsAreCappedWithANote() {
        var result = http.query("SELECT n FROM raw.items ORDER BY n");
        assertThat(result.path("columns").toString()).isEqualTo("[\"n\"]");
        assertThat(result.path("rows")).hasSize(5);
        assertThat(result.path("truncated").asBoolean()).isTrue();
        assertThat(result.path("note").asText()).contains("Only the first 5 rows");
    }

    @Test
    void csvWhenAsked() {
        WatershedHttp.Response csv = http.sql("SELECT n, name FROM raw.items WHERE n < 2 ORDER BY n", "Accept", "text/csv");
        assertThat(csv.status()).isEqualTo(200);
        assertThat(csv.header("Content-Type")).startsWith("text/csv");
        assertThat(csv.body()).isEqualTo("n,name\r\n0,\"item, \"\"0\"\"\"\r\n1,\"item, \"\"1\"\"\"\r\n");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "SELECT * FROM read_csv('/etc/passwd')|QUERY_FORBIDDEN|reaches outside the lake",
            "SELECT * FROM read_text('/etc/hostname')|QUERY_FORBIDDEN|reaches outside the lake",
            "SELECT * FROM read_parquet('/tmp/*.parquet')|QUERY_FORBIDDEN|reaches outside the lake",
            "SELECT * FROM read_json_auto('https://example.com/x.json')|QUERY_FORBIDDEN|reaches outside the lake",
            "COPY (SELECT 1) TO '/tmp/watershed-escape.csv'|QUERY_FORBIDDEN|only read-only SELECT",
            "ATTACH '/tmp/other.duckdb' AS other|QUERY_FORBIDDEN|only read-only SELECT",
            "INSTALL httpfs|QUERY_FORBIDDEN|only read-only SELECT",
            "LOAD httpfs|QUERY_FORBIDDEN|only read-only SELECT",
            "SET enable_external_access = true|QUERY_FORBIDDEN|only read-only SELECT",
            "CREATE TABLE t AS SELECT 1|QUERY_FORBIDDEN|only read-only SELECT",
            "DROP VIEW raw.items|QUERY_FORBIDDEN|only read-only SELECT",
            "SELECT 1; DROP VIEW raw.items|QUERY_FORBIDDEN|only read-only SELECT",
            "SELECT 1; SELECT 2|QUERY_INVALID|send exactly one SELECT",
            "SELEC 1|QUERY_INVALID|Cannot parse the query",
            "SELECT * FROM raw.missing|QUERY_INVALID|does not exist"})
    void sandboxRefusesWithAClearError(String sql, String code, String message) {
        WatershedHttp.Response response = http.sql(sql);
        assertThat(response.status()).as(response.body()).isIn(400, 403);
        assertThat(response.json().path("error").path("code").asText()).isEqualTo(code);
        assertThat(response.json().path("error").path("message").asText()).contains(message);
        assertThat(http.count("SELECT count(*) FROM raw.items")).as("the lake view is intact").isEqualTo(20);
    }

    /**
     * The sandbox holds for every user, admins included: each of these tries to reach files, the network, extensions,
     * settings or other databases, or to change something, or to run away with the machine, and each is refused with its
     * reason and leaks nothing. With {@link #sandboxRefusesWithAClearError} above, more than fifty attempts.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "SELECT * FROM read_text('/proc/self/environ')|QUERY_FORBIDDEN",
            "SELECT * FROM read_blob('/etc/shadow')|QUERY_FORBIDDEN",
            "SELECT * FROM read_csv_auto('/etc/hosts')|QUERY_FORBIDDEN",
            "SELECT * FROM read_json('/proc/self/cmdline')|QUERY_FORBIDDEN",
            "SELECT * FROM read_ndjson('/etc/passwd')|QUERY_FORBIDDEN",
            "SELECT * FROM read_text(['/etc/passwd', '/etc/group'])|QUERY_FORBIDDEN",
            "SELECT * FROM read_csv('/dev/zero')|QUERY_FORBIDDEN",
            "SELECT * FROM sniff_csv('/etc/passwd')|QUERY_FORBIDDEN",
            "SELECT * FROM parquet_metadata('/tmp/x.parquet')|QUERY_FORBIDDEN",
            "SELECT * FROM parquet_schema('/tmp/x.parquet')|QUERY_FORBIDDEN",
            "SELECT * FROM glob('/etc/*')|QUERY_FORBIDDEN",
            "SELECT * FROM glob('/**')|QUERY_FORBIDDEN",
            "SELECT * FROM glob('../../**')|QUERY_FORBIDDEN",
            "SELECT * FROM '/etc/passwd'|QUERY_INVALID",
            "SELECT * FROM '/etc/hosts.csv'|QUERY_FORBIDDEN",
            "SELECT * FROM read_text('file:///etc/passwd')|QUERY_FORBIDDEN",
            "SELECT * FROM read_text('https://example.com/')|QUERY_FORBIDDEN",
            "SELECT * FROM read_json_auto('http://169.254.169.254/latest/meta-data/')|QUERY_FORBIDDEN",
            "SELECT * FROM read_csv('s3://bucket/x.csv')|QUERY_FORBIDDEN",
            "SELECT * FROM read_parquet('hf://datasets/x/y.parquet')|QUERY_FORBIDDEN",
            "SELECT * FROM 'https://example.com/x.csv'|QUERY_FORBIDDEN",
            "DESCRIBE SELECT * FROM read_text('/etc/passwd')|QUERY_FORBIDDEN",
            "COPY (SELECT 1) TO '/tmp/watershed-escape.parquet' (FORMAT parquet)|QUERY_FORBIDDEN",
            "EXPORT DATABASE '/tmp/watershed-export'|QUERY_FORBIDDEN",
            "IMPORT DATABASE '/tmp/watershed-export'|QUERY_FORBIDDEN",
            "ATTACH 'sqlite:/tmp/x.db' AS s|QUERY_FORBIDDEN",
            "ATTACH ':memory:' AS m|QUERY_FORBIDDEN",
            "DETACH committed|QUERY_FORBIDDEN",
            "USE committed|QUERY_FORBIDDEN",
            "INSTALL httpfs FROM 'http://127.0.0.1:1/'|QUERY_FORBIDDEN",
            "FORCE INSTALL httpfs|QUERY_FORBIDDEN",
            "LOAD '/tmp/evil.duckdb_extension'|QUERY_FORBIDDEN",
            "SET allowed_directories = ['/']|QUERY_FORBIDDEN",
            "SET GLOBAL enable_external_access = true|QUERY_FORBIDDEN",
            "RESET lock_configuration|QUERY_FORBIDDEN",
            "PRAGMA enable_profiling|QUERY_FORBIDDEN",
            "CALL pragma_table_info('raw.items')|QUERY_FORBIDDEN",
            "CREATE SECRET (TYPE s3, KEY_ID 'x', SECRET 'y')|QUERY_FORBIDDEN",
            "CREATE MACRO m() AS 1|QUERY_FORBIDDEN",
            "CREATE TEMP TABLE t AS SELECT 1|QUERY_FORBIDDEN",
            "INSERT INTO raw.items VALUES (1, 'x')|QUERY_FORBIDDEN",
            "UPDATE raw.items SET n = 1|QUERY_FORBIDDEN",
            "DELETE FROM raw.items|QUERY_FORBIDDEN",
            "CHECKPOINT|QUERY_FORBIDDEN",
            "VACUUM|QUERY_FORBIDDEN",
            "PREPARE p AS SELECT 1|QUERY_FORBIDDEN",
            "SELECT * FROM query('ATTACH '':memory:'' AS q')|QUERY_INVALID",
            "SELECT count(*) FROM range(100000000) a, range(100000000) b|QUERY_TIMEOUT",
            "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t|QUERY_TIMEOUT"})
    void escapesAreRefused(String sql, String code) {
        WatershedHttp.Response response = http.sql(sql);
        assertThat(response.status()).as(sql + " -> " + response.body()).isIn(400, 403, 408);
        JsonNode error = response.json().path("error");
        assertThat(error.path("code").asText()).as(sql + " -> " + response.body()).isEqualTo(code);
        assertThat(error.path("message").asText()).startsWith("Cannot");
        assertThat(response.body()).doesNotContain("root:").doesNotContain("PATH=");
        assertThat(java.nio.file.Files.exists(Path.of("/tmp/watershed-escape.parquet"))).isFalse();
        assertThat(http.count("SELECT count(*) FROM raw.items")).as("the lake view is intact").isEqualTo(20);
    }

    @Test
    void longStatementsTimeOut() {
        WatershedHttp.Response response = http.sql("SELECT count(*) FROM range(100000000000) a");
        assertThat(response.status()).as(response.body()).isEqualTo(408);
        assertThat(response.json().path("error").path("code").asText()).isEqualTo("QUERY_TIMEOUT");
        assertThat(http.count("SELECT 41 + 1")).as("the engine still answers").isEqualTo(42);
    }

    @Test
    void healthNeedsNothingAndUnknownEndpointsAnswerJson() {
        assertThat(http.get("/v1/health").json().path("status").asText()).isEqualTo("ok");
        WatershedHttp.Response missing = http.get("/v2/nothing");
        assertThat(missing.status()).isEqualTo(404);
        assertThat(missing.json().path("error").path("message").asText()).contains("no such endpoint");
    }
}
