package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.AppendFiles;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.GenericFileWriterFactory;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.exceptions.ForbiddenException;
import org.apache.iceberg.exceptions.NoSuchTableException;
import org.apache.iceberg.exceptions.NotAuthorizedException;
import org.apache.iceberg.io.FanoutDataWriter;
import org.apache.iceberg.io.OutputFileFactory;
import org.apache.iceberg.rest.RESTCatalog;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lake through its Iceberg REST catalog, with a client we did not write: Iceberg's own {@link RESTCatalog}. It lists
 * and loads what the token's read grants allow, is refused commits to the tables Watershed writes and tables granted in
 * some columns only, creates and writes a table of its own, which Watershed's SQL then reads, and a wrong token gets nothing.
 */
class IcebergRestCatalogIT {
    @TempDir
    static Path root;

    static Platform platform;
    static WatershedHttp admin;
    static String analystToken;
    static String writerToken;
    static String limitedToken;

    @BeforeAll
    static void start() {
        platform = Platform.start(TestProject.in(root.resolve("project"))
                .stream("clicks", "fields:\n  user: string\n  page: string\n")
                .load(), root.resolve("data"));
        admin = new WatershedHttp(platform.url(), platform.adminToken());
        assertThat(admin.events("clicks", "{\"user\":\"ada\",\"page\":\"/home\"}\n{\"user\":\"bob\",\"page\":\"/docs\"}").status())
                .isEqualTo(200);
        analystToken = Tokens.issue(admin, "analyst", Map.of("name", "spark"), "read table:raw.*");
        writerToken = Tokens.issue(admin, "loader", Map.of("name", "spark"), "read table:raw.clicks", "read table:ext.*",
                "write table:ext.*");
        limitedToken = Tokens.issue(admin, "limited", Map.of("name", "spark"));
        GovernanceIT.ok(admin.postJson("/v1/access/grants", Map.of("role", "limited", "privilege", "read", "object", "table:raw.clicks",
                "columns", List.of("page"))));
        Await.until("the clicks in the lake", Duration.ofSeconds(60),
                () -> admin.count("SELECT count(*) FROM committed.raw.clicks") == 2);
    }

    @AfterAll
    static void stop() {
        if (platform != null) {
            platform.close();
        }
    }

    /** Iceberg's REST client, logging in with the spec's OAuth2 client-credentials exchange (the token as the secret). */
    static RESTCatalog oauthClient(String token) {
        String uri = platform.url() + "/iceberg";
        return client(Map.of("uri", uri, "credential", "spark:" + token, "oauth2-server-uri", uri + "/v1/oauth/tokens"));
    }

    /** Iceberg's REST client sending the token as a plain bearer token. */
    static RESTCatalog bearerClient(String token) {
        return client(Map.of("uri", platform.url() + "/iceberg", "token", token));
    }

    private static RESTCatalog client(Map<String, String> properties) {
        RESTCatalog catalog = new RESTCatalog();
        catalog.setConf(new Configuration());
        catalog.initialize("watershed", new HashMap<>(properties));
        return catalog;
    }

    @Test
    void listsNamespacesAndLoadsARawTableWithItsSnapshot() throws Exception {
        try (RESTCatalog catalog = oauthClient(analystToken)) {
            assertThat(catalog.listNamespaces()).contains(Namespace.of("raw"));
            assertThat(catalog.listTables(Namespace.of("raw"))).contains(TableIdentifier.of("raw", "clicks"));
            assertThat(catalog.tableExists(TableIdentifier.of("raw", "clicks"))).isTrue();
            Table clicks = catalog.loadTable(TableIdentifier.of("raw", "clicks"));
            assertThat(clicks.schema().findField("user")).isNotNull();
            assertThat(clicks.schema().findField("page")).isNotNull();
            assertThat(clicks.currentSnapshot()).isNotNull();
            assertThat(clicks.currentSnapshot().summary().get("total-records")).isEqualTo("2");
            assertThatThrownBy(() -> catalog.loadTable(TableIdentifier.of("raw", "nope"))).isInstanceOf(NoSuchTableException.class);
            assertThat(catalog.listTables(Namespace.of("raw"))).as("admins only").doesNotContain(TableIdentifier.of("raw", "watershed_audit"));
        }
    }

    @Test
    void refusesChangesToTheTablesWatershedWrites() throws Exception {
        try (RESTCatalog catalog = bearerClient(platform.adminToken())) {
            Table clicks = catalog.loadTable(TableIdentifier.of("raw", "clicks"));
            assertThatThrownBy(() -> clicks.updateProperties().set("owner", "spark").commit())
                    .isInstanceOf(ForbiddenException.class).hasMessageContaining("raw tables are written by Watershed");
            assertThatThrownBy(() -> catalog.dropTable(TableIdentifier.of("raw", "clicks")))
                    .isInstanceOf(ForbiddenException.class).hasMessageContaining("raw tables are written by Watershed");
            assertThatThrownBy(() -> catalog.renameTable(TableIdentifier.of("raw", "clicks"), TableIdentifier.of("raw", "taken")))
                    .isInstanceOf(ForbiddenException.class);
            assertThatThrownBy(() -> catalog.createTable(TableIdentifier.of("raw", "mine"), new Schema(
                    Types.NestedField.optional(1, "id", Types.LongType.get())))).isInstanceOf(ForbiddenException.class);
        }
        assertThat(admin.count("SELECT count(*) FROM raw.clicks")).isEqualTo(2);
    }

