package io.watershed.bus;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialDeletion;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.ResourceNotFoundException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may use the embedded broker (or, with {@code bus.manage_acls}, an external cluster) from outside, kept in the
 * broker itself: a SCRAM credential per token (user: the token id, password: the token) and the ACLs its grants mean.
 * On the embedded broker every change goes through the platform's own listener, as the super user. Topics named
 * {@code watershed_*} and {@code _watershed_*} are the platform's: denied to every outside client.
 */
public final class BrokerAccess implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BrokerAccess.class);
    private static final int ITERATIONS = 8192;
    /** Principals this class manages: token ids. */
    public static final String MANAGED_PREFIX = "wst_";
    /** The platform's own topics ({@code watershed_audit}, {@code _watershed_transactions}, ...): nobody else's. */
    private static final List<String> RESERVED_PREFIXES = List.of("watershed_", "_watershed_");

    /**
     * Access to topics matching {@code name} (a literal name, {@code *} for all, or a prefix when {@code prefixed}).
     */
    public record TopicAccess(String name, boolean prefixed, boolean read, boolean write) {}

    /**
     * What one outside client may do.
     *
     * @param groupPrefix consumer groups and transactional ids it may use start with this
     * @param all read and write every topic but the platform's (an admin)
     */
    public record ClientAccess(String groupPrefix, List<TopicAccess> topics, boolean all) {}

    private final Admin admin;
    private final boolean shared;
    private final java.util.function.Supplier<? extends Collection<String>> projectTopics;

    /** @param bootstrapServers the embedded broker's own (super user) listener */
    public BrokerAccess(String bootstrapServers) {
        this(io.watershed.spi.BusConnection.plain(bootstrapServers), false);
    }

    /**
     * @param connection how the platform reaches the cluster: as a super user, or as a user allowed Alter and Describe
     *     on the cluster (to manage SCRAM credentials and ACLs)
     * @param shared whether the cluster is an external one that others use too: then the platform touches only the ACLs
     *     of its own principals ({@value #MANAGED_PREFIX}...), keeps them off its topics one by one (a deny for
     *     {@code User:*} would shut out its own, non-super user as well), and never removes anyone else's
     */
    public BrokerAccess(io.watershed.spi.BusConnection connection, boolean shared) {
        this(connection, shared, List::of);
    }

    /**
     * @param projectTopics on a shared cluster, the topics of this project's streams: a grant's pattern ({@code *}, a
     *     prefix) becomes ACLs on those topics one by one, never a wildcard ACL that would reach other teams' topics
     */
    public BrokerAccess(io.watershed.spi.BusConnection connection, boolean shared,
            java.util.function.Supplier<? extends Collection<String>> projectTopics) {
        this.admin = BusClients.admin(connection, "watershed-access", Map.of());
        this.shared = shared;
        this.projectTopics = projectTopics;
    }

    /**
     * Lets {@code user} log in with {@code password} (SCRAM-SHA-256 and -512; Kafka takes one mechanism per request).
     * Returns once the broker (not only the controller) knows both, so the login works at once.
     */
    public void allowLogin(String user, String password) {
        for (ScramMechanism mechanism : List.of(ScramMechanism.SCRAM_SHA_256, ScramMechanism.SCRAM_SHA_512)) {
            await(admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(user,
                    new ScramCredentialInfo(mechanism, ITERATIONS), password))).all(), "store the login of " + user);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            try {
                if (admin.describeUserScramCredentials(List.of(user)).description(user).get(5, TimeUnit.SECONDS)
                        .credentialInfos().size() >= 2) {
                    return;
                }
            } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                // not known to the broker yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        LOG.warn("The broker does not show the Kafka login of {} 10 s after it was stored; it may work only in a moment", user);
    }

    /** The users that have a SCRAM login on the broker. */
    public Set<String> logins() {
        return new HashSet<>(await(admin.describeUserScramCredentials().users(), "list the Kafka logins"));
    }

    /** Removes the login of {@code user}; new connections fail at once. Its ACLs go with the next {@link #apply}. */
    public void forbidLogin(String user) {
        for (ScramMechanism mechanism : List.of(ScramMechanism.SCRAM_SHA_256, ScramMechanism.SCRAM_SHA_512)) {
            try {
                admin.alterUserScramCredentials(List.of(new UserScramCredentialDeletion(user, mechanism))).all().get(30, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof ResourceNotFoundException)) {
                    throw new IllegalStateException("Cannot remove the Kafka login of " + user + ": " + e.getCause(), e.getCause());
                }
            } catch (Exception e) {
                throw new IllegalStateException("Cannot remove the Kafka login of " + user + ": " + e, e);
            }
        }
    }

    /**
     * Makes the broker's ACLs of managed principals exactly {@code clients} (by user), plus the deny on the platform's
     * topics: creates what is missing, deletes what is no longer granted.
     */
    public synchronized void apply(Map<String, ClientAccess> clients) {
        apply(clients, clients.keySet());
    }

    /**
     * The same, where {@code managed} are all the token ids this platform knows (active or not): on a shared cluster
     * only their ACLs are this platform's to change — another deployment's {@value #MANAGED_PREFIX} principals are not.
     */
    public synchronized void apply(Map<String, ClientAccess> clients, Set<String> managed) {
        Set<AclBinding> wanted = new HashSet<>();
        for (String principal : shared ? clients.keySet().stream().map(user -> "User:" + user).toList() : List.of("User:*")) {
            for (String reserved : RESERVED_PREFIXES) {
                for (AclOperation operation : List.of(AclOperation.READ, AclOperation.WRITE)) {
                    wanted.add(new AclBinding(new ResourcePattern(ResourceType.TOPIC, reserved, PatternType.PREFIXED),
                            new AccessControlEntry(principal, "*", operation, AclPermissionType.DENY)));
                }
            }
        }
        Collection<String> topics = shared ? projectTopics.get() : List.of();
        clients.forEach((user, access) -> wanted.addAll(bindings(user, shared ? confined(access, topics) : access)));
        Collection<AclBinding> existing = await(admin.describeAcls(AclBindingFilter.ANY).values(), "list the ACLs");
        List<AclBinding> stale = new ArrayList<>();
        for (AclBinding b : existing) {
            String principal = b.entry().principal();
            boolean ours = shared ? principal.startsWith("User:") && managed.contains(principal.substring("User:".length()))
                    : principal.startsWith("User:" + MANAGED_PREFIX) || principal.equals("User:*");
            if (ours && !wanted.contains(b)) {
                stale.add(b);
            }
        }
        List<AclBinding> missing = wanted.stream().filter(b -> !existing.contains(b)).toList();
        if (!missing.isEmpty()) {
            await(admin.createAcls(missing).all(), "create " + missing.size() + " ACLs");
        }
        if (!stale.isEmpty()) {
            await(admin.deleteAcls(stale.stream().map(AclBinding::toFilter).toList()).all(), "delete " + stale.size() + " ACLs");
        }
        if (!missing.isEmpty() || !stale.isEmpty()) {
            LOG.info("Kafka ACLs: {} created, {} deleted, for {} token(s)", missing.size(), stale.size(), clients.size());
        }
    }

    /**
     * A client's access on a shared cluster: every pattern ({@code *}, a prefix, a literal name) narrowed to the
     * project's own topics, each named literally; {@code all} (an admin) becomes every project topic.
     */
    static ClientAccess confined(ClientAccess access, Collection<String> projectTopics) {
        List<TopicAccess> narrowed = new ArrayList<>();
        List<TopicAccess> patterns = access.all() ? List.of(new TopicAccess("*", false, true, true)) : access.topics();
        for (TopicAccess t : patterns) {
            for (String topic : projectTopics) {
                boolean matches = t.name().equals("*") || (t.prefixed() ? topic.startsWith(t.name()) : topic.equals(t.name()));
                if (matches && RESERVED_PREFIXES.stream().noneMatch(topic::startsWith)) {
                    narrowed.add(new TopicAccess(topic, false, t.read(), t.write()));
                }
            }
        }
        return new ClientAccess(access.groupPrefix(), narrowed, false);
    }

    static List<AclBinding> bindings(String user, ClientAccess access) {
        String principal = "User:" + user;
        List<AclBinding> out = new ArrayList<>();
        List<TopicAccess> topics = access.all() ? List.of(new TopicAccess("*", false, true, true)) : access.topics();
        boolean reads = false;
        boolean writes = false;
        for (TopicAccess t : topics) {
            ResourcePattern pattern = new ResourcePattern(ResourceType.TOPIC, t.name(), t.prefixed() ? PatternType.PREFIXED : PatternType.LITERAL);
            out.add(new AclBinding(pattern, new AccessControlEntry(principal, "*", AclOperation.DESCRIBE, AclPermissionType.ALLOW)));
            if (t.read()) {
                out.add(new AclBinding(pattern, new AccessControlEntry(principal, "*", AclOperation.READ, AclPermissionType.ALLOW)));
                reads = true;
            }
            if (t.write()) {
                out.add(new AclBinding(pattern, new AccessControlEntry(principal, "*", AclOperation.WRITE, AclPermissionType.ALLOW)));
                writes = true;
            }
        }
        if (reads) {
            ResourcePattern groups = new ResourcePattern(ResourceType.GROUP, access.groupPrefix(), PatternType.PREFIXED);
            out.add(new AclBinding(groups, new AccessControlEntry(principal, "*", AclOperation.READ, AclPermissionType.ALLOW)));
            out.add(new AclBinding(groups, new AccessControlEntry(principal, "*", AclOperation.DESCRIBE, AclPermissionType.ALLOW)));
        }
        if (writes) {
            ResourcePattern ids = new ResourcePattern(ResourceType.TRANSACTIONAL_ID, access.groupPrefix(), PatternType.PREFIXED);
            out.add(new AclBinding(ids, new AccessControlEntry(principal, "*", AclOperation.WRITE, AclPermissionType.ALLOW)));
            out.add(new AclBinding(ids, new AccessControlEntry(principal, "*", AclOperation.DESCRIBE, AclPermissionType.ALLOW)));
        }
        return out;
    }

    private <T> T await(org.apache.kafka.common.KafkaFuture<T> future, String what) {
        try {
            return future.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException("Cannot " + what + " on the " + (shared ? "Kafka cluster" : "embedded broker") + ": "
                    + e.getCause() + (shared && e.getCause() instanceof org.apache.kafka.common.errors.AuthorizationException
                            ? " (bus.manage_acls needs the platform's user allowed Alter and Describe on the cluster)" : ""),
                    e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while trying to " + what, e);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("Cannot " + what + " on the " + (shared ? "Kafka cluster" : "embedded broker")
                    + ": no answer in 30 s", e);
        }
    }

    @Override
    public void close() {
        admin.close(java.time.Duration.ofSeconds(5));
    }
}
