package io.watershed.lake;

import io.watershed.spi.LakeCatalog;
import java.util.HashSet;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.iceberg.catalog.TableIdentifier;

/**
 * The snapshots readers hold. Expiry decides and commits while it holds this object's monitor, and a
 * hold is taken under the same monitor, so a hold either exists when expiry decides or begins after the
 * expiry's commit (and then names a snapshot that is still there, since expiry only removes snapshots
 * replaced longer ago than the retention window).
 */
final class SnapshotHolds {
    private record Entry(TableIdentifier table, long snapshotId, long sinceMillis, long serial) {}

    private final Set<Entry> entries = new HashSet<>();
    private long serial;

    synchronized LakeCatalog.Hold hold(TableIdentifier table, long snapshotId) {
        Entry entry = new Entry(table, snapshotId, System.currentTimeMillis(), serial++);
        entries.add(entry);
        AtomicBoolean released = new AtomicBoolean();
        return () -> {
            if (released.compareAndSet(false, true)) {
                synchronized (SnapshotHolds.this) {
                    entries.remove(entry);
                }
            }
        };
    }

    /** Snapshot ids held on the table; call while holding this monitor. */
    synchronized Set<Long> held(TableIdentifier table) {
        Set<Long> ids = new HashSet<>();
        for (Entry e : entries) {
            if (e.table().equals(table) && e.snapshotId() >= 0) {
                ids.add(e.snapshotId());
            }
        }
        return ids;
    }

    /** When the oldest hold on "whatever is current from now on" began, if there is one. */
    synchronized OptionalLong oldestOpenHold(TableIdentifier table) {
        return entries.stream().filter(e -> e.table().equals(table) && e.snapshotId() < 0)
                .mapToLong(Entry::sinceMillis).min();
    }
}
