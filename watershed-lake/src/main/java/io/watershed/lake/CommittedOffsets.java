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

    /**
     * Fences a writer's commit: it goes in only if the newest snapshot carrying offsets still carries {@code base}, the
     * offsets this writer started from or last committed. Another writer of the same table (an instance that took the
     * table's lease while this one was paused) has moved them on, and then this commit fails with a
     * {@link org.apache.iceberg.exceptions.ValidationException} that is not retried: the writer restarts from the table.
     * Iceberg checks it against the table as refreshed for the commit, under the catalog's compare-and-swap.
     */
    static org.apache.iceberg.SnapshotAncestryValidator unchangedSince(Map<Integer, Long> base) {
        Map<Integer, Long> expected = new TreeMap<>(base);
        return new org.apache.iceberg.SnapshotAncestryValidator() {
            private String found = "";

            @Override
            public boolean validate(Iterable<Snapshot> ancestry) {
                for (Snapshot snapshot : ancestry) {
                    String encoded = snapshot.summary().get(SUMMARY_KEY);
                    if (encoded != null) {
                        found = encoded;
                        return decode(encoded).equals(expected);
                    }
                }
                found = "";
                return expected.isEmpty();
            }

            @Override
            public String errorMessage() {
                return FENCED + ": the table is at offsets {" + found + "}, not at {" + encode(expected)
                        + "} where this writer started; it restarts from the table";
            }
        };
    }

    static final String FENCED = "Another writer committed to this table";

    /** Whether a failed commit was refused by {@link #unchangedSince}: retrying it cannot help. */
    static boolean fenced(RuntimeException e) {
        return e instanceof org.apache.iceberg.exceptions.ValidationException && e.getMessage() != null
                && e.getMessage().contains(FENCED);
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
