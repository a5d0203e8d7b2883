package io.watershed.lake;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.Secret;
import io.watershed.spi.Settings;
import io.watershed.spi.StateDatabase;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Map;
import org.apache.iceberg.CatalogProperties;
import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.Schema;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lake's Iceberg catalog in a real PostgreSQL ({@code metadata.url}), in Watershed's schema, with a password: what
 * one lake (instance) creates another sees, and the catalog properties handed to Flink open the same catalog without
 * carrying the password.
 */
class IcebergLakePostgresTest {
    private static final String PASSWORD = "lake-catalog-password";

    @TempDir
    Path dir;

    @Test
    void theCatalogLivesInPostgresAndFlinksCopyOfItsPropertiesHoldsNoPassword() throws Exception {
        try (EmbeddedPostgres postgres = EmbeddedPostgres.builder().start()) {
            try (Connection c = postgres.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
                s.execute("CREATE ROLE lake LOGIN PASSWORD '" + PASSWORD + "'");
                s.execute("GRANT CREATE ON DATABASE postgres TO lake");
            }
            StateDatabase state = StateDatabase.of(Settings.Metadata.postgres(postgres.getJdbcUrl("lake", "postgres"),
                    "lake", Secret.of(PASSWORD), "watershed"), dir);
            TableIdentifier clicks = TableIdentifier.of(Namespace.of("raw"), "clicks");
            try (IcebergLake one = new IcebergLake(dir.resolve("one"), Settings.defaults().lake(), state)) {
                one.catalog().createTable(clicks, new Schema(Types.NestedField.required(1, "id", Types.LongType.get())));
                Map<String, String> forFlink = one.catalogProperties();
                assertThat(forFlink.toString()).doesNotContain(PASSWORD);
                assertThat(forFlink).containsEntry("jdbc.authenticationPluginClassName", CatalogPassword.class.getName())
                        .containsEntry("jdbc.currentSchema", "watershed");
                Catalog flinks = CatalogUtil.buildIcebergCatalog(IcebergLake.CATALOG_NAME, forFlink, IcebergLake.hadoopConfiguration());
                assertThat(flinks.tableExists(clicks)).as("Flink's catalog opens with the handle").isTrue();
                assertThat(flinks.loadTable(clicks).io().properties().toString())
                        .as("nor in the FileIO properties serialised with a table into Flink jobs").doesNotContain(PASSWORD);
                ((java.io.Closeable) flinks).close();
                try (IcebergLake other = new IcebergLake(dir.resolve("other"), Settings.defaults().lake(), state)) {
                    assertThat(other.catalog().tableExists(clicks)).as("another instance sees the table").isTrue();
                }
            }
            try (Connection c = postgres.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
                try (ResultSet rs = s.executeQuery("SELECT table_name FROM watershed.iceberg_tables")) {
                    assertThat(rs.next()).as("the catalog's rows are in Watershed's schema").isTrue();
                    assertThat(rs.getString(1)).isEqualTo("clicks");
                }
            }
            java.nio.file.Files.createDirectories(dir.resolve("local"));
            java.nio.file.Files.writeString(dir.resolve("local").resolve("catalog.db"), "");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> new IcebergLake(dir.resolve("local"), Settings.defaults().lake(),
                    state)).as("a data directory with a catalog of its own").hasMessageContaining("move");
        }
    }
}
