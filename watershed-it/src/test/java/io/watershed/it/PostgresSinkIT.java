package io.watershed.it;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The sink conformance suite against a real PostgreSQL server (zonky's embedded binaries). */
class PostgresSinkIT extends SinkConformance {
    private EmbeddedPostgres postgres;

    @BeforeAll
    void startPostgres() throws Exception {
        postgres = EmbeddedPostgres.builder().start();
    }

    @AfterAll
    void stopPostgres() throws Exception {
        if (postgres != null) {
            postgres.close();
        }
    }

    @Override
    String url() {
        return "jdbc:postgresql://localhost:" + postgres.getPort() + "/postgres";
    }

    @Override
    String user() {
        return "postgres"; // trust authentication: the password is sent and not checked
    }

    @Override
    List<String> storeRows(String query) throws Exception {
        return SqlRows.of(postgres.getPostgresDatabase().getConnection(), query);
    }
}
