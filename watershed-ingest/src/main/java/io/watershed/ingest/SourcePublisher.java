package io.watershed.ingest;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.watershed.spi.EventBus;
import io.watershed.spi.StreamRegistry;
import io.watershed.spi.StreamSpec;
import io.watershed.spi.WatershedException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;

/**
 * How every source other than the HTTP API publishes: a batch of events (dead letters among them) to one
 * stream, returning only once all are durable in the bus. With a batch id, a batch published before is
 * not published again (the id and the events are one Kafka transaction), so a source that retries after
 * a crash or a lost acknowledgement writes nothing twice. Counts records, bytes, dead letters and errors per
 * source as {@code watershed_source_*}.
 */
public final class SourcePublisher {
    private final EventBus bus;
    private final StreamRegistry streams;
    private final MeterRegistry meters;
    private final Duration timeout;
    private final KeyLocks keyLocks = new KeyLocks();
    private final IngestGate gate;

    public SourcePublisher(EventBus bus, StreamRegistry streams, MeterRegistry meters, Duration timeout) {
        this(bus, streams, meters, timeout, IngestGate.open());
    }

    /** @param gate refuses a batch (UNAVAILABLE, nothing published) while the disk is short or the stream's lake too far behind */
    public SourcePublisher(EventBus bus, StreamRegistry streams, MeterRegistry meters, Duration timeout, IngestGate gate) {
        this.gate = gate;
        this.bus = bus;
        this.streams = streams;
        this.meters = meters;
        this.timeout = timeout;
    }

    /** The stream, created on first use if {@code create}. */
    public Optional<StreamSpec> stream(String name, boolean create) {
        return streams.resolve(name, create);
    }

    /**
     * Publishes and waits until durable.
     *
     * @param batchId when not null, a batch already published under this id is skipped
     * @return how many events the batch had when it was first published (this call's, unless it was a repeat)
     * @throws WatershedException UNAVAILABLE when the bus did not confirm, or the gate refused the stream (nothing was
     *     published then); the caller retries with the same id
     */
    public int publish(String source, StreamSpec stream, List<EventBus.Event> events, String batchId) {
        return publish(source, stream, events, batchId, true);
    }

    /**
     * Publishes under {@code batchId} without looking for an earlier batch of that id, and waits until durable: for a
     * source whose ids come back legitimately (an MQTT packet id is reused once acknowledged), which looks for an
     * earlier batch ({@link #publish}) only with input its peer says it delivers again.
     *
     * @throws WatershedException as {@link #publish}
     */
    public int publishFirstDelivery(String source, StreamSpec stream, List<EventBus.Event> events, String batchId) {
        return publish(source, stream, events, java.util.Objects.requireNonNull(batchId), false);
    }

    private int publish(String source, StreamSpec stream, List<EventBus.Event> events, String batchId, boolean skipRepeat) {
        if (events.isEmpty()) {
            return 0;
        }
        Optional<IngestGate.Refusal> refusal = gate.check(stream.name());
        if (refusal.isPresent()) {
            error(source, stream.name(), refusal.get().reason());
            throw refusal.get().error();
        }
        try {
            if (batchId == null) {
                bus.publish(stream.topic(), events).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } else {
                ReentrantLock lock = keyLocks.lock(stream.topic(), batchId);
                try {
                    Optional<Integer> earlier = skipRepeat ? bus.publishedUnder(stream.topic(), batchId) : Optional.empty();
                    if (earlier.isPresent()) {
                        counter("watershed.source.repeats", source, stream.name(), "Batches a source sent again that were "
                                + "already durable, so not published twice").increment();
                        return earlier.get();
                    }
                    bus.publishIdempotent(stream.topic(), events, batchId);
                } finally {
                    keyLocks.release(stream.topic(), batchId, lock);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw WatershedException.unavailable("Cannot confirm events are durable: interrupted", Duration.ofSeconds(1), e);
        } catch (TimeoutException e) {
            error(source, stream.name(), "bus_timeout");
            throw WatershedException.unavailable("Cannot confirm events are durable: the bus did not acknowledge within "
                    + timeout.toSeconds() + "s", Duration.ofSeconds(5), e);
        } catch (ExecutionException e) {
            error(source, stream.name(), "bus_error");
            Throwable cause = e.getCause();
            if (cause instanceof WatershedException w) {
                throw w;
            }
            throw WatershedException.unavailable("Cannot confirm events are durable: " + cause.getMessage(), Duration.ofSeconds(5),
                    cause);
        } catch (WatershedException e) {
            error(source, stream.name(), "bus_error");
            throw e;
        }
        long bytes = 0;
        long deadLetters = 0;
        for (EventBus.Event event : events) {
            bytes += event.value().length;
            deadLetters += event.deadLetterReason() == null ? 0 : 1;
        }
        counter("watershed.source.records", source, stream.name(), "Records a source published to its stream (dead letters "
                + "included)").increment(events.size());
        counter("watershed.source.bytes", source, stream.name(), "Bytes of the records a source published").increment(bytes);
        if (deadLetters > 0) {
            counter("watershed.source.dead.letters", source, stream.name(), "Input a source could not decode, published for the "
                    + "stream's dead-letter table with the reason").increment(deadLetters);
        }
        return events.size();
    }

    /**
     * Waits while the gate refuses the stream, for a source that can hold back rather than fail its batch (CDC: its
     * engine then stops reading the database's log). Counts and logs each wait.
     */
    public void awaitAdmitted(String source, StreamSpec stream, java.util.function.BooleanSupplier running) throws InterruptedException {
        Optional<IngestGate.Refusal> refusal = gate.check(stream.name());
        if (refusal.isEmpty()) {
            return;
        }
        error(source, stream.name(), refusal.get().reason());
        org.slf4j.LoggerFactory.getLogger(SourcePublisher.class).warn("Source {} waits: {}", source, refusal.get().error().getMessage());
        while (running.getAsBoolean() && refusal.isPresent()) {
            Thread.sleep(Math.min(1_000, refusal.get().error().retryAfter().map(Duration::toMillis).orElse(1_000L)));
            refusal = gate.check(stream.name());
        }
    }

    /** Counts input a source refused or lost before it reached a stream (malformed framing, a failed handshake...). */
    public void error(String source, String stream, String reason) {
        Counter.builder("watershed.source.errors").tag("source", source).tag("stream", stream == null ? "" : stream)
                .tag("reason", reason).description("Input a source could not take, by reason").register(meters).increment();
    }

    private Counter counter(String name, String source, String stream, String description) {
        return Counter.builder(name).tag("source", source).tag("stream", stream).description(description).register(meters);
    }

    public MeterRegistry meters() {
        return meters;
    }
}
