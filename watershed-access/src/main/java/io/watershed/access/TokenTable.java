package io.watershed.access;

import io.watershed.access.AccessStore.IssuedToken;
import io.watershed.access.AccessStore.TokenInfo;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Tokens as they are written and stored: {@code wst_<id>_<secret>}, a random 16-letter id and a 256-bit secret, of
 * which the {@code tokens} table keeps only the SHA-256. Rows and their format only; who may issue or revoke, and who
 * hears of it, is {@link AccessStore}'s. Not thread-safe: AccessStore holds its lock around every use.
 */
final class TokenTable {
    private static final Pattern TOKEN = Pattern.compile("wst_([a-z2-7]{16})_([A-Za-z0-9_-]{43})");
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String COLUMNS = "SELECT id, \"user\", name, stream, rate_per_second, created_at, expires_at, revoked_at, "
            + "last_used_at FROM tokens";

    private final AccessDatabase db;
    private final int defaultRate;

    /** A token string taken apart: its public id ({@code wst_<id>}) and its secret. */
    record Parsed(String id, String secret) {
        @Override
        public String toString() {
            return "Parsed[" + id + ", ****]";
        }
    }

    /**
     * @param defaultRate requests per second of a token without a limit of its own
     */
    TokenTable(AccessDatabase db, int defaultRate) {
        this.db = db;
        this.defaultRate = defaultRate;
    }

    /** The id and secret of a string that has a token's shape. */
    static Optional<Parsed> parse(String token) {
        Matcher m = TOKEN.matcher(token == null ? "" : token.strip());
        return m.matches() ? Optional.of(new Parsed("wst_" + m.group(1), m.group(2))) : Optional.empty();
    }

    /** Stores a new token of {@code user}; returns it with its secret, the only time that is known. */
    IssuedToken insert(String user, String label, Optional<Duration> ttl, Optional<String> stream, Optional<Integer> ratePerSecond,
            Instant now) throws SQLException {
        byte[] idBytes = new byte[10];
        RANDOM.nextBytes(idBytes);
        String id = "wst_" + base32(idBytes);
        byte[] secretBytes = new byte[32];
        RANDOM.nextBytes(secretBytes);
        String secret = Base64.getUrlEncoder().withoutPadding().encodeToString(secretBytes);
        Optional<Instant> expires = ttl.map(now::plus);
        db.update("INSERT INTO tokens (id, \"user\", name, secret_sha256, stream, rate_per_second, created_at, expires_at) "
                + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", id, user, label, HexFormat.of().formatHex(sha256(secret)), stream.orElse(null),
                ratePerSecond.orElse(null), now.toEpochMilli(), expires.map(Instant::toEpochMilli).orElse(null));
        TokenInfo info = new TokenInfo(id, user, label, stream, ratePerSecond.orElse(defaultRate), now, expires, Optional.empty(),
                Optional.empty());
        return new IssuedToken(info, id + "_" + secret);
    }

    List<TokenInfo> all() throws SQLException {
        List<TokenInfo> tokens = new ArrayList<>();
        try (PreparedStatement s = db.prepare(COLUMNS + " ORDER BY created_at, id"); ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                tokens.add(info(rs));
            }
        }
        return tokens;
    }

    Optional<TokenInfo> find(String id) throws SQLException {
        try (PreparedStatement s = db.prepare(COLUMNS + " WHERE id = ?")) {
            s.setString(1, id);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next() ? Optional.of(info(rs)) : Optional.empty();
            }
        }
    }

    /** The SHA-256 of the secret of a token that exists. */
    byte[] secretHash(String id) throws SQLException {
        try (PreparedStatement s = db.prepare("SELECT secret_sha256 FROM tokens WHERE id = ?")) {
            s.setString(1, id);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return HexFormat.of().parseHex(rs.getString(1));
            }
        }
    }

    void revoked(String id, Instant at) throws SQLException {
        db.update("UPDATE tokens SET revoked_at = ? WHERE id = ?", at.toEpochMilli(), id);
    }

    void used(String id, Instant at) throws SQLException {
        db.update("UPDATE tokens SET last_used_at = ? WHERE id = ?", at.toEpochMilli(), id);
    }

    private TokenInfo info(ResultSet rs) throws SQLException {
        int rate = rs.getInt(5);
        boolean own = !rs.wasNull() && rate >= 1;
        return new TokenInfo(rs.getString(1), rs.getString(2), rs.getString(3), Optional.ofNullable(rs.getString(4)),
                own ? rate : defaultRate, Instant.ofEpochMilli(rs.getLong(6)), instant(rs, 7), instant(rs, 8),
                instant(rs, 9));
    }

    private static Optional<Instant> instant(ResultSet rs, int column) throws SQLException {
        long value = rs.getLong(column);
        return rs.wasNull() ? Optional.empty() : Optional.of(Instant.ofEpochMilli(value));
    }

    /** Whether {@code secret} is the one whose hash is {@code hash}, in constant time. */
    static boolean matches(byte[] hash, String secret) {
        return MessageDigest.isEqual(hash, sha256(secret));
    }

    static byte[] sha256(String secret) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.US_ASCII));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String base32(byte[] bytes) {
        String alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        StringBuilder out = new StringBuilder();
        int buffer = 0;
        int bits = 0;
        for (byte b : bytes) {
            buffer = (buffer << 8) | (b & 0xff);
            bits += 8;
            while (bits >= 5) {
                out.append(alphabet.charAt((buffer >> (bits - 5)) & 31));
                bits -= 5;
            }
        }
        return out.toString();
    }
}
