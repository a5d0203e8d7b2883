package io.watershed.spi;

/**
 * A configured secret (a shared key, a password). Its {@code toString} is masked, so a settings record,
 * a log line or an API answer that prints it shows {@code ****}; only {@link #reveal()} gives the value.
 */
public final class Secret {
    public static final String MASK = "****";
    private final String value;

    private Secret(String value) {
        this.value = value;
    }

    public static Secret of(String value) {
        return new Secret(value == null ? "" : value);
    }

    public String reveal() {
        return value;
    }

    public boolean isEmpty() {
        return value.isEmpty();
    }

    /** {@code ****}, or empty when no secret is set. */
    @Override
    public String toString() {
        return value.isEmpty() ? "" : MASK;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Secret s && s.value.equals(value);
    }

    @Override
    public int hashCode() {
        return value.hashCode();
    }
}
