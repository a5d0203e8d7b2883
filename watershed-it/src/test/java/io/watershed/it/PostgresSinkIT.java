package io.watershed.it;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The sink conformance suite against a real PostgreSQL server (zonky's embedded binaries). */
class PostgresSinkIT extends SinkConformance {
    private EmbeddedPostgres postgres;
    private Path data;
    private int port;

    @BeforeAll
    void startPostgres() throws Exception {
        data = Files.createTempDirectory("postgres-sink-it");
        postgres = EmbeddedPostgres.builder().setDataDirectory(data).setCleanDataDirectory(false).start();
        port = postgres.getPort();
    }

    @AfterAll
    void stopPostgres() throws Exception {
        if (postgres != null) {
            postgres.close();
        }
        try (Stream<Path> files = Files.walk(data)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    @Override
    void stopStore() throws Exception {
        postgres.close();
        postgres = null;
    }

    @Override
    void startStore() throws Exception {
        postgres = EmbeddedPostgres.builder().setDataDirectory(data).setCleanDataDirectory(false).setPort(port).start();
    }

    @Override
    String connection() {
        // trust authentication: the password is sent and not checked
        return "type: jdbc\nurl: jdbc:postgresql://localhost:" + port + "/postgres\nuser: postgres\npassword: " + SECRET;
    }

    @Override
    List<String> storeRows(String query) throws Exception {
        return SqlRows.of(postgres.getPostgresDatabase().getConnection(), query);
    }

    @Override
    void execute(String statement) throws Exception {
        try (java.sql.Connection c = postgres.getPostgresDatabase().getConnection(); java.sql.Statement s = c.createStatement()) {
            s.execute(statement);
        }
    }
}
