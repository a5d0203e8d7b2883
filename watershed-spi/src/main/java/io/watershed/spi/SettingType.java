package io.watershed.spi;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a value is written in the project's YAML files and what it becomes: the type of a {@link Setting}, and of the
 * sizes and durations of streams, sources, models and boards.
 */
public enum SettingType {
    STRING("string"),
    /** A password or key: parsed into a {@link Secret}, shown masked. */
    SECRET("secret"),
    INTEGER("integer"),
    /** Bytes, written {@code 16MiB}, {@code 256MB}, {@code 1GB} or as a number. */
    SIZE("size"),
    BOOLEAN("boolean"),
    /** Written {@code 500ms}, {@code 5s}, {@code 10m}, {@code 1h} or {@code 7d}. */
    DURATION("duration");

    private static final Pattern SIZE_TEXT = Pattern.compile("(\\d+)\\s*([kmgt]i?b|b)?", Pattern.CASE_INSENSITIVE);
    private static final Pattern DURATION_TEXT = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");

    private final String shown;

    SettingType(String shown) {
        this.shown = shown;
    }

    /** The type's name in the reference. */
    public String shown() {
        return shown;
    }

    /**
     * The value written {@code text}: a String, {@link Secret}, Long (integers and sizes), Boolean or Duration.
     *
     * @throws IllegalArgumentException saying what was expected (never quoting a secret)
     */
    public Object parse(String text) {
        String s = text.trim();
        return switch (this) {
            case STRING -> s;
            case SECRET -> Secret.of(text);
            case INTEGER -> {
                try {
                    yield Long.parseLong(s);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("expected an integer, got '" + s + "'");
                }
            }
            case SIZE -> size(s);
            case BOOLEAN -> {
                if (!s.equals("true") && !s.equals("false")) {
                    throw new IllegalArgumentException("expected true or false, got '" + s + "'");
                }
                yield Boolean.parseBoolean(s);
            }
            case DURATION -> duration(s);
        };
    }

    /** Bytes written {@code 16MiB}, {@code 256MB}, {@code 1GB} or as a number. */
    public static long size(String text) {
        Matcher m = SIZE_TEXT.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("expected a size such as 16MiB, 256MB or 1048576, got '" + text + "'");
        }
        String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
        long factor = switch (unit) {
            case "b" -> 1L;
            case "kb" -> 1_000L;
            case "kib" -> 1L << 10;
            case "mb" -> 1_000_000L;
            case "mib" -> 1L << 20;
            case "gb" -> 1_000_000_000L;
            case "gib" -> 1L << 30;
            case "tb" -> 1_000_000_000_000L;
            case "tib" -> 1L << 40;
            default -> throw new IllegalArgumentException("unknown size unit '" + unit + "'");
        };
        try {
            return Math.multiplyExact(Long.parseLong(m.group(1)), factor);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("size '" + text + "' is too large");
        }
    }

    /** A duration written {@code 500ms}, {@code 5s}, {@code 10m}, {@code 1h} or {@code 7d}. */
    public static Duration duration(String text) {
        Matcher m = DURATION_TEXT.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("expected a duration such as 500ms, 5s, 10m, 1h or 7d, got '" + text + "'");
        }
        long n;
        try {
            n = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("duration '" + text + "' is too long");
        }
        try {
            return switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            };
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("duration '" + text + "' is too long");
        }
    }

    /** A duration as it would be written: in the largest unit that divides it ({@code 1m}, {@code 90s}, {@code 500ms}). */
    public static String format(Duration d) {
        long ms = d.toMillis();
        if (ms == 0) {
            return "0s";
        }
        long[] units = {86_400_000L, 3_600_000L, 60_000L, 1_000L};
        String[] names = {"d", "h", "m", "s"};
        for (int i = 0; i < units.length; i++) {
            if (ms % units[i] == 0) {
                return ms / units[i] + names[i];
            }
        }
        return ms + "ms";
    }
}
