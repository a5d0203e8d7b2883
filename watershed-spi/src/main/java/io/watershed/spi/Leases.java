package io.watershed.spi;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which instance does each piece of work that only one may do at a time (a stream's lake writer, a pipeline, the model
 * scheduler, lake upkeep), when several instances share one state database ({@code metadata.url}): a lease per work in
 * the table {@code watershed_leases}, held for {@code metadata.lease_ttl} and renewed every quarter of it.
 *
 * <p>A lease is taken when it has expired (its holder died or stopped renewing) or when its holder is this instance (a
 * restart of the same data directory); each taking raises its <em>epoch</em>, so the parts can tell a newer holder from an
 * older one. Times are the database's clock, never an instance's. An instance that cannot renew stops the work itself
 * at two thirds of the lease, before anyone else may take it; what a paused instance could still do after that is
 * fenced by the work itself (an Iceberg commit that checks the offsets it started from, a Kafka transactional id).
 *
 * <p>The work is told of each change on one thread, in the order the changes happened, so it never hears of a new
 * taking before the loss that came first. Each instance also holds a lease of its own, {@code instance:<name>}, while
 * it runs: {@link #alive} tells the other instances it is there even when it holds nothing else.
 *
 * <p>On SQLite (one machine, one instance) the same table lives in {@code leases.db} and every claim is taken at once.
 */
public final class Leases implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Leases.class);
    /** The prefix of the lease each instance holds while it runs. */
    static final String PRESENCE = "instance:";

    /** Work one instance at a time may do; called on the leases' work thread, so both must return quickly. */
    public interface Work {
        /** This instance holds the lease now, at {@code epoch} (above every earlier holder's): start the work. */
        void acquired(long epoch);

        /** This instance no longer holds the lease (another took it, or it could not be renewed in time): stop the work. */
        void lost();
    }

    /** Who holds a lease, as the database says: {@code live} while it has not expired. */
    public record Holder(String work, String instance, long epoch, boolean live, long expiresInMillis) {}

    static final List<String> MIGRATIONS = List.of("""
            CREATE TABLE watershed_leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, epoch BIGINT NOT NULL,
                expires_at BIGINT NOT NULL, acquired_at BIGINT NOT NULL)
            """);

    private final StateDatabase.Store store;
    private final String instance;
    private final Duration ttl;
    private final String now;
    private final Map<String, Claim> claims = new ConcurrentSkipListMap<>();
    private final ScheduledExecutorService renewer;
    private final ScheduledExecutorService watchdog;
    /** Tells the work, one change at a time, in order. */
    private final java.util.concurrent.ExecutorService work;
    private volatile Thread workThread;
    private volatile boolean closed;
    private final java.util.concurrent.atomic.AtomicBoolean closeOnce = new java.util.concurrent.atomic.AtomicBoolean();
    /** False once the instance stops: leases held are renewed until given up, none is taken. */
    private volatile boolean taking = true;
    private volatile java.util.function.Consumer<String> onClaim = name -> {};

    /**
     * @param instance this instance's name, the same across restarts of one data directory
     * @param ttl how long a lease lasts without renewal; another instance takes the work over at most this long after this one dies
     */
    public Leases(StateDatabase database, String instance, Duration ttl) {
        if (ttl.toMillis() < 300) {
            throw new IllegalArgumentException("a lease must last at least 300 ms, not " + ttl);
        }
        this.store = database.open("leases", MIGRATIONS);
        this.instance = instance;
        this.ttl = ttl;
        this.now = database.dialect() == StateDatabase.Dialect.POSTGRESQL
                ? "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
                : "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";
        this.renewer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "watershed-leases"));
        this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "watershed-leases-watchdog"));
        this.work = Executors.newSingleThreadExecutor(r -> {
            Thread t = daemon(r, "watershed-leases-work");
            workThread = t;
            return t;
        });
        // four renewals a lease: two may fail before the work stops at two thirds
        long every = Math.max(75, ttl.toMillis() / 4);
        renewer.scheduleWithFixedDelay(this::renewAll, every, every, TimeUnit.MILLISECONDS);
        long check = Math.max(50, ttl.toMillis() / 10);
        watchdog.scheduleWithFixedDelay(this::expireOverdue, check, check, TimeUnit.MILLISECONDS);
        claim(PRESENCE + instance, new Work() {
            @Override
            public void acquired(long epoch) {
                // present
            }

            @Override
            public void lost() {
                // taken again at the next renewal: the name is this instance's alone
            }
        });
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    public String instance() {
        return instance;
    }

    public Duration ttl() {
        return ttl;
    }

    /** Told the name of each lease this instance claims from now on, before it is tried (for its metrics). */
    public void onClaim(java.util.function.Consumer<String> listener) {
        this.onClaim = listener;
    }

    /** The epoch this instance holds {@code name} at, 0 when it does not. */
    public long epoch(String name) {
        Claim claim = claims.get(name);
        return claim == null ? 0 : claim.epoch.get();
    }

    /**
     * Claims {@code name} for {@code work}: taken now if it is free (the work is told before this returns, unless this
     * is called from a work callback), else tried again every quarter of the lease until this instance closes or
     * {@link #release releases} it.
     */
    public void claim(String name, Work work) {
        Claim claim = new Claim(name, work);
        if (claims.putIfAbsent(name, claim) != null) {
            throw new IllegalStateException("Lease '" + name + "' is claimed already by this instance");
        }
        if (!name.startsWith(PRESENCE)) {
            onClaim.accept(name);
        }
        java.util.concurrent.Future<?> told = null;
        synchronized (claim) {
            if (taking) {
                told = tryAcquire(claim);
            }
        }
        if (told != null && Thread.currentThread() != workThread) {
            try {
                told.get(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                LOG.warn("Lease '{}': the work did not start within 60 s; it goes on starting", name);
            }
        }
    }

    /** Gives the lease up (the work has stopped): another instance may take it at once. Nothing is called back. */
    public void release(String name) {
        Claim claim = claims.remove(name);
        if (claim == null) {
            return;
        }
        synchronized (claim) {
            long epoch;
            synchronized (claim.events) {
                epoch = claim.epoch.getAndSet(0);
            }
            if (epoch > 0) {
                expire(name, epoch);
            }
        }
    }

    /** Whether this instance holds {@code name} now. */
    public boolean holds(String name) {
        Claim claim = claims.get(name);
        return claim != null && claim.epoch.get() > 0;
    }

    /** The leases this instance holds for work, by name, with their epochs (not its own presence). */
    public Map<String, Long> held() {
        Map<String, Long> held = new TreeMap<>();
        claims.forEach((name, claim) -> {
            long epoch = claim.epoch.get();
            if (epoch > 0 && !name.startsWith(PRESENCE)) {
                held.put(name, epoch);
            }
        });
        return held;
    }

    /** Whether {@code other} runs now: it holds its presence lease (false when the database cannot be read). */
    public boolean alive(String other) {
        return holders().stream().anyMatch(h -> h.live() && h.work().equals(PRESENCE + other) && h.instance().equals(other));
    }

    /** Every lease the database knows, with its holder; empty when the database cannot be read. */
    public List<Holder> holders() {
        List<Holder> holders = new ArrayList<>();
        synchronized (store) {
            try (PreparedStatement q = store.connection().prepareStatement(
                    "SELECT name, owner, epoch, expires_at, " + now + " FROM watershed_leases ORDER BY name")) {
                q.setQueryTimeout(queryTimeoutSeconds());
                try (ResultSet rs = q.executeQuery()) {
                    while (rs.next()) {
                        long left = rs.getLong(4) - rs.getLong(5);
                        holders.add(new Holder(rs.getString(1), rs.getString(2), rs.getLong(3), left > 0, Math.max(0, left)));
                    }
                }
            } catch (SQLException e) {
                LOG.debug("Cannot read the leases: {}", store.failure("read the leases", e).getMessage());
            }
        }
        return holders;
    }

    /** One statement renews every lease held; then each lease not held is tried. */
    private void renewAll() {
        if (closed) {
            return;
        }
        try {
            renewHeld();
            for (Claim claim : claims.values()) {
                if (closed || !taking) {
                    return;
                }
                synchronized (claim) {
                    if (claims.get(claim.name) == claim && claim.epoch.get() == 0) {
                        tryAcquire(claim);
                    }
                }
            }
        } catch (RuntimeException e) { // a throw would end the renewals for good
            LOG.error("Lease renewal failed; it runs again in {} ms", ttl.toMillis() / 4, e);
        }
    }

    private void renewHeld() {
        Map<String, Long> held = new TreeMap<>();
        claims.forEach((name, claim) -> {
            long epoch = claim.epoch.get();
            if (epoch > 0) {
                held.put(name, epoch);
            }
        });
        if (held.isEmpty()) {
            return;
        }
        long started;
        Map<String, Long> renewed = new TreeMap<>();
        synchronized (store) {
            started = System.nanoTime();
            String names = String.join(", ", java.util.Collections.nCopies(held.size(), "?"));
            try (PreparedStatement q = store.connection().prepareStatement("UPDATE watershed_leases SET expires_at = " + now
                    + " + ? WHERE owner = ? AND name IN (" + names + ") RETURNING name, epoch")) {
                q.setQueryTimeout(queryTimeoutSeconds());
                q.setLong(1, ttl.toMillis());
                q.setString(2, instance);
                int i = 3;
                for (String name : held.keySet()) {
                    q.setString(i++, name);
                }
                try (ResultSet rs = q.executeQuery()) {
                    while (rs.next()) {
                        renewed.put(rs.getString(1), rs.getLong(2));
                    }
                }
            } catch (SQLException e) {
                // the watchdog stops the work at the local deadline if this keeps failing
                LOG.warn("Cannot renew {} lease(s): {}", held.size(), store.failure("renew the leases", e).getMessage());
                return;
            }
        }
        held.forEach((name, epoch) -> {
            Claim claim = claims.get(name);
            if (claim == null) {
                return; // released meanwhile
            }
            if (epoch.equals(renewed.get(name))) {
                if (claim.epoch.get() == epoch) {
                    claim.deadlineNanos = started + localShare();
                }
            } else if (lose(claim, epoch)) {
                LOG.warn("Instance {} lost lease '{}' (epoch {}): another instance took it", instance, name, epoch);
            }
        });
    }

    /** Tries to take the lease; the work is told by the returned future, null when not taken. */
    private java.util.concurrent.Future<?> tryAcquire(Claim claim) {
        long started;
        Long epoch = null;
        synchronized (store) {
            started = System.nanoTime(); // the lease counts from the statement, not from waiting for the connection
            try {
                Connection c = store.connection();
                try (PreparedStatement q = c.prepareStatement("INSERT INTO watershed_leases (name, owner, epoch, expires_at, acquired_at) "
                        + "VALUES (?, ?, 1, " + now + " + ?, " + now + ") ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, "
                        + "epoch = watershed_leases.epoch + 1, expires_at = excluded.expires_at, acquired_at = excluded.acquired_at "
                        + "WHERE watershed_leases.expires_at < excluded.acquired_at OR watershed_leases.owner = excluded.owner "
                        + "RETURNING epoch")) {
                    q.setQueryTimeout(queryTimeoutSeconds());
                    q.setString(1, claim.name);
                    q.setString(2, instance);
                    q.setLong(3, ttl.toMillis());
                    try (ResultSet rs = q.executeQuery()) {
                        if (rs.next()) {
                            epoch = rs.getLong(1);
                        }
                    }
                }
            } catch (SQLException e) {
                LOG.warn("Cannot claim lease '{}': {}", claim.name, store.failure("claim a lease", e).getMessage());
                return null;
            }
        }
        if (epoch == null) {
            return null; // another instance holds it
        }
        long taken = epoch;
        claim.deadlineNanos = started + localShare();
        synchronized (claim.events) {
            claim.epoch.set(taken);
            if (!claim.name.startsWith(PRESENCE)) {
                LOG.info("Instance {} took lease '{}' (epoch {})", instance, claim.name, taken);
            }
            return tell(() -> {
                try {
                    claim.work.acquired(taken);
                } catch (RuntimeException e) {
                    LOG.error("Lease '{}': the work failed to start; the lease is given up", claim.name, e);
                    boolean given;
                    synchronized (claim.events) {
                        given = claim.epoch.compareAndSet(taken, 0);
                    }
                    if (given) {
                        expire(claim.name, taken);
                    }
                }
            });
        }
    }

    private java.util.concurrent.Future<?> tell(Runnable change) {
        try {
            return work.submit(change);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return java.util.concurrent.CompletableFuture.completedFuture(null); // closing: the work stops anyway
        }
    }

    /**
     * Stops work whose lease could not be renewed for two thirds of its length, before anyone else may take it. It does
     * not wait for a renewal in flight (which may hang on an unreachable database): the epoch decides who stops it.
     */
    private void expireOverdue() {
        for (Claim claim : claims.values()) {
            long epoch = claim.epoch.get();
            if (epoch > 0 && System.nanoTime() - claim.deadlineNanos > 0 && lose(claim, epoch)) {
                LOG.warn("Instance {} could not renew lease '{}' within {} ms: its work stopped before another instance may "
                        + "take it", instance, claim.name, localShare() / 1_000_000);
            }
        }
    }

    /** Tells the work it lost the lease at {@code epoch}, unless that was told already; whether this call told it. */
    private boolean lose(Claim claim, long epoch) {
        synchronized (claim.events) {
            if (!claim.epoch.compareAndSet(epoch, 0)) {
                return false;
            }
            tell(() -> {
                try {
                    claim.work.lost();
                } catch (RuntimeException e) {
                    LOG.error("Lease '{}': stopping the work failed", claim.name, e);
                }
            });
            return true;
        }
    }

    private void expire(String name, long epoch) {
        synchronized (store) {
            try (PreparedStatement q = store.connection().prepareStatement(
                    "UPDATE watershed_leases SET expires_at = 0 WHERE name = ? AND owner = ? AND epoch = ?")) {
                q.setQueryTimeout(queryTimeoutSeconds());
                q.setString(1, name);
                q.setString(2, instance);
                q.setLong(3, epoch);
                q.executeUpdate();
            } catch (SQLException e) {
                LOG.warn("Cannot give up lease '{}' (it expires on its own): {}", name,
                        store.failure("give up a lease", e).getMessage());
            }
        }
    }

    private long localShare() {
        return ttl.toNanos() * 2 / 3;
    }

    private int queryTimeoutSeconds() {
        return (int) Math.max(1, ttl.toSeconds() / 4);
    }

    /** Stops renewing and watching without giving anything up, as a killed process would: for tests of takeover. */
    void halt() {
        closed = true;
        renewer.shutdownNow();
        watchdog.shutdownNow();
        work.shutdownNow();
    }

    /**
     * Stops renewing, waits for the work to have been told what it was told so far, then gives up every lease this
     * instance still holds, so other instances take the work at once.
     */
    @Override
    public void close() {
        if (!closeOnce.compareAndSet(false, true)) {
            return;
        }
        closed = true;
        renewer.shutdownNow();
        watchdog.shutdownNow();
        try {
            renewer.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        work.shutdown();
        try {
            work.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (String name : List.copyOf(claims.keySet())) {
            release(name);
        }
        synchronized (store) {
            store.close();
        }
    }

    /**
     * Stops taking leases (the instance is stopping): what is held is still renewed until given up, so its work can
     * finish, and a lease another instance gives up meanwhile is left to the others.
     */
    public void stopTaking() {
        taking = false;
    }

    private static final class Claim {
        final String name;
        final Work work;
        /** The epoch held, 0 while not held; changed under {@link #events} together with telling the work. */
        final java.util.concurrent.atomic.AtomicLong epoch = new java.util.concurrent.atomic.AtomicLong();
        final Object events = new Object();
        /** System.nanoTime() by which the lease must have been renewed, or the work stops. */
        volatile long deadlineNanos;

        Claim(String name, Work work) {
            this.name = name;
            this.work = work;
        }
    }
}
