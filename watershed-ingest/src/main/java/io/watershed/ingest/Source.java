package io.watershed.ingest;

import io.watershed.spi.SourceStatus;

/**
 * A running collector besides the HTTP API: the Fluentd forward listener, a file tail, a jdbc import, a CDC engine.
 * {@link Sources} builds one per declared {@link io.watershed.spi.SourceSpec} (the forward listener and a CDC engine
 * serve several), starts them, asks their statuses and closes them, all alike.
 *
 * <p>Each publishes through a {@link SourcePublisher}. A source is constructed first (what cannot work, such as a
 * port already taken, fails there), then started once; {@link #close()} is safe whether or not it was started, and
 * returns once nothing more is published, so what it read is either durable or read again at the next start.
 */
public interface Source extends AutoCloseable {

    /** The name the API and the metrics know the source by. */
    String name();

    /** Starts reading in the source's own threads; returns at once. */
    void start();

    /** What the source reports now; cheap, callable from any thread. */
    SourceStatus status();

    /** Stops reading and releases the source's files, sockets and connections. */
    @Override
    void close();
}
