package io.watershed.access;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.StateDatabase;
import io.watershed.spi.WatershedException;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Users, roles, grants and tokens: the rules for changing them, authentication, and the {@link Listener}s (the Kafka
 * side) that follow every change. The rows are {@link Directory}'s and {@link TokenTable}'s, in SQLite
 * ({@link AccessDatabase}: {@code access.db} in the data directory, or PostgreSQL with {@code metadata.url}); the admin
 * token file is {@link AdminTokenFile}'s.
 * A token is shown once, when it is issued ({@code wst_<id>_<secret>}); only the SHA-256 of its secret is stored.
 * Authentication reads a cache that every change clears, so a revoked or expired token stops working at the next
 * request. When the database cannot be read or written, callers get {@link ErrorCode#UNAVAILABLE} (retriable).
 */
public final class AccessStore implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AccessStore.class);
    public static final String ADMIN = "admin";
    /** Users and roles: lowercase letters, digits, {@code _ . -}, starting with a letter. */
    public static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_.-]{0,62}");
    private static final Duration LAST_USED_EVERY = Duration.ofMinutes(1);

    private final AccessDatabase db;
    private final Directory directory;
    private final TokenTable tokens;
    private final Clock clock;
    private final Map<String, Entry> cache = new ConcurrentHashMap<>();
    /** Token ids a Kafka login found unknown, until when it is not looked up again (a token issued since waits that long). */
    private final Map<String, Instant> unknown = new ConcurrentHashMap<>();
    private static final Duration UNKNOWN_FOR = Duration.ofSeconds(5);
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

    /** How long a token read from a shared database is trusted before it is read again. */
    static final Duration SHARED_TRUST = Duration.ofSeconds(5);

    /** @param loadedAt when it was read from the database */
    private record Entry(TokenInfo info, byte[] hash, Principal principal, Instant lastUsedSaved, Instant loadedAt) {}

    /**
     * How long an authenticated token is trusted without reading the database again: forever on SQLite, where every
     * change goes through this store and clears the cache; a few seconds on a shared PostgreSQL, where another instance
     * may revoke it.
     */
    private final Optional<Duration> trustFor;

    /**
     * @param defaultRate requests per second a token may send when it has no limit of its own
     */
    public AccessStore(StateDatabase database, Clock clock, int defaultRate) {
        this.clock = clock;
        this.trustFor = database.dialect() == StateDatabase.Dialect.POSTGRESQL ? Optional.of(SHARED_TRUST) : Optional.empty();
        this.db = new AccessDatabase(database);
        this.directory = new Directory(db);
        this.tokens = new TokenTable(db, defaultRate);
        try {
            directory.seedAdmin(clock.millis());
        } catch (SQLException e) {
            db.close();
            throw new IllegalStateException("Cannot open " + db.describe() + ": " + e.getMessage(), e);
        }
    }

    /** On the SQLite file {@code <directory>/access.db}. */
    public AccessStore(Path accessDb, Clock clock, int defaultRate) {
        this(StateDatabase.local(requireAccessDb(accessDb).getParent()), clock, defaultRate);
    }

    private static Path requireAccessDb(Path file) {
        if (!file.getFileName().toString().equals("access.db")) {
            throw new IllegalArgumentException("the access database's file is access.db, not " + file.getFileName());
        }
        return file;
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
        return adminToken(tokenFile, "");
    }

    /**
     * The same for one of several instances sharing this store ({@code metadata.url}): each keeps its own file and token,
     * and a new token revokes only the one this {@code instance}'s file held before, never another instance's.
     */
    public synchronized String adminToken(Path tokenFile, String instance) {
        return AdminTokenFile.ensure(this, tokenFile, instance.isEmpty() ? AdminTokenFile.TOKEN_NAME
                : AdminTokenFile.TOKEN_NAME + "@" + instance);
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

    /**
     * Whether {@code token} is an active token (neither revoked nor expired) and {@code tokenId} its id: a SASL/PLAIN
     * login of the embedded broker (user: the token's id, password: the token), whose principal is then the same as a
     * SCRAM login's. The secret is compared with the stored hash in constant time. Throws UNAVAILABLE when the access
     * database cannot be read.
     */
    public boolean validLogin(String tokenId, String token) {
        // Kafka asks on its network thread: no last-used write here, and an id just found unknown is not looked up again
        return TokenTable.parse(token).filter(parsed -> parsed.id().equals(tokenId)).isPresent()
                && authenticateOrEmpty(token, false).isPresent();
    }

    Optional<Principal> authenticateOrEmpty(String token) {
        return authenticateOrEmpty(token, true);
    }

    private Optional<Principal> authenticateOrEmpty(String token, boolean recordUse) {
        Optional<TokenTable.Parsed> parsed = TokenTable.parse(token);
        if (parsed.isEmpty()) {
            return Optional.empty();
        }
        String id = parsed.get().id();
        Entry entry = cache.get(id);
        if (entry != null && trustFor.isPresent() && Duration.between(entry.loadedAt(), clock.instant()).compareTo(trustFor.get()) > 0) {
            entry = null; // another instance may have revoked it since
        }
        if (entry == null) {
            Instant unknownUntil = unknown.get(id);
            if (!recordUse && unknownUntil != null && clock.instant().isBefore(unknownUntil)) {
                return Optional.empty(); // a client retrying a wrong id costs no database read each time
            }
            entry = load(id).orElse(null);
            if (entry == null) {
                if (unknown.size() >= 10_000) {
                    unknown.clear();
                }
                unknown.put(id, clock.instant().plus(UNKNOWN_FOR));
                return Optional.empty();
            }
            unknown.remove(id);
            cache.put(id, entry);
        }
        if (!TokenTable.matches(entry.hash(), parsed.get().secret())) {
            return Optional.empty();
        }
        Instant now = clock.instant();
        if (!entry.info().active(now)) {
            return Optional.empty();
        }
        if (recordUse && Duration.between(entry.lastUsedSaved(), now).compareTo(LAST_USED_EVERY) >= 0) {
            Entry saved = new Entry(entry.info(), entry.hash(), entry.principal(), now, entry.loadedAt());
            if (cache.replace(id, entry, saved)) {
                try {
                    synchronized (this) {
                        tokens.used(id, now);
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
            Optional<TokenInfo> info = tokens.find(id);
            if (info.isEmpty()) {
                return Optional.empty();
            }
            byte[] hash = tokens.secretHash(id);
            TokenInfo t = info.get();
            List<String> roles = directory.rolesOf(t.user());
            List<Grant> grants = new ArrayList<>();
            for (String role : roles) {
                grants.addAll(directory.grantsOf(role));
            }
            Principal principal = new Principal(t.user(), t.id(), new LinkedHashSet<>(roles), grants, t.stream(), t.ratePerSecond());
            return Optional.of(new Entry(t, hash, principal, t.lastUsedAt().orElse(Instant.EPOCH), clock.instant()));
        } catch (SQLException e) {
            throw db.failure("read the access database", e);
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
            if (directory.userExists(name)) {
                throw new WatershedException(ErrorCode.CONFLICT, "Cannot create user '" + name + "': it exists");
            }
            directory.insertUser(name, kind, clock.millis());
        } catch (SQLException e) {
            throw db.failure("create user '" + name + "'", e);
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
            for (TokenInfo t : tokens.all()) {
                if (t.user().equals(name) && t.revokedAt().isEmpty()) {
                    tokens.revoked(t.id(), clock.instant());
                    revoked.add(t.id());
                }
            }
            directory.deleteUser(name);
        } catch (SQLException e) {
            throw db.failure("delete user '" + name + "'", e);
        }
        cache.clear();
        revoked.forEach(id -> listeners.forEach(l -> l.revoked(id)));
        changed();
    }

    public synchronized List<User> users() {
        try {
            return directory.users();
        } catch (SQLException e) {
            throw db.failure("list the users", e);
        }
    }

    public synchronized void createRole(String name) {
        checkName("role", name);
        try {
            if (directory.roleExists(name)) {
                throw new WatershedException(ErrorCode.CONFLICT, "Cannot create role '" + name + "': it exists");
            }
            directory.insertRole(name, clock.millis());
        } catch (SQLException e) {
            throw db.failure("create role '" + name + "'", e);
        }
        changed();
    }

    public synchronized void deleteRole(String name) {
        if (name.equals(ADMIN)) {
            throw new WatershedException(ErrorCode.CONFLICT, "Cannot delete role 'admin'");
        }
        requireRole(name);
        try {
            directory.deleteRole(name);
        } catch (SQLException e) {
            throw db.failure("delete role '" + name + "'", e);
        }
        changed();
    }

    public synchronized List<Role> roles() {
        try {
            return directory.roles();
        } catch (SQLException e) {
            throw db.failure("list the roles", e);
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
        String lower = target.toLowerCase(java.util.Locale.ROOT);
        if (privilege == Privilege.WRITE && (lower.startsWith("table:raw.") || lower.startsWith("table:state."))) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot grant write on " + target + ": raw and state tables are "
                    + "written by Watershed only (outside engines read them); grant write on tables of another namespace, "
                    + "e.g. table:ext.*");
        }
        for (String c : columns) {
            if (c.isBlank()) {
                throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot grant an empty column name on " + target);
            }
        }
        Grant grant = new Grant(role, privilege, target, columns);
        try {
            directory.upsertGrant(grant, clock.millis());
        } catch (SQLException e) {
            throw db.failure("grant " + privilege.label() + " on " + target + " to role '" + role + "'", e);
        }
        changed();
        return grant;
    }

    /** Returns whether there was such a grant. */
    public synchronized boolean revoke(String role, Privilege privilege, String object) {
        requireRole(role);
        if (role.equals(ADMIN) && privilege == Privilege.ADMIN) {
            throw new WatershedException(ErrorCode.CONFLICT, "Cannot revoke admin from role 'admin'");
        }
        boolean revoked;
        try {
            revoked = directory.deleteGrant(role, privilege, object.strip());
        } catch (SQLException e) {
            throw db.failure("revoke " + privilege.label() + " on " + object.strip() + " from role '" + role + "'", e);
        }
        changed();
        return revoked;
    }

    public synchronized void addMember(String user, String role) {
        requireUser(user);
        requireRole(role);
        try {
            directory.addMember(user, role);
        } catch (SQLException e) {
            throw db.failure("give user '" + user + "' role '" + role + "'", e);
        }
        changed();
    }

    public synchronized void removeMember(String user, String role) {
        requireUser(user);
        if (user.equals(ADMIN) && role.equals(ADMIN)) {
            throw new WatershedException(ErrorCode.CONFLICT, "Cannot take role 'admin' from user 'admin'");
        }
        try {
            directory.removeMember(user, role);
        } catch (SQLException e) {
            throw db.failure("take role '" + role + "' from user '" + user + "'", e);
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
        IssuedToken issued;
        try {
            issued = tokens.insert(user, label, ttl, stream, ratePerSecond, clock.instant());
        } catch (SQLException e) {
            throw db.failure("issue a token for user '" + user + "'", e);
        }
        listeners.forEach(l -> l.issued(issued.info(), issued.token()));
        return issued;
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
            tokens.revoked(id, clock.instant());
        } catch (SQLException e) {
            throw db.failure("revoke token '" + id + "'", e);
        }
        cache.remove(id);
        listeners.forEach(l -> l.revoked(id));
        return true;
    }

    public synchronized List<TokenInfo> tokens() {
        try {
            return tokens.all();
        } catch (SQLException e) {
            throw db.failure("list the tokens", e);
        }
    }

    public synchronized Optional<TokenInfo> token(String id) {
        try {
            return tokens.find(id);
        } catch (SQLException e) {
            throw db.failure("read token '" + id + "'", e);
        }
    }

    /** The public id of a token string ({@code wst_<id>}), when it has a token's shape. */
    public static Optional<String> tokenId(String token) {
        return TokenTable.parse(token).map(TokenTable.Parsed::id);
    }

    // ---- helpers ----

    private void changed() {
        cache.clear();
        listeners.forEach(Listener::changed);
    }

    private void requireUser(String name) {
        try {
            if (!directory.userExists(name)) {
                throw new WatershedException(ErrorCode.UNKNOWN_USER, "Cannot find user '" + name + "'; 'watershed access users' lists them");
            }
        } catch (SQLException e) {
            throw db.failure("read user '" + name + "'", e);
        }
    }

    private void requireRole(String name) {
        try {
            if (!directory.roleExists(name)) {
                throw new WatershedException(ErrorCode.UNKNOWN_ROLE, "Cannot find role '" + name + "'; 'watershed access roles' lists them");
            }
        } catch (SQLException e) {
            throw db.failure("read role '" + name + "'", e);
        }
    }

    private static void checkName(String what, String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new WatershedException(ErrorCode.INVALID_INPUT, "Cannot use " + what + " name '" + name
                    + "': use lowercase letters, digits, '_', '.' or '-', starting with a letter, at most 63 characters");
        }
    }

    @Override
    public synchronized void close() {
        db.close();
    }
}
