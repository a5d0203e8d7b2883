package io.watershed.lake;

import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.iceberg.jdbc.JdbcCatalog;

/**
 * Iceberg's JDBC catalog, told its database password by a handle instead of by value: with the catalog in PostgreSQL
 * ({@code metadata.url}) the catalog properties carry {@value #PASSWORD_HANDLE}, which this class turns back into
 * {@code jdbc.password} inside this JVM, so the password never appears in catalog properties, Flink's
 * {@code CREATE CATALOG} statements or the logs and errors that print them. Flink's catalogs for pipelines and model
 * builds name this class as their {@code catalog-impl}.
 */
public class WatershedJdbcCatalog extends JdbcCatalog {
    static final String PASSWORD_HANDLE = "jdbc.password-handle";
    private static final Map<String, String> PASSWORDS = new ConcurrentHashMap<>();

    /** Keeps the password in this JVM; returns the handle {@link #initialize} finds it by. */
    static String register(String password) {
        String handle = UUID.randomUUID().toString();
        PASSWORDS.put(handle, password);
        return handle;
    }

    static void unregister(String handle) {
        PASSWORDS.remove(handle);
    }

    @Override
    public void initialize(String name, Map<String, String> properties) {
        Map<String, String> resolved = new HashMap<>(properties);
        String handle = resolved.remove(PASSWORD_HANDLE);
        if (handle != null) {
            String password = PASSWORDS.get(handle);
            if (password == null) {
                throw new IllegalStateException("Cannot open the lake's catalog: the password of metadata.url is no longer "
                        + "registered (the lake that registered it is closed)");
            }
            resolved.put("jdbc.password", password);
        }
        super.initialize(name, resolved);
    }
}
