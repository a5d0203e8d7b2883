package io.watershed.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watershed.spi.QueryEngine.Cursor;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The catalog a Postgres client sees: psql 15's \dt and \d and pgJDBC's DatabaseMetaData, from the readable tables only. */
class CatalogMirrorTest {
    private final List<CatalogMirror.Table> readable = new ArrayList<>(List.of(new CatalogMirror.Table("raw", "clicks", List.of(
            new CatalogMirror.Column("id", "BIGINT"), new CatalogMirror.Column("page", "VARCHAR"),
            new CatalogMirror.Column("price", "DECIMAL(10,2)"), new CatalogMirror.Column("at", "TIMESTAMP WITH TIME ZONE"),
            new CatalogMirror.Column("tags", "VARCHAR[]")))));

    private static List<String> rows(CatalogMirror mirror, String sql) {
        List<String> rows = new ArrayList<>();
        try (Cursor cursor = mirror.open(sql, List.of())) {
            for (List<Object[]> batch = cursor.next(100); !batch.isEmpty(); batch = cursor.next(100)) {
                batch.forEach(r -> rows.add(Arrays.stream(r).map(String::valueOf).collect(Collectors.joining("|"))));
            }
        }
        return rows;
    }

    @Test
    void everyQueryOfPsqlAndJdbcRunsAndSeesOnlyTheReadableTables() throws IOException {
        String text;
        try (InputStream in = getClass().getResourceAsStream("/psql-and-jdbc-catalog-queries.sql")) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        List<String> queries = Arrays.stream(text.split(";\\s*\\n")).filter(q -> !q.isBlank()).toList();
        try (CatalogMirror mirror = new CatalogMirror(() -> List.copyOf(readable), Duration.ofSeconds(10))) {
            assertThat(rows(mirror, queries.get(0))).containsExactly("raw|clicks|table|watershed");
            String oid = rows(mirror, queries.get(1)).get(0).split("\\|")[0];
            for (String query : queries) {
                assertThat(rows(mirror, query.replace("OID", oid))).as(query).isNotNull();
            }
            assertThat(rows(mirror, queries.get(3).replace("OID", oid))).extracting(r -> r.split("\\|")[0] + " " + r.split("\\|")[1])
                    .containsExactly("id bigint", "page character varying", "price numeric(10,2)", "at timestamp with time zone",
                            "tags json");
            assertThat(rows(mirror, queries.get(13))).extracting(r -> r.split("\\|")[3]).containsExactly("20", "1043", "1700", "1184", "114");
        }
    }

    @Test
    void theCatalogFollowsWhatTheUserMayRead() {
        try (CatalogMirror mirror = new CatalogMirror(() -> List.copyOf(readable), Duration.ofSeconds(10))) {
            String tables = "SELECT table_schema || '.' || table_name FROM information_schema.tables ORDER BY 1";
            assertThat(rows(mirror, tables)).containsExactly("raw.clicks");
            readable.add(new CatalogMirror.Table("models", "daily", List.of(new CatalogMirror.Column("n", "BIGINT"))));
            assertThat(rows(mirror, tables)).containsExactly("models.daily", "raw.clicks");
        }
    }

    @Test
    void onlyASelectRunsThere() {
        try (CatalogMirror mirror = new CatalogMirror(() -> List.copyOf(readable), Duration.ofSeconds(10))) {
            assertThatThrownBy(() -> mirror.open("CREATE TABLE pg_x AS SELECT 1", List.of())).isInstanceOf(WatershedException.class);
            assertThatThrownBy(() -> mirror.open("SELECT * FROM read_text('/etc/hostname') WHERE 'pg_x' = 'pg_x'", List.of()))
                    .isInstanceOf(WatershedException.class);
        }
    }
}
