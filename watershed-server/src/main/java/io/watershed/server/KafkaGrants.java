package io.watershed.server;

import io.watershed.access.AccessStore;
import io.watershed.access.Grant;
import io.watershed.access.Principal;
import io.watershed.access.Privilege;
import io.watershed.bus.BrokerAccess;
import io.watershed.bus.BrokerAccess.ClientAccess;
import io.watershed.bus.BrokerAccess.TopicAccess;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded broker follows the platform's grants: each token logs in as its id, with the token as password — over
 * SASL/SCRAM with the credential given here, or over SASL/PLAIN checked against the access store itself — and may use
 * exactly the topics its grants name — {@code write stream:x} writes topic {@code x},
 * {@code read table:raw.x} reads it (a trailing {@code *} becomes a prefix), an admin reads and writes every topic but
 * the platform's; consumer groups and transactional ids must start with {@code <user>.}. A token limited to one stream
 * writes that topic only. Issued, revoked and changed grants apply at once; expired tokens lose their login and ACLs
 * within a minute.
 */
final class KafkaGrants implements AccessStore.Listener, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaGrants.class);

    private final BrokerAccess broker;
    private final AccessStore store;
    private final Clock clock;
    private final ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "kafka-grants");
        t.setDaemon(true);
        return t;
    });

    KafkaGrants(BrokerAccess broker, AccessStore store, Clock clock, Duration sweepEvery) {
        this.broker = broker;
        this.store = store;
        this.clock = clock;
        sweeper.scheduleWithFixedDelay(() -> {
            try {
                synchronized (store) { // the store's lock first, as when a change in the store calls this listener
                    sync();
                }
            } catch (RuntimeException e) {
                LOG.error("Cannot bring the Kafka ACLs up to the grants; trying again in {}", sweepEvery, e);
            }
        }, sweepEvery.toMillis(), sweepEvery.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void issued(AccessStore.TokenInfo token, String secret) {
        try {
            broker.allowLogin(token.id(), secret);
            sync();
        } catch (RuntimeException e) {
            // the token works over HTTP; over Kafka only once issued again (its secret is not kept)
            LOG.error("Cannot give token {} its Kafka login; it works over HTTP only. Issue another token to use Kafka", token.id(), e);
        }
    }

    @Override
    public void revoked(String tokenId) {
        try {
            broker.forbidLogin(tokenId);
            sync();
        } catch (RuntimeException e) {
            LOG.error("Cannot remove the Kafka login and ACLs of revoked token {} now; the sweep tries again within a minute",
                    tokenId, e);
        }
    }

    @Override
    public void changed() {
        try {
            sync();
        } catch (RuntimeException e) {
            LOG.error("Cannot bring the Kafka ACLs up to the changed grants now; the sweep tries again within a minute", e);
        }
    }

    /** Brings logins and ACLs to the active tokens and their grants now. */
    synchronized void sync() {
        Map<String, ClientAccess> clients = new LinkedHashMap<>();
        java.time.Instant now = clock.instant();
        Set<String> logins = broker.logins();
        for (AccessStore.TokenInfo t : store.tokens()) {
            if (!t.active(now)) {
                if (logins.contains(t.id())) {
                    broker.forbidLogin(t.id());
                }
                continue;
            }
            store.principal(t.id()).ifPresent(p -> clients.put(t.id(), access(p)));
        }
        broker.apply(clients, store.tokens().stream().map(AccessStore.TokenInfo::id).collect(java.util.stream.Collectors.toSet()));
    }

    static ClientAccess access(Principal p) {
        String groups = p.user() + ".";
        if (p.stream().isPresent()) {
            return new ClientAccess(groups, p.may(Privilege.WRITE, "stream:" + p.stream().get())
                    ? List.of(new TopicAccess(p.stream().get(), false, false, true)) : List.of(), false);
        }
        if (p.admin()) {
            return new ClientAccess(groups, List.of(), true);
        }
        List<TopicAccess> topics = new ArrayList<>();
        for (Grant g : p.grants()) {
            if (g.privilege() == Privilege.WRITE && g.object().startsWith("stream:")) {
                topic(g.object().substring("stream:".length()), false, true).ifPresent(topics::add);
            } else if (g.privilege() == Privilege.READ && g.columns().isEmpty() && g.object().startsWith("table:")) {
                String table = g.object().substring("table:".length());
                if (table.equals("*") || table.equals("raw*") || table.equals("raw.*")) {
                    topics.add(new TopicAccess("*", false, true, false));
                } else if (table.startsWith("raw.")) {
                    topic(table.substring("raw.".length()), true, false).ifPresent(topics::add);
                }
            }
        }
        return new ClientAccess(groups, topics, false);
    }

    /** A grant's name pattern as a topic pattern: literal, {@code *}, or a prefix ending in {@code *}; others do not map. */
    private static Optional<TopicAccess> topic(String pattern, boolean read, boolean write) {
        int star = pattern.indexOf('*');
        if (star < 0 || pattern.equals("*")) {
            return Optional.of(new TopicAccess(pattern, false, read, write));
        }
        if (star == pattern.length() - 1) {
            return Optional.of(new TopicAccess(pattern.substring(0, star), true, read, write));
        }
        LOG.warn("The grant pattern '{}' has a '*' before its end; Kafka ACLs match literal names or prefixes only, so it "
                + "gives no access over Kafka", pattern);
        return Optional.empty();
    }

    @Override
    public void close() {
        sweeper.shutdownNow();
    }
}
