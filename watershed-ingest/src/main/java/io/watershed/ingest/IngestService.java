package io.watershed.ingest;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.EventBus;
import io.watershed.spi.Settings;
import io.watershed.spi.StreamRegistry;
import io.watershed.spi.StreamSpec;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Accepts a batch of events for a stream and answers only once all are durable in the bus.
 * A request is all-or-nothing: malformed input is refused before anything is published; overload
 * and a full disk are refused before parsing; a bus failure after publishing started is reported as
 * UNAVAILABLE so the client retries (with an Idempotency-Key, a retry never writes twice).
 */
public final class IngestService {
    private static final Duration OVERLOAD_RETRY = Duration.ofSeconds(1);
    private static final Duration UNAVAILABLE_RETRY = Duration.ofSeconds(5);

    private final EventBus bus;
    private final StreamRegistry streams;
    private final Settings settings;
    private final MeterRegistry meters;
    private final Semaphore inFlight;
    private final KeyLocks keyLocks = new KeyLocks();
    private final IngestGate gate;

    /**
     * @param gate refuses a stream's events while the disk is short or its lake too far behind (503 with Retry-After)
     */
    public IngestService(EventBus bus, StreamRegistry streams, Settings settings, IngestGate gate, MeterRegistry meters) {
        this.gate = gate;
        this.bus = bus;
        this.streams = streams;
        this.settings = settings;
        this.meters = meters;
        this.inFlight = new Semaphore(settings.ingest().maxInFlightRequests());
    }

    /**
     * @param body the raw request body
     * @param contentEncoding the Content-Encoding header (gzip or identity), may be null
     * @param idempotencyKey the Idempotency-Key header, may be empty
     */
    public IngestResult ingest(String streamName, InputStream body, String contentEncoding, Optional<String> idempotencyKey) {
        if (!StreamSpec.NAME.matcher(streamName).matches()) {
            rejected("(invalid name)", "unknown_stream"); // one label for every such name: names chosen by clients never become labels
            throw new WatershedException(ErrorCode.UNKNOWN_STREAM, "Cannot find stream '" + (streamName.length() > 100
                    ? streamName.substring(0, 100) + "..." : streamName) + "': stream names are " + StreamSpec.NAME_RULE);
        }
        if (streams.resolve(streamName, false).isEmpty() && !settings.ingest().autoCreateStreams()) {
            rejected("(unknown)", "unknown_stream");
            throw new WatershedException(ErrorCode.UNKNOWN_STREAM, "Cannot find stream '" + streamName
                    + "': declare it in streams/" + streamName + ".yaml, or set ingest.auto_create_streams: true");
        }
        Optional<IngestGate.Refusal> refusal = gate.check(streamName);
        if (refusal.isPresent()) {
            rejected(streamName, refusal.get().reason());
            throw refusal.get().error();
        }
        if (!inFlight.tryAcquire()) {
            rejected(streamName, "overloaded");
            throw WatershedException.overloaded("Cannot accept events now: " + settings.ingest().maxInFlightRequests()
                    + " requests are already in flight (ingest.max_in_flight_requests); retry after the delay",
                    OVERLOAD_RETRY);
        }
        try {
            if (idempotencyKey.isEmpty()) {
                return new IngestResult(publish(streamName, body, contentEncoding, null), false);
            }
            String key = idempotencyKey.get();
            ReentrantLock lock = keyLocks.lock(streamName, key);
            try {
                Optional<Integer> earlier = bus.publishedUnder(streamName, key);
                if (earlier.isPresent()) {
                    new LimitedInputStream(body, settings.http().maxBody()).transferTo(java.io.OutputStream.nullOutputStream());
                    return new IngestResult(earlier.get(), true);
                }
                return new IngestResult(publish(streamName, body, contentEncoding, key), false);
            } finally {
                keyLocks.release(streamName, key, lock);
            }
        } catch (IOException e) {
            rejected(streamName, "unreadable");
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot read the request body: " + e.getMessage(), e);
        } finally {
            inFlight.release();
        }
    }

