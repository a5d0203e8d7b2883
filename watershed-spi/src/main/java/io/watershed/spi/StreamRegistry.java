package io.watershed.spi;

import java.util.Collection;
import java.util.Optional;

/** Resolves stream names to specs, creating a stream on first use where the platform allows it. */
public interface StreamRegistry {
    /**
     * The stream named {@code name}; if unknown and creation on first use is allowed, creates it
     * (topic and lake table) first.
     */
    Optional<StreamSpec> resolve(String name, boolean createIfMissing);

    Collection<StreamSpec> streams();
}
