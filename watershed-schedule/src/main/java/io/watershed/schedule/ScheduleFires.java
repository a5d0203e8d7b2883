package io.watershed.schedule;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import io.watershed.schedule.Runs.Step;
import io.watershed.spi.ModelSpec;
import io.watershed.spi.ModelSpec.Materialization;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The project's cron schedules: the models of each (in dependency order), when each fires next, and which
 * fire times are due, with catch-up after downtime. The last fire of each schedule is kept in the run
 * history, so a restart neither repeats nor forgets one. Says what to start; the scheduler starts it.
 */
final class ScheduleFires {
    private static final Logger LOG = LoggerFactory.getLogger(ScheduleFires.class);
    private static final CronParser CRON = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));
    /** Most runs one schedule starts at once when it catches up. */
    static final int MAX_CATCHUP_RUNS = 1000;

    private final ModelGraph graph;
    private final RunStore store;
    private final Map<String, Group> groups = new TreeMap<>();

    private record Group(String schedule, ExecutionTime times, List<String> models) {}

    /**
     * A fire time that has come: record it as the schedule's last fire, then start a run of its steps (none: nothing to build).
     *
     * @param steps in dependency order
     */
    record Fire(String schedule, Instant time, List<Step> steps) {}

    /** Groups the models by schedule; a schedule new to the run history counts from now: it runs from its next fire time on. */
    ScheduleFires(ModelGraph graph, RunStore store, Instant now) {
        this.graph = graph;
        this.store = store;
        Map<String, List<String>> bySchedule = new TreeMap<>();
        for (String name : graph.order()) {
            ModelSpec model = graph.get(name);
            model.config().schedule().ifPresent(s -> bySchedule.computeIfAbsent(s, k -> new ArrayList<>()).add(name));
        }
        bySchedule.forEach((schedule, names) -> {
            ModelSpec first = graph.get(names.get(0));
            groups.put(schedule, new Group(schedule, ExecutionTime.forCron(CRON.parse(first.config().cron().orElseThrow())), names));
        });
        for (Group group : groups.values()) {
            if (store.lastFire(group.schedule()).isEmpty()) {
                store.setLastFire(group.schedule(), group.times().lastExecution(now.atZone(ZoneOffset.UTC))
                        .map(ZonedDateTime::toInstant).orElse(now));
            }
        }
    }

    /** When each schedule fires next, by schedule. */
    Map<String, Instant> nextFires(Instant time) {
        Map<String, Instant> next = new TreeMap<>();
        ZonedDateTime now = time.atZone(ZoneOffset.UTC);
        groups.forEach((name, g) -> g.times().nextExecution(now).ifPresent(t -> next.put(name, t.toInstant())));
        return next;
    }

    /**
     * The fires that have come since each schedule's last one, oldest first per schedule: every missed one for the
     * incremental models with catch-up, the latest only for the others.
     */
    List<Fire> due(Instant now) {
        List<Fire> fires = new ArrayList<>();
        for (Group group : groups.values()) {
            Optional<Instant> last = store.lastFire(group.schedule());
            if (last.isEmpty()) {
                continue; // set at start
            }
            List<Instant> due = new ArrayList<>();
            ZonedDateTime t = last.get().atZone(ZoneOffset.UTC);
            while (true) {
                Optional<ZonedDateTime> next = group.times().nextExecution(t);
                if (next.isEmpty() || next.get().toInstant().isAfter(now)) {
                    break;
                }
                due.add(next.get().toInstant());
                t = next.get();
                if (due.size() > MAX_CATCHUP_RUNS) {
                    due.remove(0);
                }
            }
            if (due.isEmpty()) {
                continue;
            }
            if (due.size() > 1) {
                LOG.info("Schedule '{}' missed {} fire time(s) while the platform was down; incremental models with catchup "
                        + "build each missed period, the others the latest only", group.schedule(), due.size());
            }
            for (int k = 0; k < due.size(); k++) {
                boolean latest = k == due.size() - 1;
                Instant fire = due.get(k);
                Instant previous = k == 0 ? last.get() : due.get(k - 1);
                List<Step> steps = new ArrayList<>();
                for (String name : group.models()) {
                    ModelSpec m = graph.get(name);
                    boolean catchesUp = m.config().catchup() && m.config().materialized() == Materialization.INCREMENTAL;
                    if (latest || catchesUp) {
                        steps.addAll(RunPlanner.periodSteps(m, catchesUp || due.size() == 1 ? previous : due.get(due.size() - 2), fire));
                    }
                }
                fires.add(new Fire(group.schedule(), fire, steps));
            }
        }
        return fires;
    }
}
