package io.watershed.spi;

import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Values handed to a class that a library of this JVM instantiates by name from its configuration (pgJDBC's
 * authentication plugin, an AWS credentials provider, a Kafka callback handler), by a random handle in that
 * configuration instead of by value. The secret or the object stays out of every property map, statement and log line
 * that prints the configuration, and only this JVM can resolve the handle. Each such class keeps one static instance.
 *
 * @param <T> what is handed over
 */
public final class InProcessHandles<T> {
    private final Map<String, T> values = new ConcurrentHashMap<>();

    /** Keeps {@code value} until {@link #unregister}; returns the handle the configuration names it by. */
    public String register(T value) {
        String handle = UUID.randomUUID().toString();
        values.put(handle, value);
        return handle;
    }

    public void unregister(String handle) {
        values.remove(handle);
    }

    /** The value registered under {@code handle}; empty when the handle is null, unknown or unregistered. */
    public Optional<T> find(String handle) {
        return handle == null ? Optional.empty() : Optional.ofNullable(values.get(handle));
    }
}
