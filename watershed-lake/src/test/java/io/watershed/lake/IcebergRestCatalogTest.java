package io.watershed.lake;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The REST catalog's own rules, on a local lake: where tables may live, which namespaces stay Watershed's, the error shape. */
class IcebergRestCatalogTest {
    private static final String SCHEMA = "{\"type\":\"struct\",\"schema-id\":0,\"fields\":[{\"id\":1,\"name\":\"id\",\"required\":false,"
            + "\"type\":\"long\"}]}";

    @TempDir
    Path directory;

    IcebergLake lake;
    IcebergRestCatalog catalog;

    /** May do anything but read the audit: an admin's view. */
    static final IcebergRestCatalog.Caller ADMIN = new IcebergRestCatalog.Caller() {
        @Override
        public boolean mayWrite(String table) {
            return true;
        }

        @Override
        public String user() {
            return "admin";
        }

        @Override
        public boolean unrestricted() {
            return true;
        }

        @Override
        public Optional<Set<String>> columns(String table) {
            return Optional.of(Set.of());
        }
    };

    @BeforeEach
    void open() {
        lake = new IcebergLake(directory.resolve("lake"));
        catalog = new IcebergRestCatalog(lake, new IcebergRestCatalog.ManagedTables() {
            @Override
            public Optional<String> namespace(String namespace) {
                return namespace.equals("raw") ? Optional.of("raw tables are Watershed's") : Optional.empty();
            }

            @Override
            public Optional<String> table(String namespace, String table) {
                return Optional.empty();
            }
        }, Map.of());
    }

    @AfterEach
    void close() {
        catalog.close();
        lake.close();
    }

    private IcebergRestCatalog.Response post(String path, String body) {
        return catalog.handle("POST", path, Map.of(), body, ADMIN);
    }

    @Test
    void keepsEveryTableInsideTheWarehouse() {
        assertThat(catalog.inWarehouse(lake.warehouse().resolve("ext/t").toUri().toString())).isTrue();
        assertThat(catalog.inWarehouse(lake.warehouse() + "/ext/t/data/f.parquet")).isTrue();
        assertThat(catalog.inWarehouse(lake.warehouse() + "/../secrets/f.parquet")).isFalse();
        assertThat(catalog.inWarehouse("file:/etc/passwd")).isFalse();
        assertThat(catalog.inWarehouse("s3://other/f.parquet")).isFalse();

        assertThat(post("namespaces", "{\"namespace\":[\"ext\"]}").status()).isEqualTo(200);
        IcebergRestCatalog.Response outside = post("namespaces/ext/tables", "{\"name\":\"t\",\"location\":\"file:/tmp/elsewhere\","
                + "\"schema\":" + SCHEMA + "}");
        assertThat(outside.status()).as(outside.body()).isEqualTo(403);
        assertThat(outside.body()).contains("outside the table's own directory").contains("\"type\":\"ForbiddenException\"");
        // inside the warehouse, but in another table's directory: its files could be named, whatever that table's grants
        IcebergRestCatalog.Response another = post("namespaces/ext/tables", "{\"name\":\"t\",\"location\":\""
                + lake.warehouse().resolve("raw/clicks").toUri() + "\",\"schema\":" + SCHEMA + "}");
        assertThat(another.status()).as(another.body()).isEqualTo(403);
        IcebergRestCatalog.Response dataPath = post("namespaces/ext/tables", "{\"name\":\"t\",\"schema\":" + SCHEMA
                + ",\"properties\":{\"write.data.path\":\"/tmp/elsewhere\"}}");
        assertThat(dataPath.status()).as(dataPath.body()).isEqualTo(403);
        IcebergRestCatalog.Response created = post("namespaces/ext/tables", "{\"name\":\"t\",\"schema\":" + SCHEMA + "}");
        assertThat(created.status()).as(created.body()).isEqualTo(200);
        assertThat(created.body()).contains("\"metadata-location\"");
        assertThat(lake.tables()).anyMatch(view -> view.qualifiedName().equals("ext.t"));

        assertThat(catalog.handle("DELETE", "namespaces/ext/tables/t", Map.of(), "", ADMIN).status()).isEqualTo(204);
        assertThat(lake.tables()).noneMatch(view -> view.qualifiedName().equals("ext.t"));
    }

    @Test
    void refusesNamespacesWatershedWritesOrCannotQuery() {
        IcebergRestCatalog.Response raw = post("namespaces/raw/tables", "{\"name\":\"mine\",\"schema\":" + SCHEMA + "}");
        assertThat(raw.status()).isEqualTo(403);
        assertThat(raw.body()).contains("raw tables are Watershed's");
        assertThat(post("namespaces", "{\"namespace\":[\"live\"]}").status()).isEqualTo(400);
        assertThat(post("namespaces", "{\"namespace\":[\"a\",\"b\"]}").status()).isEqualTo(400);
        assertThat(catalog.handle("DELETE", "namespaces/raw", Map.of(), "", ADMIN).status()).isEqualTo(403);
    }

    @Test
    void answersInTheSpecsShapes() {
        IcebergRestCatalog.Response config = catalog.handle("GET", "config", Map.of(), "", ADMIN);
        assertThat(config.body()).contains("\"defaults\":{}").contains("POST /v1/{prefix}/namespaces/{namespace}/tables/{table}");
        IcebergRestCatalog.Response missing = catalog.handle("GET", "namespaces/raw/tables/nope", Map.of(), "", ADMIN);
        assertThat(missing.status()).isEqualTo(404);
        assertThat(missing.body()).contains("\"type\":\"NoSuchTableException\"").contains("\"code\":404");
        assertThat(missing.action()).isEqualTo("iceberg.table.load");
        assertThat(missing.object()).isEqualTo("table:raw.nope");
        assertThat(catalog.handle("GET", "namespaces/raw/views", Map.of(), "", ADMIN).status()).isEqualTo(406);
        assertThat(post("namespaces/raw/tables", "{not json").status()).isEqualTo(400);
    }
}
