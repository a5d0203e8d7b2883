package io.watershed.lake;

import java.util.Map;
import java.util.TreeMap;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;

/**
 * The Kafka offsets a lake table's current snapshot covers, kept in the snapshot summary as
 * {@code watershed.offsets = "0:1200,1:1187"} (partition: next offset to read). Because the offsets
 * are committed in the same atomic Iceberg commit as the data, a restart resumes exactly there.
 */
final class CommittedOffsets {
    static final String SUMMARY_KEY = "watershed.offsets";
    static final String TOPIC_KEY = "watershed.topic";

    private CommittedOffsets() {}

    static Map<Integer, Long> of(Table table) {
        Map<Integer, Long> offsets = new TreeMap<>();
        Snapshot snapshot = table.currentSnapshot();
        while (snapshot != null) {
            String encoded = snapshot.summary().get(SUMMARY_KEY);
            if (encoded != null) {
                return decode(encoded);
            }
            // a snapshot made by something else (maintenance) carries no offsets: look at its parent
            snapshot = snapshot.parentId() == null ? null : table.snapshot(snapshot.parentId());
        }
        return offsets;
    }

    static Map<Integer, Long> decode(String encoded) {
        Map<Integer, Long> offsets = new TreeMap<>();
        if (encoded.isBlank()) {
            return offsets;
        }
        for (String part : encoded.split(",")) {
            int colon = part.indexOf(':');
            offsets.put(Integer.parseInt(part.substring(0, colon).trim()), Long.parseLong(part.substring(colon + 1).trim()));
        }
        return offsets;
    }

    static String encode(Map<Integer, Long> offsets) {
        StringBuilder out = new StringBuilder();
        new TreeMap<>(offsets).forEach((partition, next) -> {
            if (!out.isEmpty()) {
                out.append(',');
            }
            out.append(partition).append(':').append(next);
        });
        return out.toString();
    }
}
