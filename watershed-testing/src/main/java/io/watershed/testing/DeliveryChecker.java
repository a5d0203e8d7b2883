package io.watershed.testing;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compares a {@link DeliveryLog} with what a raw lake table and its dead-letter table hold (columns {@code producer},
 * {@code seq}, {@code key} and the raw table's {@code _partition}, {@code _offset}; in the dead-letter table, the same
 * fields of its {@code raw} JSON) and reports:
 * <ul>
 *   <li>lost: acknowledged, yet in neither table;
 *   <li>duplicated: stored more than once (twice in a table, or in both);
 *   <li>phantom: rejected, yet stored (an indeterminate event may be there once, or not);
 *   <li>order violations: two events of one producer and key stored in the other order than they were sent.
 * </ul>
 */
public final class DeliveryChecker {
    private static final String DEAD_LETTERS = "__dlq";

    private DeliveryChecker() {}

    /** The outcome; {@link #clean()} when nothing was lost, duplicated, made up or reordered. */
    /**
     * Waits until the table's committed rows (its current snapshot, not the fresh tail queries also read) reach every
     * acknowledged event, then checks: the end of every chaos test whose lake writer had trouble.
     */
    public static Report awaitCommittedAndCheck(DeliveryLog log, WatershedHttp http, String table) {
        long acknowledged = log.count(DeliveryLog.Fate.ACKNOWLEDGED);
        Await.until("every acknowledged event committed to " + table + " or its dead letters", java.time.Duration.ofSeconds(120),
                () -> http.get("/v1/tables/" + table).json().path("rows").asLong()
                        + http.get("/v1/tables/" + table + DEAD_LETTERS).json().path("rows").asLong() >= acknowledged);
        return check(log, http, table);
    }

    /** {@code deadLettered}: how many of the stored events are in the dead-letter table. */
    public record Report(long acknowledged, long rejected, long indeterminate, long stored, long deadLettered, long lost, long duplicated,
            long phantom, long orderViolations, List<String> examples) {
        public boolean clean() {
            return lost == 0 && duplicated == 0 && phantom == 0 && orderViolations == 0;
        }

        @Override
        public String toString() {
            return "acknowledged " + acknowledged + ", rejected " + rejected + ", indeterminate " + indeterminate + ", stored " + stored
                    + " (dead letters " + deadLettered + ") -> lost " + lost + ", duplicated " + duplicated + ", phantom " + phantom
                    + ", order violations " + orderViolations + (examples.isEmpty() ? "" : ", e.g. " + examples);
        }
    }

    public static Report check(DeliveryLog log, WatershedHttp http, String table) {
        // a dead letter keeps its partition and offset, so one order covers both tables
        JsonNode rows = http.query("SELECT producer, seq, key, _partition, _offset, false FROM " + table + " WHERE producer IS NOT NULL "
                + "UNION ALL SELECT raw->>'producer', CAST(raw->>'seq' AS BIGINT), raw->>'key', _partition, _offset, true FROM " + table
                + DEAD_LETTERS + " WHERE json_valid(raw) AND raw->>'producer' IS NOT NULL ORDER BY 4, 5").path("rows");
        Map<String, Set<Long>> seen = new HashMap<>();
        Map<String, Long> lastSeqByProducerKey = new HashMap<>();
        List<String> examples = new ArrayList<>();
        long stored = 0;
        long deadLettered = 0;
        long duplicated = 0;
        long phantom = 0;
        long reordered = 0;
        for (JsonNode row : rows) {
            stored++;
            if (row.get(5).asBoolean()) {
                deadLettered++;
            }
            String producer = row.get(0).asText();
            long seq = row.get(1).asLong();
            String key = row.get(2).asText();
            if (!seen.computeIfAbsent(producer, p -> new HashSet<>()).add(seq)) {
                duplicated++;
                example(examples, "duplicated " + producer + "#" + seq);
            }
            if (log.fate(producer, seq) == DeliveryLog.Fate.REJECTED) {
                phantom++;
                example(examples, "phantom " + producer + "#" + seq);
            }
            // one key is one partition, so the offsets order a key's events as the bus stored them
            String producerKey = producer + "/" + key;
            Long last = lastSeqByProducerKey.put(producerKey, seq);
            if (last != null && last > seq) {
                reordered++;
                example(examples, "order " + producerKey + ": " + seq + " after " + last);
            }
        }
        long lost = 0;
        for (Map.Entry<String, Map<Long, DeliveryLog.Fate>> producer : log.all().entrySet()) {
            Set<Long> stores = seen.getOrDefault(producer.getKey(), Set.of());
            for (Map.Entry<Long, DeliveryLog.Fate> event : producer.getValue().entrySet()) {
                if (event.getValue() == DeliveryLog.Fate.ACKNOWLEDGED && !stores.contains(event.getKey())) {
                    lost++;
                    example(examples, "lost " + producer.getKey() + "#" + event.getKey());
                }
            }
        }
        return new Report(log.count(DeliveryLog.Fate.ACKNOWLEDGED), log.count(DeliveryLog.Fate.REJECTED),
                log.count(DeliveryLog.Fate.INDETERMINATE), stored, deadLettered, lost, duplicated, phantom, reordered, examples);
    }

    private static void example(List<String> examples, String text) {
        if (examples.size() < 5) {
            examples.add(text);
        }
    }
}
