package io.watershed.access;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.ReadScope;
import io.watershed.spi.WatershedException;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Who a request acts as: the user behind a token, the grants of the user's roles, and the token's own limit (a
 * token limited to one stream may only write that stream). The audit table is readable by administrators only,
 * whatever is granted.
 *
 * @param tokenId the token's public id ({@code wst_...}), also its Kafka user name
 * @param stream when present, the token may only write events to this stream
 * @param ratePerSecond the token's request rate limit
 */
public record Principal(String user, String tokenId, Set<String> roles, List<Grant> grants, Optional<String> stream,
        int ratePerSecond) implements ReadScope {
    /** The lake table of the audit log; readable by administrators only. */
    public static final String AUDIT_TABLE = "raw.watershed_audit";

    public Principal {
        roles = Set.copyOf(roles);
        grants = List.copyOf(grants);
    }

    public boolean admin() {
        return stream.isEmpty() && grants.stream().anyMatch(g -> g.privilege() == Privilege.ADMIN);
    }

    /** Whether the user may do {@code privilege} on {@code object} ({@code kind:name}). */
    public boolean may(Privilege privilege, String object) {
        if (stream.isPresent()) {
            return privilege == Privilege.WRITE && object.equals("stream:" + stream.get())
                    && grants.stream().anyMatch(g -> g.covers(privilege, object));
        }
        return grants.stream().anyMatch(g -> g.covers(privilege, object));
    }

    /** Throws FORBIDDEN unless the user may do {@code privilege} on {@code object}. */
    public void require(Privilege privilege, String object) {
        if (!may(privilege, object)) {
            String limit = stream.map(s -> "; this token may only write events to stream '" + s + "'").orElse("");
            throw new WatershedException(ErrorCode.FORBIDDEN, "Cannot " + privilege.label() + " " + object + ": user '" + user
                    + "' has no grant for it" + limit + ". An admin can grant it: watershed access grant <role> "
                    + privilege.label() + " " + object);
        }
    }

    /** Throws FORBIDDEN unless the user is an administrator. */
    public void requireAdmin(String what) {
        if (!admin()) {
            throw new WatershedException(ErrorCode.FORBIDDEN, "Cannot " + what + ": it needs the admin role, and user '" + user
                    + "' does not have it" + stream.map(s -> " (this token may only write events to stream '" + s + "')").orElse(""));
        }
    }

    /** Whether the token may do more than write to one stream (list, query, operate). */
    public boolean general() {
        return stream.isEmpty();
    }

    @Override
    public boolean unrestricted() {
        return admin();
    }

    @Override
    public Optional<Set<String>> columns(String table) {
        String name = table.toLowerCase(Locale.ROOT);
        if (admin()) {
            return Optional.of(Set.of());
        }
        if (stream.isPresent() || name.startsWith(AUDIT_TABLE)) {
            return Optional.empty();
        }
        Set<String> columns = new HashSet<>();
        boolean any = false;
        for (Grant g : grants) {
            if (g.covers(Privilege.READ, "table:" + name)) {
                if (g.columns().isEmpty()) {
                    return Optional.of(Set.of());
                }
                any = true;
                g.columns().forEach(c -> columns.add(c.toLowerCase(Locale.ROOT)));
            }
        }
        return any ? Optional.of(Set.copyOf(columns)) : Optional.empty();
    }

    @Override
    public String toString() {
        return "Principal[user=" + user + ", token=" + tokenId + ", roles=" + roles + stream.map(s -> ", stream=" + s).orElse("") + "]";
    }
}
