package io.watershed.ingest;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

/** The sources' own bookkeeping ({@code sources.db} in the data directory): SQLite, durable at each commit. */
public final class SourceDatabase {
    private SourceDatabase() {}

    /** Opens the database (WAL, synchronous, waiting for other writers) and runs {@code schema}, idempotent DDL. */
    public static Connection open(Path database, String... schema) {
        try {
            Files.createDirectories(database.getParent());
            Connection connection = DriverManager.getConnection("jdbc:sqlite:" + database);
            try (Statement s = connection.createStatement()) {
                s.execute("PRAGMA busy_timeout=10000");
                s.execute("PRAGMA journal_mode=WAL");
                s.execute("PRAGMA synchronous=FULL");
                for (String ddl : schema) {
                    s.execute(ddl);
                }
            }
            return connection;
        } catch (java.io.IOException | SQLException e) {
            throw new IllegalStateException("Cannot open the sources' state at " + database + ": " + e.getMessage(), e);
        }
    }
}
