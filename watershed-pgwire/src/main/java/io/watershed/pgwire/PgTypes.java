package io.watershed.pgwire;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.temporal.ChronoField;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * Postgres types of the engine's values: the type oid of an engine type name, and values in the text and binary formats
 * of the protocol, both ways. Timestamps with time zone are sent in UTC (the session's {@code TimeZone}).
 */
final class PgTypes {
    static final int UNSPECIFIED = 0;
    static final int BOOL = 16;
    static final int BYTEA = 17;
    static final int INT8 = 20;
    static final int INT2 = 21;
    static final int INT4 = 23;
    static final int TEXT = 25;
    static final int OID = 26;
    static final int JSON = 114;
    static final int FLOAT4 = 700;
    static final int FLOAT8 = 701;
    static final int VARCHAR = 1043;
    static final int DATE = 1082;
    static final int TIME = 1083;
    static final int TIMESTAMP = 1114;
    static final int TIMESTAMPTZ = 1184;
    static final int INTERVAL = 1186;
    static final int NUMERIC = 1700;
    static final int UUID_OID = 2950;

    private static final LocalDate EPOCH = LocalDate.of(2000, 1, 1);
    private static final DateTimeFormatter TIME_TEXT = new DateTimeFormatterBuilder().appendPattern("HH:mm:ss")
            .optionalStart().appendFraction(ChronoField.MICRO_OF_SECOND, 0, 6, true).optionalEnd().toFormatter(Locale.ROOT);
    private static final DateTimeFormatter TIMESTAMP_TEXT = new DateTimeFormatterBuilder().appendPattern("uuuu-MM-dd HH:mm:ss")
            .optionalStart().appendFraction(ChronoField.MICRO_OF_SECOND, 0, 6, true).optionalEnd().toFormatter(Locale.ROOT);

    private PgTypes() {}

    /** The oid of an engine type name (DuckDB's: BIGINT, DECIMAL(10,2), TIMESTAMP WITH TIME ZONE, JSON...); text for the rest. */
    static int oid(String engineType) {
        String t = engineType.toUpperCase(Locale.ROOT);
        if (t.startsWith("DECIMAL") || t.startsWith("NUMERIC")) {
            return NUMERIC;
        }
        return switch (t) {
            case "BOOLEAN" -> BOOL;
            case "TINYINT", "SMALLINT", "UTINYINT" -> INT2;
            case "INTEGER", "USMALLINT" -> INT4;
            case "BIGINT", "UINTEGER" -> INT8;
            case "UBIGINT", "HUGEINT", "UHUGEINT" -> NUMERIC;
            case "FLOAT" -> FLOAT4;
            case "DOUBLE" -> FLOAT8;
            case "VARCHAR" -> VARCHAR;
            case "BLOB" -> BYTEA;
            case "DATE" -> DATE;
            case "TIME" -> TIME;
            case "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS" -> TIMESTAMP;
            case "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ" -> TIMESTAMPTZ;
            case "INTERVAL" -> INTERVAL;
            case "UUID" -> UUID_OID;
            case "JSON" -> JSON;
            default -> TEXT;
        };
    }

    /** The type's size in RowDescription: fixed for the fixed-width types, else -1. */
    static short size(int oid) {
        return switch (oid) {
            case BOOL -> 1;
            case INT2 -> 2;
            case INT4, FLOAT4, DATE, OID -> 4;
            case INT8, FLOAT8, TIME, TIMESTAMP, TIMESTAMPTZ -> 8;
            case INTERVAL, UUID_OID -> 16;
            default -> -1;
        };
    }

    /** The type modifier in RowDescription: a decimal's precision and scale, else -1. */
    static int modifier(String engineType) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)DECIMAL\\((\\d+),\\s*(\\d+)\\)").matcher(engineType);
        return m.matches() ? ((Integer.parseInt(m.group(1)) << 16) | Integer.parseInt(m.group(2))) + 4 : -1;
    }

    /** A value in the text format. */
    static String text(Object value) {
        if (value instanceof Boolean b) {
            return b ? "t" : "f";
        }
        if (value instanceof Double d) {
            return floating(d);
        }
        if (value instanceof Float f) {
            return floating(Double.parseDouble(Float.toString(f)));
        }
        if (value instanceof BigDecimal d) {
            return d.toPlainString();
        }
        if (value instanceof LocalTime t) {
            return TIME_TEXT.format(t);
        }
        if (value instanceof LocalDateTime t) {
            return TIMESTAMP_TEXT.format(t);
        }
        if (value instanceof OffsetDateTime t) {
            return TIMESTAMP_TEXT.format(t.withOffsetSameInstant(ZoneOffset.UTC)) + "+00";
        }
        if (value instanceof byte[] bytes) {
            return "\\x" + HexFormat.of().formatHex(bytes);
        }
        return value.toString();
    }

    /** A double as Postgres prints it with extra_float_digits 1 or more: the shortest text that reads back the same. */
    static String floating(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return 1 / d < 0 ? "-0" : "0";
        }
        double abs = Math.abs(d);
        String shortest = Double.toString(d);
        if (abs >= 1e-4 && abs < 1e15) {
            return new BigDecimal(shortest).stripTrailingZeros().toPlainString();
        }
        BigDecimal exact = new BigDecimal(shortest).stripTrailingZeros();
        String digits = exact.unscaledValue().abs().toString();
        int exponent = digits.length() - 1 - exact.scale();
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return (d < 0 ? "-" : "") + mantissa + "e" + (exponent < 0 ? "-" : "+") + String.format(Locale.ROOT, "%02d", Math.abs(exponent));
    }

    /** A value in the binary format of {@code oid}; types without one here are sent as their text. */
    static byte[] binary(Object value, int oid) {
        switch (oid) {
            case BOOL:
                return new byte[] {(byte) (((Boolean) value) ? 1 : 0)};
            case INT2:
                return ByteBuffer.allocate(2).putShort(((Number) value).shortValue()).array();
            case INT4:
                return ByteBuffer.allocate(4).putInt(((Number) value).intValue()).array();
            case INT8:
                return ByteBuffer.allocate(8).putLong(((Number) value).longValue()).array();
            case FLOAT4:
                return ByteBuffer.allocate(4).putFloat(((Number) value).floatValue()).array();
            case FLOAT8:
                return ByteBuffer.allocate(8).putDouble(((Number) value).doubleValue()).array();
            case NUMERIC:
                return numeric(value instanceof BigDecimal d ? d : new BigDecimal(value.toString()));
            case DATE:
                return ByteBuffer.allocate(4).putInt((int) ChronoUnit.DAYS.between(EPOCH, (LocalDate) value)).array();
            case TIME:
                return ByteBuffer.allocate(8).putLong(((LocalTime) value).toNanoOfDay() / 1000).array();
            case TIMESTAMP:
                return ByteBuffer.allocate(8).putLong(micros(((LocalDateTime) value).toInstant(ZoneOffset.UTC))).array();
            case TIMESTAMPTZ:
                return ByteBuffer.allocate(8).putLong(micros(((OffsetDateTime) value).toInstant())).array();
            case UUID_OID: {
                UUID u = (UUID) value;
                return ByteBuffer.allocate(16).putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits()).array();
            }
            case BYTEA:
                return value instanceof byte[] bytes ? bytes : text(value).getBytes(StandardCharsets.UTF_8);
            default:
                return text(value).getBytes(StandardCharsets.UTF_8);
        }
    }

    private static long micros(Instant instant) {
        return ChronoUnit.MICROS.between(EPOCH.atStartOfDay().toInstant(ZoneOffset.UTC), instant);
    }

    /** Postgres' binary numeric: base-10000 digits, a weight, a sign and the display scale. */
    static byte[] numeric(BigDecimal value) {
        int scale = Math.max(value.scale(), 0);
        BigDecimal abs = value.abs().setScale(scale);
        String plain = abs.toPlainString();
        int dot = plain.indexOf('.');
        String whole = dot < 0 ? plain : plain.substring(0, dot);
        String fraction = dot < 0 ? "" : plain.substring(dot + 1);
        whole = "0".repeat((4 - whole.length() % 4) % 4) + whole;
        fraction = fraction + "0".repeat((4 - fraction.length() % 4) % 4);
        List<Short> digits = new ArrayList<>();
        for (int i = 0; i < whole.length(); i += 4) {
            digits.add(Short.parseShort(whole.substring(i, i + 4)));
        }
        int weight = digits.size() - 1;
        for (int i = 0; i < fraction.length(); i += 4) {
            digits.add(Short.parseShort(fraction.substring(i, i + 4)));
        }
        while (!digits.isEmpty() && digits.get(0) == 0) {
            digits.remove(0);
            weight--;
        }
        while (!digits.isEmpty() && digits.get(digits.size() - 1) == 0) {
            digits.remove(digits.size() - 1);
        }
        if (digits.isEmpty()) {
            weight = 0;
        }
        ByteBuffer b = ByteBuffer.allocate(8 + 2 * digits.size());
        b.putShort((short) digits.size()).putShort((short) weight).putShort((short) (value.signum() < 0 ? 0x4000 : 0))
                .putShort((short) scale);
        digits.forEach(b::putShort);
        return b.array();
    }

    /**
     * A parameter sent as {@code bytes} in {@code format} (0 text, 1 binary) for a parameter of type {@code oid}: numbers
     * and booleans as such, text (and every other type, which the engine casts) as a String.
     *
     * @throws IllegalArgumentException when it cannot be read
     */
    static Object parameter(int oid, int format, byte[] bytes) {
        if (bytes == null) {
            return null;
        }
        if (format == 1) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            return switch (oid) {
                case BOOL -> bytes[0] != 0;
                case INT2 -> (long) b.getShort();
                case INT4, OID -> (long) b.getInt();
                case INT8 -> b.getLong();
                case FLOAT4 -> (double) b.getFloat();
                case FLOAT8 -> b.getDouble();
                case BYTEA -> bytes;
                case UUID_OID -> new UUID(b.getLong(), b.getLong()).toString();
                case DATE -> EPOCH.plusDays(b.getInt()).toString();
                case TIMESTAMP -> TIMESTAMP_TEXT.format(LocalDateTime.ofInstant(fromMicros(b.getLong()), ZoneOffset.UTC));
                case TIMESTAMPTZ -> TIMESTAMP_TEXT.format(LocalDateTime.ofInstant(fromMicros(b.getLong()), ZoneOffset.UTC)) + "+00";
                case NUMERIC -> readNumeric(b);
                case TEXT, VARCHAR, JSON, UNSPECIFIED -> new String(bytes, StandardCharsets.UTF_8);
                default -> throw new IllegalArgumentException("parameters of type oid " + oid + " in binary format are not supported; "
                        + "send them as text");
            };
        }
        String text = new String(bytes, StandardCharsets.UTF_8);
        return switch (oid) {
            case BOOL -> switch (text.trim().toLowerCase(Locale.ROOT)) {
                case "t", "true", "yes", "on", "1", "y" -> true;
                case "f", "false", "no", "off", "0", "n" -> false;
                default -> throw new IllegalArgumentException("'" + text + "' is not a boolean");
            };
            case INT2, INT4, INT8, OID -> Long.parseLong(text.trim());
            case FLOAT4, FLOAT8 -> Double.parseDouble(text.trim());
            case NUMERIC -> new BigDecimal(text.trim());
            case BYTEA -> text.startsWith("\\x") ? HexFormat.of().parseHex(text.substring(2)) : bytes;
            default -> text;
        };
    }

    private static Instant fromMicros(long micros) {
        return EPOCH.atStartOfDay().toInstant(ZoneOffset.UTC).plus(micros, ChronoUnit.MICROS);
    }

    private static BigDecimal readNumeric(ByteBuffer b) {
        int count = b.getShort();
        int weight = b.getShort();
        int sign = b.getShort() & 0xffff;
        int scale = b.getShort();
        if (sign == 0xC000) {
            throw new IllegalArgumentException("NaN is not a number the engine takes");
        }
        BigInteger unscaled = BigInteger.ZERO;
        for (int i = 0; i < count; i++) {
            unscaled = unscaled.multiply(BigInteger.valueOf(10_000)).add(BigInteger.valueOf(b.getShort()));
        }
        BigDecimal value = new BigDecimal(unscaled).scaleByPowerOfTen(4 * (weight - count + 1)).setScale(scale,
                java.math.RoundingMode.UNNECESSARY);
        return sign == 0x4000 ? value.negate() : value;
    }
}
