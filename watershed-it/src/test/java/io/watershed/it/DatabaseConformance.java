package io.watershed.it;

import io.watershed.testing.WatershedHttp;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.AfterAll;

/**
 * The conformance suite for the database sources, on a real PostgreSQL server: the events are rows of
 * {@code public.conf} (the nested object kept as JSON text, {@code seq} the monotonic column). What the lake cannot
 * take is a row after the source changed a column's type ({@code n} from integer to text): it lands in the DLQ with
 * its reason.
 */
abstract class DatabaseConformance extends SourceConformance {
    static final String PASSWORD = "conformance-pg-secret-91";
    EmbeddedPostgres postgres;
    private boolean typeChanged;

    @Override
    String streamBody(Path root) throws Exception {
        postgres = EmbeddedPostgres.builder().setServerConfig("wal_level", "logical").setServerConfig("max_replication_slots", "4")
                .setServerConfig("max_wal_senders", "4").start();
        sql("CREATE TABLE public.conf (seq bigserial, id text PRIMARY KEY, n int, text text, nested text)");
        return "key: id\nsources:\n  - " + source("jdbc:postgresql://localhost:" + postgres.getPort() + "/postgres")
                .replace("\n", "\n    ") + "\n";
    }

    /** The source's YAML (after "- "); user postgres, password {@link #PASSWORD}. */
    abstract String source(String url);

    /** Makes the source read what was inserted (an import runs now; CDC needs nothing). */
    abstract void afterInsert();

    @AfterAll
    void stopPostgres() throws Exception {
        if (postgres != null) {
            postgres.close();
        }
    }

    void sql(String... statements) throws Exception {
        try (Connection c = postgres.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            for (String statement : statements) {
                s.execute(statement);
            }
        }
    }

    @Override
    void send(List<String> events) throws Exception {
        if (typeChanged) {
            sql("ALTER TABLE public.conf ALTER COLUMN n TYPE int USING CASE WHEN n ~ '^[0-9]+$' THEN n::int END");
            typeChanged = false;
        }
        try (Connection c = postgres.getPostgresDatabase().getConnection();
                PreparedStatement insert = c.prepareStatement("INSERT INTO public.conf (id, n, text, nested) VALUES (?, ?, ?, ?)")) {
            for (String event : events) {
                var node = WatershedHttp.JSON.readTree(event);
                insert.setString(1, node.path("id").asText());
                insert.setInt(2, node.path("n").asInt());
                insert.setString(3, node.path("text").asText());
                insert.setString(4, node.path("nested").toString());
                insert.addBatch();
            }
            insert.executeBatch();
        }
        afterInsert();
    }

    @Override
    Undecodable sendUndecodable() throws Exception {
        sql("ALTER TABLE public.conf ALTER COLUMN n TYPE text USING n::text",
                "INSERT INTO public.conf (id, n, text, nested) VALUES ('x-many', 'many', 'the lake cannot hold it', '{}')");
        typeChanged = true;
        afterInsert();
        return new Undecodable(false, "field 'n': expected int, got string");
    }

    @Override
    String undecodableMetric() {
        return "watershed_lake_dlq_rows_total{stream=\"conf\"}";
    }

    @Override
    String secret() {
        return PASSWORD;
    }
}
