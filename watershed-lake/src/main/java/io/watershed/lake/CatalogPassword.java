package io.watershed.lake;

import io.watershed.spi.InProcessHandles;
import java.util.Properties;
import org.postgresql.plugin.AuthenticationPlugin;
import org.postgresql.plugin.AuthenticationRequestType;
import org.postgresql.util.PSQLException;
import org.postgresql.util.PSQLState;

/**
 * The password of the lake's catalog in PostgreSQL ({@code metadata.url}), handed to pgJDBC by a handle instead of by
 * value: the catalog properties name this class as pgJDBC's {@code authenticationPluginClassName} and carry a random
 * {@value #HANDLE}, which pgJDBC passes to the constructor. So the password is in no catalog property — not in
 * Iceberg's {@code JdbcCatalog.properties()}, the FileIO properties serialised with a table into Flink jobs, Flink's
 * {@code CREATE CATALOG} statements or the logs and errors that print them — and only this JVM can resolve it.
 */
public final class CatalogPassword implements AuthenticationPlugin {
    /** The pgJDBC connection property (under {@code jdbc.} in the catalog properties) that names the password. */
    static final String HANDLE = "watershedPasswordHandle";
    private static final InProcessHandles<char[]> PASSWORDS = new InProcessHandles<>();

    private final String handle;

    /** Called by pgJDBC with the connection's properties. */
    public CatalogPassword(Properties properties) {
        this.handle = properties.getProperty(HANDLE);
    }

    /** Keeps the password in this JVM; returns the handle the connection properties name it by. */
    static String register(String password) {
        return PASSWORDS.register(password.toCharArray());
    }

    static void unregister(String handle) {
        PASSWORDS.unregister(handle);
    }

    @Override
    public char[] getPassword(AuthenticationRequestType type) throws PSQLException {
        char[] password = PASSWORDS.find(handle).orElse(null);
        if (password == null) {
            throw new PSQLException("Cannot log in to the lake's catalog: the password of metadata.url is not registered in "
                    + "this JVM (the lake that registered it is closed)", PSQLState.INVALID_PASSWORD);
        }
        return password.clone();
    }

    @Override
    public String toString() {
        return "CatalogPassword[metadata.password]";
    }
}
