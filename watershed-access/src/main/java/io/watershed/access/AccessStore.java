package io.watershed.access;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Users, roles, grants and tokens, in SQLite ({@code access.db} in the data directory). A token is shown once, when
 * it is issued ({@code wst_<id>_<secret>}); only the SHA-256 of its secret is stored. Authentication reads a cache
 * that every change clears, so a revoked or expired token stops working at the next request.
 */
public final class AccessStore implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AccessStore.class);
    public static final String ADMIN = "admin";
    /** Users and roles: lowercase letters, digits, {@code _ . -}, starting with a letter. */
    public static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_.-]{0,62}");
    private static final Pattern TOKEN = Pattern.compile("wst_([a-z2-7]{16})_([A-Za-z0-9_-]{43})");
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Duration LAST_USED_EVERY = Duration.ofMinutes(1);

    private final Connection db;
    private final Clock clock;
    private final int defaultRate;
    private final Map<String, Entry> cache = new ConcurrentHashMap<>();
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();

    /** What the Kafka side (SCRAM credentials, ACLs) follows. */
    public interface Listener {
        /** A token was issued; its secret is known only now. */
        default void issued(TokenInfo token, String secret) {}

        /** A token was revoked or its user deleted. */
        default void revoked(String tokenId) {}

        /** Grants, roles or memberships changed. */
        default void changed() {}
    }

    /** A token as listed: never its secret. */
    public record TokenInfo(String id, String user, String name, Optional<String> stream, int ratePerSecond, Instant createdAt,
            Optional<Instant> expiresAt, Optional<Instant> revokedAt, Optional<Instant> lastUsedAt) {
        public boolean active(Instant now) {
            return revokedAt.isEmpty() && expiresAt.map(now::isBefore).orElse(true);
        }
    }

    /** A newly issued token: the only time its secret is known. */
    public record IssuedToken(TokenInfo info, String token) {
        @Override
        public String toString() {
            return "IssuedToken[" + info.id() + ", ****]";
        }
    }

    public record User(String name, String kind, List<String> roles, Instant createdAt) {}

    public record Role(String name, List<Grant> grants) {}

    private record Entry(TokenInfo info, byte[] hash, Principal principal, Instant lastUsedSaved) {}

    /**
     * @param defaultRate requests per second a token may send when it has no limit of its own
     */
    public AccessStore(Path database, Clock clock, int defaultRate) {
        this.clock = clock;
        this.defaultRate = defaultRate;
        try {
            Files.createDirectories(database.getParent());
            boolean created = !Files.exists(database);
            this.db = DriverManager.getConnection("jdbc:sqlite:" + database);
            if (created) {
                ownerOnly(database);
            }
            try (Statement s = db.createStatement()) {
                s.execute("PRAGMA busy_timeout=10000");
                s.execute("PRAGMA journal_mode=WAL");
                s.execute("PRAGMA synchronous=FULL");
                s.execute("PRAGMA foreign_keys=ON");
                s.execute("CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, kind TEXT NOT NULL, created_at INTEGER NOT NULL)");
                s.execute("CREATE TABLE IF NOT EXISTS roles (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL)");
                s.execute("CREATE TABLE IF NOT EXISTS grants (role TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE, "
                        + "privilege TEXT NOT NULL, object TEXT NOT NULL, columns TEXT NOT NULL, created_at INTEGER NOT NULL, "
                        + "PRIMARY KEY (role, privilege, object))");
                s.execute("CREATE TABLE IF NOT EXISTS members (user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE, "
                        + "role TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE, PRIMARY KEY (user, role))");
                s.execute("CREATE TABLE IF NOT EXISTS tokens (id TEXT PRIMARY KEY, user TEXT NOT NULL, name TEXT NOT NULL, "
                        + "secret_sha256 TEXT NOT NULL, stream TEXT, rate_per_second INTEGER, created_at INTEGER NOT NULL, "
                        + "expires_at INTEGER, revoked_at INTEGER, last_used_at INTEGER)");
            }
            if (!exists("SELECT 1 FROM roles WHERE name = ?", ADMIN)) {
                long now = clock.millis();
                update("INSERT INTO roles (name, created_at) VALUES (?, ?)", ADMIN, now);
                update("INSERT INTO grants (role, privilege, object, columns, created_at) VALUES (?, ?, ?, '', ?)", ADMIN,
                        Privilege.ADMIN.label(), "*", now);
                update("INSERT INTO users (name, kind, created_at) VALUES (?, 'person', ?)", ADMIN, now);
                update("INSERT INTO members (user, role) VALUES (?, ?)", ADMIN, ADMIN);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot open the access database " + database + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create " + database.getParent(), e);
        }
    }

    public void addListener(Listener listener) {
        listeners.add(listener);
    }

    /**
     * Makes sure the administrator can get in: when {@code tokenFile} is missing (first start, or deleted to reset it), issues
     * a new admin token, revokes the one the file held before, and writes the new one to the file, readable by its owner only.
     * Returns the token in the file.
     */
    public synchronized String adminToken(Path tokenFile) {
        if (Files.exists(tokenFile)) {
            try {
                String token = Files.readString(tokenFile, StandardCharsets.US_ASCII).strip();
                Optional<String> id = tokenId(token);
                if (id.isPresent() && authenticateOrEmpty(token).isPresent()) {
                    return token;
                }
                LOG.warn("The admin token in {} is not valid (revoked, expired or damaged); issuing a new one", tokenFile);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read the admin token file " + tokenFile, e);
            }
        }
        for (TokenInfo t : tokens()) {
            if (t.user().equals(ADMIN) && t.name().equals("admin-file") && t.revokedAt().isEmpty()) {
                revokeToken(t.id());
            }
        }
        IssuedToken issued = issueToken(ADMIN, "admin-file", Optional.empty(), Optional.empty(), Optional.empty());
        try {
            Files.createDirectories(tokenFile.getParent());
            Path temporary = tokenFile.resolveSibling(tokenFile.getFileName() + ".tmp");
            Files.deleteIfExists(temporary);
            Files.createFile(temporary, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(temporary, issued.token() + "\n", StandardCharsets.US_ASCII);
            Files.move(temporary, tokenFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the admin token file " + tokenFile, e);
        }
        LOG.info("Issued the admin token {} and wrote it to {} (readable by its owner only)", issued.info().id(), tokenFile);
        return issued.token();
    }

    /** The principal of a bearer token; throws UNAUTHENTICATED when it is missing, unknown, revoked or expired. */
    public Principal authenticate(String token) {
        if (token == null || token.isBlank()) {
            throw new WatershedException(ErrorCode.UNAUTHENTICATED, "Cannot serve this request without a token: send "
                    + "'Authorization: Bearer <token>'. The admin token is in the data directory (admin.token); "
                    + "an admin issues others with 'watershed access token create'");
        }
        return authenticateOrEmpty(token.strip()).orElseThrow(() -> new WatershedException(ErrorCode.UNAUTHENTICATED,
                "Cannot serve this request: the token is unknown, revoked or expired; ask an admin for a new one"));
    }

    private Optional<Principal> authenticateOrEmpty(String token) {
        java.util.regex.Matcher m = TOKEN.matcher(token);
        if (!m.matches()) {
            return Optional.empty();
        }
        String id = "wst_" + m.group(1);
        Entry entry = cache.get(id);
        if (entry == null) {
            entry = load(id).orElse(null);
            if (entry == null) {
                return Optional.empty();
            }
            cache.put(id, entry);
        }
        if (!MessageDigest.isEqual(entry.hash(), sha256(m.group(2)))) {
            return Optional.empty();
        }
        Instant now = clock.instant();
        if (!entry.info().active(now)) {
            return Optional.empty();
        }
        if (Duration.between(entry.lastUsedSaved(), now).compareTo(LAST_USED_EVERY) >= 0) {
            Entry saved = new Entry(entry.info(), entry.hash(), entry.principal(), now);
            if (cache.replace(id, entry, saved)) {
                try {
                    synchronized (this) {
                        update("UPDATE tokens SET last_used_at = ? WHERE id = ?", now.toEpochMilli(), id);
                    }
                } catch (SQLException e) {
                    LOG.warn("Cannot record when token {} was last used: {}", id, e.getMessage());
                }
            }
        }
        return Optional.of(entry.principal());
    }

    private synchronized Optional<Entry> load(String id) {
        try {
            Optional<TokenInfo> info = token(id);
            if (info.isEmpty()) {
                return Optional.empty();
            }
            byte[] hash;
            try (PreparedStatement s = db.prepareStatement("SELECT secret_sha256 FROM tokens WHERE id = ?")) {
                s.setString(1, id);
                try (ResultSet rs = s.executeQuery()) {
                    rs.next();
                    hash = HexFormat.of().parseHex(rs.getString(1));
                }
            }
            TokenInfo t = info.get();
            List<String> roles = rolesOf(t.user());
            List<Grant> grants = new ArrayList<>();
            for (String role : roles) {
                grants.addAll(grantsOf(role));
            }
            Principal principal = new Principal(t.user(), t.id(), new LinkedHashSet<>(roles), grants, t.stream(), t.ratePerSecond());
            return Optional.of(new Entry(t, hash, principal, t.lastUsedAt().orElse(Instant.EPOCH)));
        } catch (SQLException e) {
            throw new WatershedException(ErrorCode.INTERNAL, "Cannot read the access database: " + e.getMessage(), e);
        }
    }

    /** The principal a token acts as, whether or not it is active (for the Kafka ACLs). */
    public Optional<Principal> principal(String tokenId) {
        return load(tokenId).map(Entry::principal);
    }

    // ---- users, roles, grants ----

    public synchronized void createUser(String name, String kind) {
        checkName("user", name);
        if (name.startsWith("watershed")) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot create user '" + name + "': names starting with "
                    + "'watershed' are the platform's own");
        }
        if (!kind.equals("person") && !kind.equals("service")) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot create user '" + name + "': kind is person or service, not '"
                    + kind + "'");
        }
        try {
            if (exists("SELECT 1 FROM users WHERE name = ?", name)) {
                throw new WatershedException(ErrorCode.CONFLICT, "Cannot create user '" + name + "': it exists");
            }
            update("INSERT INTO users (name, kind, created_at) VALUES (?, ?, ?)", name, kind, clock.millis());
        } catch (SQLException e) {
            throw failure(e);
        }
        changed();
    }

    /** Deletes a user and revokes every token of theirs. */
    public synchronized void deleteUser(String name) {
        if (name.equals(ADMIN)) {
            throw new WatershedException(ErrorCode.CONFLICT, "Cannot delete user 'admin': the platform's administrator stays; "
                    + "revoke its tokens instead");
        }
        requireUser(name);
        List<String> revoked = new ArrayList<>();
        try {
            for (TokenInfo t : tokens()) {
                if (t.user().equals(name) && t.revokedAt().isEmpty()) {
                    update("UPDATE tokens SET revoked_at = ? WHERE id = ?", clock.millis(), t.id());
                    revoked.add(t.id());
                }
            }
            update("DELETE FROM users WHERE name = ?", name);
        } catch (SQLException e) {
            throw failure(e);
        }
        cache.clear();
        revoked.forEach(id -> listeners.forEach(l -> l.revoked(id)));
        changed();
    }

    public synchronized List<User> users() {
        List<User> users = new ArrayList<>();
        try (PreparedStatement s = db.prepareStatement("SELECT name, kind, created_at FROM users ORDER BY name");
                ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                users.add(new User(rs.getString(1), rs.getString(2), rolesOf(rs.getString(1)), Instant.ofEpochMilli(rs.getLong(3))));
            }
        } catch (SQLException e) {
            throw failure(e);
        }
        return users;
    }

    public synchronized void createRole(String name) {
        checkName("role", name);
        try {
            if (exists("SELECT 1 FROM roles WHERE name = ?", name)) {
                throw new WatershedException(ErrorCode.CONFLICT, "Cannot create role '" + name + "': it exists");
            }
            update("INSERT INTO roles (name, created_at) VALUES (?, ?)", name, clock.millis());
        } catch (SQLException e) {
            throw failure(e);
        }
        changed();
    }

    public synchronized void deleteRole(String name) {
        if (name.equals(ADMIN)) {
            throw new WatershedException(ErrorCode.CONFLICT, "Cannot delete role 'admin'");
        }
        requireRole(name);
        try {
            update("DELETE FROM roles WHERE name = ?", name);
        } catch (SQLException e) {
            throw failure(e);
        }
        changed();
    }

    public synchronized List<Role> roles() {
        List<Role> roles = new ArrayList<>();
        try (PreparedStatement s = db.prepareStatement("SELECT name FROM roles ORDER BY name"); ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                roles.add(new Role(rs.getString(1), List.of()));
            }
            List<Role> full = new ArrayList<>();
            for (Role r : roles) {
                full.add(new Role(r.name(), grantsOf(r.name())));
            }
            return full;
        } catch (SQLException e) {
            throw failure(e);
        }
    }

    /**
     * Grants {@code privilege} on {@code object} to {@code role}, for {@code read} optionally only {@code columns}; granting
     * the same privilege on the same object again replaces its columns.
     */
    public synchronized Grant grant(String role, Privilege privilege, String object, List<String> columns) {
        requireRole(role);
        String target = object == null ? "" : object.strip();
        privilege.checkObject(target);
        if (!columns.isEmpty() && privilege != Privilege.READ) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot limit " + privilege.label() + " to columns: only read "
                    + "grants on tables name columns");
        }
        if (privilege == Privilege.ADMIN && !role.equals(ADMIN)) {
            LOG.info("Role '{}' is granted admin", role);
        }
        if (target.toLowerCase(java.util.Locale.ROOT).startsWith("table:" + Principal.AUDIT_TABLE)
                || target.equals("stream:" + Principal.AUDIT_TABLE.substring(4))) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot grant " + privilege.label() + " on " + target
                    + ": the audit log is for admins only (grant the admin role instead)");
        }
        for (String c : columns) {
            if (c.isBlank()) {
                throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot grant an empty column name on " + target);
            }
        }
        try {
            update("INSERT INTO grants (role, privilege, object, columns, created_at) VALUES (?, ?, ?, ?, ?) "
                    + "ON CONFLICT (role, privilege, object) DO UPDATE SET columns = excluded.columns", role, privilege.label(), target,
                    String.join(",", columns), clock.millis());
        } catch (SQLException e) {
            throw failure(e);
        }
        changed();
        return new Grant(role, privilege, target, columns);
    }

    /** Returns whether there was such a grant. */
    public synchronized boolean revoke(String role, Privilege privilege, String object) {
        requireRole(role);
        if (role.equals(ADMIN) && privilege == Privilege.ADMIN) {
            throw new WatershedException(ErrorCode.CONFLICT, "Cannot revoke admin from role 'admin'");
        }
        int rows;
        try (PreparedStatement s = db.prepareStatement("DELETE FROM grants WHERE role = ? AND privilege = ? AND object = ?")) {
            s.setString(1, role);
            s.setString(2, privilege.label());
            s.setString(3, object.strip());
            rows = s.executeUpdate();
        } catch (SQLException e) {
            throw failure(e);
        }
        changed();
        return rows > 0;
    }

    public synchronized void addMember(String user, String role) {
        requireUser(user);
        requireRole(role);
        try {
            update("INSERT OR IGNORE INTO members (user, role) VALUES (?, ?)", user, role);
        } catch (SQLException e) {
            throw failure(e);
        }
        changed();
    }

    public synchronized void removeMember(String user, String role) {
        requireUser(user);
        if (user.equals(ADMIN) && role.equals(ADMIN)) {
            throw new WatershedException(ErrorCode.CONFLICT, "Cannot take role 'admin' from user 'admin'");
        }
        try {
            update("DELETE FROM members WHERE user = ? AND role = ?", user, role);
        } catch (SQLException e) {
            throw failure(e);
        }
        changed();
    }

    // ---- tokens ----

    /**
     * Issues a token for {@code user}. It acts with the user's grants, or, with {@code stream}, may only write events to
     * that stream; it expires after {@code ttl} when one is given.
     */
    public synchronized IssuedToken issueToken(String user, String name, Optional<Duration> ttl, Optional<String> stream,
            Optional<Integer> ratePerSecond) {
        requireUser(user);
        if (ttl.isPresent() && (ttl.get().isNegative() || ttl.get().isZero())) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot issue a token that expires after " + ttl.get()
                    + ": give a positive duration such as 30d");
        }
        if (ratePerSecond.isPresent() && ratePerSecond.get() < 1) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot issue a token with a rate limit below 1 request per second");
        }
        String label = name == null || name.isBlank() ? "token" : name.strip();
        if (label.length() > 100) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot name a token with more than 100 characters");
        }
        byte[] idBytes = new byte[10];
        RANDOM.nextBytes(idBytes);
        String id = "wst_" + base32(idBytes);
        byte[] secretBytes = new byte[32];
        RANDOM.nextBytes(secretBytes);
        String secret = Base64.getUrlEncoder().withoutPadding().encodeToString(secretBytes);
        Instant now = clock.instant();
        Optional<Instant> expires = ttl.map(now::plus);
        try {
            update("INSERT INTO tokens (id, user, name, secret_sha256, stream, rate_per_second, created_at, expires_at) "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", id, user, label, HexFormat.of().formatHex(sha256(secret)), stream.orElse(null),
                    ratePerSecond.orElse(null), now.toEpochMilli(), expires.map(Instant::toEpochMilli).orElse(null));
        } catch (SQLException e) {
            throw failure(e);
        }
        TokenInfo info = new TokenInfo(id, user, label, stream, ratePerSecond.orElse(defaultRate), now, expires, Optional.empty(),
                Optional.empty());
        String token = id + "_" + secret;
        listeners.forEach(l -> l.issued(info, token));
        return new IssuedToken(info, token);
    }

    /**
     * A token for the service user {@code user} that may only write events to {@code stream}. When the user is new, it is
     * created with the role {@code <stream>-writer} (created too, when missing) that grants writing the stream. The user's
     * earlier tokens are revoked: a token's secret is shown once and not kept, so they could not be used again anyway.
     */
    public synchronized IssuedToken streamWriterToken(String user, String stream, String tokenName) {
        if (users().stream().noneMatch(u -> u.name().equals(user))) {
            String role = stream + "-writer";
            createUser(user, "service");
            if (roles().stream().noneMatch(r -> r.name().equals(role))) {
                createRole(role);
            }
            grant(role, Privilege.WRITE, "stream:" + stream, List.of());
            addMember(user, role);
        }
        tokens().stream().filter(t -> t.user().equals(user) && t.revokedAt().isEmpty()).forEach(t -> revokeToken(t.id()));
        return issueToken(user, tokenName, Optional.empty(), Optional.of(stream), Optional.empty());
    }

    /** Revokes a token at once; returns false when it was revoked already. */
    public synchronized boolean revokeToken(String id) {
        TokenInfo t = token(id).orElseThrow(() -> new WatershedException(ErrorCode.UNKNOWN_TOKEN, "Cannot find token '" + id
                + "'; 'watershed access token list' shows them"));
        if (t.revokedAt().isPresent()) {
            return false;
        }
        try {
            update("UPDATE tokens SET revoked_at = ? WHERE id = ?", clock.millis(), id);
        } catch (SQLException e) {
            throw failure(e);
        }
        cache.remove(id);
        listeners.forEach(l -> l.revoked(id));
        return true;
    }

    public synchronized List<TokenInfo> tokens() {
        List<TokenInfo> tokens = new ArrayList<>();
        try (PreparedStatement s = db.prepareStatement(TOKEN_COLUMNS + " ORDER BY created_at, id"); ResultSet rs = s.executeQuery()) {
            while (rs.next()) {
                tokens.add(tokenInfo(rs));
            }
        } catch (SQLException e) {
            throw failure(e);
        }
        return tokens;
    }

    public synchronized Optional<TokenInfo> token(String id) {
        try (PreparedStatement s = db.prepareStatement(TOKEN_COLUMNS + " WHERE id = ?")) {
            s.setString(1, id);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next() ? Optional.of(tokenInfo(rs)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw failure(e);
        }
    }

    private static final String TOKEN_COLUMNS = "SELECT id, user, name, stream, rate_per_second, created_at, expires_at, revoked_at, "
            + "last_used_at FROM tokens";

    private TokenInfo tokenInfo(ResultSet rs) throws SQLException {
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

    /** The public id of a token string ({@code wst_<id>}), when it has a token's shape. */
    public static Optional<String> tokenId(String token) {
        java.util.regex.Matcher m = TOKEN.matcher(token == null ? "" : token.strip());
        return m.matches() ? Optional.of("wst_" + m.group(1)) : Optional.empty();
    }

    // ---- helpers ----

    private void changed() {
        cache.clear();
        listeners.forEach(Listener::changed);
    }

    private List<String> rolesOf(String user) throws SQLException {
        List<String> roles = new ArrayList<>();
        try (PreparedStatement s = db.prepareStatement("SELECT role FROM members WHERE user = ? ORDER BY role")) {
            s.setString(1, user);
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    roles.add(rs.getString(1));
                }
            }
        }
        return roles;
    }

    private List<Grant> grantsOf(String role) throws SQLException {
        List<Grant> grants = new ArrayList<>();
        try (PreparedStatement s = db.prepareStatement("SELECT privilege, object, columns FROM grants WHERE role = ? ORDER BY object, privilege")) {
            s.setString(1, role);
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    String columns = rs.getString(3);
                    grants.add(new Grant(role, Privilege.parse(rs.getString(1)), rs.getString(2),
                            columns.isEmpty() ? List.of() : Arrays.asList(columns.split(","))));
                }
            }
        }
        return grants;
    }

    private void requireUser(String name) {
        try {
            if (!exists("SELECT 1 FROM users WHERE name = ?", name)) {
                throw new WatershedException(ErrorCode.UNKNOWN_USER, "Cannot find user '" + name + "'; 'watershed access users' lists them");
            }
        } catch (SQLException e) {
            throw failure(e);
        }
    }

    private void requireRole(String name) {
        try {
            if (!exists("SELECT 1 FROM roles WHERE name = ?", name)) {
                throw new WatershedException(ErrorCode.UNKNOWN_ROLE, "Cannot find role '" + name + "'; 'watershed access roles' lists them");
            }
        } catch (SQLException e) {
            throw failure(e);
        }
    }

    private static void checkName(String what, String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot use " + what + " name '" + name
                    + "': use lowercase letters, digits, '_', '.' or '-', starting with a letter, at most 63 characters");
        }
    }

    private boolean exists(String sql, String arg) throws SQLException {
        try (PreparedStatement s = db.prepareStatement(sql)) {
            s.setString(1, arg);
            try (ResultSet rs = s.executeQuery()) {
                return rs.next();
            }
        }
    }

    private void update(String sql, Object... args) throws SQLException {
        try (PreparedStatement s = db.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                s.setObject(i + 1, args[i]);
            }
            s.executeUpdate();
        }
    }

    private static WatershedException failure(SQLException e) {
        return new WatershedException(ErrorCode.INTERNAL, "Cannot update the access database: " + e.getMessage(), e);
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

    private static void ownerOnly(Path file) {
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException | UnsupportedOperationException e) {
            LOG.warn("Cannot make {} readable by its owner only: {}", file, e.toString());
        }
    }

    @Override
    public synchronized void close() {
        try {
            db.close();
        } catch (SQLException e) {
            LOG.warn("Cannot close the access database: {}", e.getMessage());
        }
    }
}
