package io.watershed.query;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.LakeCatalog;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.stream.Stream;
import org.duckdb.DuckDBConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens the in-memory DuckDB database the queries run in, sandboxed: no file outside the lake warehouse can be
 * opened ({@code enable_external_access=false} with the warehouse as the only allowed directory), no extension
 * can be installed or loaded, and the configuration is locked. Creates the catalog and schemas the engine fills:
 * {@value LakeViews#COMMITTED}, {@value FreshTails#SCHEMA}, {@value TableGrants#GRANT_SCHEMA}.
 */
final class DuckDbSandbox {
    private static final Logger LOG = LoggerFactory.getLogger(DuckDbSandbox.class);

    private DuckDbSandbox() {}

    /**
     * @param tempDirectory DuckDB's spill directory, inside the data directory
     * @param memoryLimit DuckDB memory limit, e.g. {@code 1GB}
     * @throws WatershedException INTERNAL when DuckDB cannot start
     */
    static DuckDBConnection open(LakeCatalog lake, Path tempDirectory, String memoryLimit) {
        try {
            Files.createDirectories(tempDirectory);
            Properties properties = new Properties();
            properties.setProperty("memory_limit", memoryLimit);
            properties.setProperty("autoinstall_known_extensions", "false");
            properties.setProperty("autoload_known_extensions", "false");
            // results are not streamed (jdbc_stream_results): a streamed result reports an error raised while it runs as
            // "Invalid result set" at its first fetch, losing the reason (and the sandbox's refusals with it: SqlSandboxIT)
            DuckDBConnection connection = (DuckDBConnection) DriverManager.getConnection("jdbc:duckdb:", properties);
            removeExtractedLibrary();
            try (Statement s = connection.createStatement()) {
                sandbox(s, tempDirectory, lake);
            } catch (SQLException e) {
                connection.close();
                throw e;
            }
            return connection;
        } catch (SQLException e) {
            throw new WatershedException(ErrorCode.INTERNAL, "Cannot start DuckDB: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create DuckDB's temp directory " + tempDirectory, e);
        }
    }

    /**
     * DuckDB's driver copies its 70 MB native library to the temp directory and deletes it at a normal
     * exit only; every {@code kill -9} would leave one behind. Once loaded, the file is no longer needed
     * (Linux keeps the mapping), so it is removed now. Where {@code /proc/self/maps} does not exist, the
     * driver's own clean-up at exit stays in charge.
     */
    private static void removeExtractedLibrary() {
        Path maps = Path.of("/proc/self/maps");
        if (!Files.isReadable(maps)) {
            return;
        }
        try (Stream<String> lines = Files.lines(maps)) {
            lines.map(line -> line.substring(line.lastIndexOf(' ') + 1))
                    .filter(path -> path.contains("libduckdb_java") && path.startsWith("/"))
                    .distinct()
                    .forEach(path -> {
                        try {
                            Files.deleteIfExists(Path.of(path));
                        } catch (IOException e) {
                            LOG.debug("Cannot remove DuckDB's extracted library {}: {}", path, e.toString());
                        }
                    });
        } catch (IOException | UncheckedIOException e) {
            LOG.debug("Cannot read /proc/self/maps: {}", e.toString());
        }
    }

    /** Order matters: the allow-list and directories must be set before external access is turned off. */
    private static void sandbox(Statement s, Path tempDirectory, LakeCatalog lake) throws SQLException {
        s.execute("ATTACH ':memory:' AS " + LakeViews.COMMITTED);
        s.execute("CREATE SCHEMA " + FreshTails.SCHEMA);
        s.execute("CREATE SCHEMA " + TableGrants.GRANT_SCHEMA);
        s.execute("SET temp_directory = " + DuckDbSql.literal(tempDirectory.toAbsolutePath().toString()));
        s.execute("SET extension_directory = " + DuckDbSql.literal(tempDirectory.resolve("extensions").toAbsolutePath().toString()));
        s.execute("SET allowed_directories = [" + DuckDbSql.literal(lake.warehouse().toAbsolutePath() + "/") + "]");
        s.execute("SET enable_external_access = false");
        s.execute("SET allow_community_extensions = false");
        s.execute("SET lock_configuration = true");
    }
}
