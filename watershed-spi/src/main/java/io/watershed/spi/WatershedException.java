package io.watershed.spi;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The one exception root of Watershed. Carries a stable {@link ErrorCode}, a message that reads
 * "Cannot &lt;verb&gt; &lt;thing&gt;: &lt;reason&gt;", optional details (line, column, field...) and,
 * for retriable errors, how long the caller should wait before retrying.
 */
public class WatershedException extends RuntimeException {
    private final ErrorCode code;
    private final Map<String, Object> details;
    private final Duration retryAfter;

    public WatershedException(ErrorCode code, String message) {
        this(code, message, Map.of(), null, null);
    }

    public WatershedException(ErrorCode code, String message, Throwable cause) {
        this(code, message, Map.of(), null, cause);
    }

    public WatershedException(
            ErrorCode code, String message, Map<String, Object> details, Duration retryAfter, Throwable cause) {
        super(message, cause);
        this.code = code;
        this.details = new LinkedHashMap<>(details);
        this.retryAfter = retryAfter;
    }

    public static WatershedException overloaded(String message, Duration retryAfter) {
        return new WatershedException(ErrorCode.OVERLOADED, message, Map.of(), retryAfter, null);
    }

    public static WatershedException unavailable(String message, Duration retryAfter, Throwable cause) {
        return new WatershedException(ErrorCode.UNAVAILABLE, message, Map.of(), retryAfter, cause);
    }

    public ErrorCode code() {
        return code;
    }

    /** Structured facts about the failure, e.g. {@code line}, {@code column}, {@code field}. */
    public Map<String, Object> details() {
        return Map.copyOf(details);
    }

    public Optional<Duration> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }
}