    /** @param idempotencyKey when not null, the events and the key are published in one Kafka transaction */
    private int publish(String streamName, InputStream rawBody, String contentEncoding, String idempotencyKey)
            throws IOException {
        InputStream decoded;
        try {
            decoded = decode(rawBody, contentEncoding);
        } catch (WatershedException e) { // an unknown encoding, or a gzip header that is not one
            rejected(streamName, e.code() == ErrorCode.UNSUPPORTED_MEDIA ? "unsupported_encoding" : "malformed");
            throw e;
        }
        Optional<StreamSpec> declared = streams.resolve(streamName, false);
        List<EventParser.ParsedEvent> parsed;
        try {
            parsed = events(decoded, settings.http().maxBody(), declared.flatMap(StreamSpec::key));
        } catch (WatershedException e) {
            rejected(streamName, e.code() == ErrorCode.PAYLOAD_TOO_LARGE ? "too_large" : "malformed");
            throw e;
        }
        StreamSpec stream = streams.resolve(streamName, settings.ingest().autoCreateStreams())
                .orElseThrow(() -> new WatershedException(ErrorCode.UNKNOWN_STREAM, "Cannot find stream '" + streamName + "'"));
        long now = System.currentTimeMillis();
        List<EventBus.Event> events = new ArrayList<>(parsed.size());
        for (EventParser.ParsedEvent event : parsed) {
            byte[] key = event.key().map(k -> k.getBytes(StandardCharsets.UTF_8)).orElse(null);
            events.add(new EventBus.Event(key, event.json(), now));
        }
        try {
            if (idempotencyKey == null) {
                bus.publish(stream.topic(), events).get(settings.ingest().produceTimeout().toMillis(), TimeUnit.MILLISECONDS);
            } else {
                bus.publishIdempotent(stream.topic(), events, idempotencyKey);
            }
            io.watershed.spi.CrashPoints.reach(io.watershed.spi.CrashPoints.INGEST_AFTER_ACK);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw WatershedException.unavailable("Cannot confirm events are durable: interrupted; retry", UNAVAILABLE_RETRY, e);
        } catch (TimeoutException e) {
            rejected(streamName, "bus_timeout");
            throw WatershedException.unavailable("Cannot confirm events are durable: the bus did not acknowledge within "
                    + settings.ingest().produceTimeout().toSeconds() + "s; retry with the same Idempotency-Key", UNAVAILABLE_RETRY, e);
        } catch (ExecutionException e) {
            rejected(streamName, "bus_error");
            Throwable cause = e.getCause();
            if (cause instanceof WatershedException w) {
                throw w;
            }
            throw WatershedException.unavailable("Cannot confirm events are durable: " + cause.getMessage()
                    + "; retry with the same Idempotency-Key", UNAVAILABLE_RETRY, cause);
        }
        Counter.builder("watershed.ingest.events.accepted").tag("stream", streamName)
                .description("Events acknowledged as durable in the bus").register(meters).increment(events.size());
        return events.size();
    }

    /**
     * The events of a decoded body, at most {@code maxBytes} of it (after decompression: a gzip bomb stops there).
     * Fails with WatershedException (INVALID_INPUT, PAYLOAD_TOO_LARGE) for what the client sent, IOException when the
     * body cannot be read (a truncated gzip stream); nothing else (IngestFuzzTest holds it to that).
     */
    static List<EventParser.ParsedEvent> events(InputStream decoded, long maxBytes, Optional<String> keyField) throws IOException {
        try {
            return EventParser.parse(new LimitedInputStream(decoded, maxBytes), keyField);
        } catch (ZipException e) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot decompress the body: " + e.getMessage()
                    + "; it was sent with Content-Encoding: gzip but is not valid gzip", e);
        }
    }

    static InputStream decode(InputStream body, String contentEncoding) throws IOException {
        if (contentEncoding == null || contentEncoding.isBlank() || contentEncoding.equalsIgnoreCase("identity")) {
            return body;
        }
        if (contentEncoding.equalsIgnoreCase("gzip") || contentEncoding.equalsIgnoreCase("x-gzip")) {
            try {
                return new GZIPInputStream(body, 64 * 1024);
            } catch (ZipException e) {
                throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot decompress the body: " + e.getMessage()
                        + "; it was sent with Content-Encoding: gzip but is not valid gzip", e);
            }
        }
        throw new WatershedException(ErrorCode.UNSUPPORTED_MEDIA, "Cannot decode the body: Content-Encoding '"
                + contentEncoding + "' is not supported; use gzip or none", Map.of("content_encoding", contentEncoding),
                null, null);
    }

    /**
     * Refuses a request whose declared length is over {@code http.max_body} before reading it: 413, counted.
     */
    public void checkDeclaredLength(String streamName, long contentLength) {
        if (contentLength > settings.http().maxBody()) {
            rejected(StreamSpec.NAME.matcher(streamName).matches() ? streamName : "(invalid name)", "too_large");
            throw new WatershedException(ErrorCode.PAYLOAD_TOO_LARGE, "Cannot accept events: the body has " + contentLength
                    + " bytes, more than http.max_body (" + settings.http().maxBody() + "); split it into smaller requests",
                    Map.of("limit_bytes", settings.http().maxBody()), null, null);
        }
    }

    private void rejected(String stream, String reason) {
        Counter.builder("watershed.ingest.requests.rejected").tag("stream", stream).tag("reason", reason)
                .description("Ingest requests refused, by reason").register(meters).increment();
    }
}
