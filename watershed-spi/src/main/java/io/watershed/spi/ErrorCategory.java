package io.watershed.spi;

/** Who has to act on an error: the user (fix the request), an external system (wait, retry), or us (a bug). */
public enum ErrorCategory {
    USER,
    EXTERNAL,
    INTERNAL
}
