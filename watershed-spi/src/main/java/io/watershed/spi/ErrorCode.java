package io.watershed.spi;

/**
 * Stable error codes of the platform. Each has a category, whether retrying the same request may
 * succeed, and the HTTP status the API answers with.
 */
public enum ErrorCode {
    INVALID_INPUT(ErrorCategory.USER, false, 400),
    /** No token, or one that is unknown, expired or revoked. */
    UNAUTHENTICATED(ErrorCategory.USER, false, 401),
    /** A valid token whose user lacks the grant the request needs. */
    FORBIDDEN(ErrorCategory.USER, false, 403),
    INVALID_CONFIG(ErrorCategory.USER, false, 400),
    PAYLOAD_TOO_LARGE(ErrorCategory.USER, false, 413),
    UNKNOWN_STREAM(ErrorCategory.USER, false, 404),
    UNKNOWN_PIPELINE(ErrorCategory.USER, false, 404),
    UNKNOWN_MODEL(ErrorCategory.USER, false, 404),
    UNKNOWN_RUN(ErrorCategory.USER, false, 404),
    UNKNOWN_TABLE(ErrorCategory.USER, false, 404),
    UNKNOWN_SOURCE(ErrorCategory.USER, false, 404),
    UNKNOWN_USER(ErrorCategory.USER, false, 404),
    UNKNOWN_ROLE(ErrorCategory.USER, false, 404),
    UNKNOWN_TOKEN(ErrorCategory.USER, false, 404),
    UNKNOWN_QUERY(ErrorCategory.USER, false, 404),
    UNKNOWN_DASHBOARD(ErrorCategory.USER, false, 404),
    /** The request conflicts with the state of what it names (a pipeline's state that does not fit its changed SQL). */
    CONFLICT(ErrorCategory.USER, false, 409),
    UNSUPPORTED_MEDIA(ErrorCategory.USER, false, 415),
    QUERY_INVALID(ErrorCategory.USER, false, 400),
    QUERY_FORBIDDEN(ErrorCategory.USER, false, 403),
    QUERY_TIMEOUT(ErrorCategory.USER, true, 408),
    OVERLOADED(ErrorCategory.EXTERNAL, true, 429),
    /** The token sent more requests than its rate limit allows. */
    RATE_LIMITED(ErrorCategory.USER, true, 429),
    UNAVAILABLE(ErrorCategory.EXTERNAL, true, 503),
    INTERNAL(ErrorCategory.INTERNAL, false, 500);

    private final ErrorCategory category;
    private final boolean retriable;
    private final int httpStatus;

    ErrorCode(ErrorCategory category, boolean retriable, int httpStatus) {
        this.category = category;
        this.retriable = retriable;
        this.httpStatus = httpStatus;
    }

    public ErrorCategory category() {
        return category;
    }

    public boolean retriable() {
        return retriable;
    }

    public int httpStatus() {
        return httpStatus;
    }
}
