package io.watershed.server;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import io.watershed.spi.Leases;
import io.watershed.spi.MlSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains the ml models that have a {@code schedule:} when it fires, on the one instance that holds lease
 * {@value #LEASE}. A version trained on schedule is a candidate like any other: promoting it stays a decision. No
 * catch-up: a fire missed while the platform was down is not made up, the next one trains. A failed training is logged
 * and tried again at the next fire.
 */
final class MlTrainings implements AutoCloseable {
    static final String LEASE = "ml-trainings";
    private static final Logger LOG = LoggerFactory.getLogger(MlTrainings.class);
    private static final CronParser CRON = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));
    /** The longest the thread sleeps between looks at the clock (a lease taken over meanwhile is seen this soon). */
    private static final Duration LONGEST_WAIT = Duration.ofSeconds(30);

    private final Map<String, ExecutionTime> schedules = new TreeMap<>();
    private final Map<String, Instant> next = new TreeMap<>();
    private final Consumer<String> train;
    private final Leases leases;
    private final Clock clock;
    private final Thread thread;
    private volatile boolean closed;

    /** @param train trains the named model (its exceptions are logged) */
    MlTrainings(List<MlSpec> models, Consumer<String> train, Leases leases, Clock clock) {
        this.train = train;
        this.leases = leases;
        this.clock = clock;
        Instant now = clock.instant();
        for (MlSpec model : models) {
            model.cron().ifPresent(cron -> {
                ExecutionTime times = ExecutionTime.forCron(CRON.parse(cron));
                schedules.put(model.name(), times);
                next.put(model.name(), after(times, now));
            });
        }
        this.thread = new Thread(this::loop, "watershed-ml-trainings");
        thread.setDaemon(true);
    }

    /** Starts the thread, if any model has a schedule. */
    MlTrainings start() {
        if (!schedules.isEmpty()) {
            leases.claim(LEASE, new Leases.Work() {
                @Override
                public void acquired(long epoch) {
                    // the thread asks the lease at each fire
                }

                @Override
                public void lost() {
                    // a training under way finishes; its version is recorded like any other
                }
            });
            thread.start();
        }
        return this;
    }

    /** When each scheduled model trains next. */
    synchronized Map<String, Instant> nextTrainings() {
        return Map.copyOf(next);
    }

    /** Trains the models whose fire time has come (when this instance holds the lease) and moves them to their next one. */
    void fire(Instant now) {
        List<String> due;
        synchronized (this) {
            due = next.entrySet().stream().filter(e -> !e.getValue().isAfter(now)).map(Map.Entry::getKey).toList();
            due.forEach(name -> next.put(name, after(schedules.get(name), now)));
        }
        if (due.isEmpty() || !leases.holds(LEASE)) {
            return;
        }
        for (String name : due) {
            try {
                LOG.info("Training ml:{} on its schedule", name);
                train.accept(name);
            } catch (RuntimeException e) {
                LOG.warn("Cannot train ml:{} on its schedule: {}; the next fire tries again", name, e.getMessage());
            }
        }
    }

    private void loop() {
        while (!closed) {
            fire(clock.instant());
            Optional<Instant> soonest;
            synchronized (this) {
                soonest = next.values().stream().min(Instant::compareTo);
            }
            Duration wait = soonest.map(t -> Duration.between(clock.instant(), t)).orElse(LONGEST_WAIT);
            try {
                Thread.sleep(Math.max(10, Math.min(wait.toMillis(), LONGEST_WAIT.toMillis())));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private static Instant after(ExecutionTime times, Instant time) {
        return times.nextExecution(time.atZone(ZoneOffset.UTC)).map(t -> t.toInstant()).orElse(Instant.MAX);
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(Duration.ofSeconds(30).toMillis()); // a training under way is left to finish, within reason
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