    @Test
    void anOutsideEngineCreatesAndWritesATableThatWatershedSqlReads() throws Exception {
        TableIdentifier id = TableIdentifier.of("ext", "visits");
        try (RESTCatalog catalog = oauthClient(writerToken)) {
            catalog.createNamespace(Namespace.of("ext"));
            Schema schema = new Schema(Types.NestedField.required(1, "id", Types.LongType.get()),
                    Types.NestedField.optional(2, "page", Types.StringType.get()));
            Table table = catalog.createTable(id, schema, PartitionSpec.unpartitioned());
            append(table, List.of(Map.of("id", 1L, "page", "/home"), Map.of("id", 2L, "page", "/pricing")));
        }
        Await.until("ext.visits in SQL", Duration.ofSeconds(30), () -> admin.rows("SELECT id, page FROM ext.visits ORDER BY id"),
                rows -> rows.equals(List.of("1 /home", "2 /pricing")));
        assertThat(admin.as(writerToken).rows("SELECT count(*) FROM ext.visits")).containsExactly("2");
        assertThat(admin.as(analystToken).sql("SELECT count(*) FROM ext.visits").status()).as("no read grant").isEqualTo(403);
        try (RESTCatalog catalog = oauthClient(analystToken)) {
            assertThatThrownBy(() -> catalog.loadTable(id)).isInstanceOf(ForbiddenException.class);
            assertThatThrownBy(() -> catalog.createTable(TableIdentifier.of("ext", "other"), new Schema(
                    Types.NestedField.optional(1, "id", Types.LongType.get())))).isInstanceOf(ForbiddenException.class)
                    .hasMessageContaining("no write grant");
        }
        try (RESTCatalog catalog = oauthClient(writerToken)) {
            assertThat(catalog.dropTable(id)).isTrue();
        }
        Await.until("ext.visits gone from SQL", Duration.ofSeconds(30), () -> admin.sql("SELECT count(*) FROM ext.visits").status(),
                status -> status == 400 || status == 404);
    }

    @Test
    void aWrongTokenIsRefused() {
        String wrong = "wst_aaaaaaaaaaaaaaaa_" + "x".repeat(43);
        assertThatThrownBy(() -> oauthClient(wrong)).isInstanceOf(NotAuthorizedException.class);
        assertThatThrownBy(() -> bearerClient(wrong)).isInstanceOf(NotAuthorizedException.class);
        WatershedHttp.Response r = admin.as(wrong).get("/iceberg/v1/namespaces");
        assertThat(r.status()).isEqualTo(401);
        assertThat(r.json().path("error").path("code").asInt()).as(r.body()).isEqualTo(401);
        assertThat(r.json().path("error").path("type").asText()).isEqualTo("NotAuthorizedException");
    }

    @Test
    void aTableGrantedInSomeColumnsOnlyDoesNotLoad() throws Exception {
        try (RESTCatalog catalog = oauthClient(limitedToken)) {
            assertThat(catalog.listTables(Namespace.of("raw"))).containsExactly(TableIdentifier.of("raw", "clicks"));
            assertThatThrownBy(() -> catalog.loadTable(TableIdentifier.of("raw", "clicks"))).isInstanceOf(ForbiddenException.class)
                    .hasMessageContaining("may read only the columns [page]").hasMessageContaining("data files hold every column");
        }
    }

    @Test
    void answersInTheSpecsShapesAndAuditsEveryCall() {
        JsonNode config = admin.get("/iceberg/v1/config").json();
        assertThat(config.path("endpoints").toString()).contains("GET /v1/{prefix}/namespaces/{namespace}/tables/{table}");
        WatershedHttp.Response missing = admin.get("/iceberg/v1/namespaces/raw/tables/nope");
        assertThat(missing.status()).isEqualTo(404);
        assertThat(missing.json().path("error").path("type").asText()).isEqualTo("NoSuchTableException");
        WatershedHttp.Response view = admin.get("/iceberg/v1/namespaces/raw/views");
        assertThat(view.status()).as(view.body()).isEqualTo(406);
        Await.until("the catalog's calls in the audit log", Duration.ofSeconds(60),
                () -> admin.count("SELECT count(*) FROM raw.watershed_audit WHERE action = 'iceberg.table.load' "
                        + "AND object = 'table:raw.nope' AND status = 404") >= 1);
    }

    /** Writes the rows to a Parquet file with Iceberg's generic writer and appends it, as an engine's writer would. */
    private static void append(Table table, List<Map<String, Object>> rows) throws Exception {
        GenericFileWriterFactory factory = new GenericFileWriterFactory.Builder(table).dataFileFormat(FileFormat.PARQUET).build();
        OutputFileFactory files = OutputFileFactory.builderFor(table, 0, 1).format(FileFormat.PARQUET).build();
        FanoutDataWriter<Record> writer = new FanoutDataWriter<>(factory, files, table.io(), 1 << 20);
        try (writer) {
            for (Map<String, Object> values : rows) {
                GenericRecord row = GenericRecord.create(table.schema());
                values.forEach(row::setField);
                writer.write(row, table.spec(), null);
            }
        }
        AppendFiles append = table.newAppend();
        writer.result().dataFiles().forEach(append::appendFile);
        append.commit();
    }
}
