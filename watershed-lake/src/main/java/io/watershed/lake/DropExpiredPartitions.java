package io.watershed.lake;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.PartitionField;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.SnapshotSummary;
import org.apache.iceberg.Table;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.Types;

/**
 * Retention by partition: whole partitions of a time-partitioned column older than the retention are dropped
 * with a metadata-only delete, marked {@code watershed.operation=retention}.
 */
final class DropExpiredPartitions {
    private DropExpiredPartitions() {}

    /**
     * Drops the partitions of {@code column} that end before {@code now - retention}: the column must be
     * partitioned by a time transform (year, month, day, hour) or by identity of a date. Returns the number of
     * data files dropped.
     */
    static int drop(IcebergLake lake, Table table, String column, Duration retention, Instant now) {
        table.refresh();
        if (table.currentSnapshot() == null) {
            return 0;
        }
        Types.NestedField field = table.schema().findField(column);
        if (field == null) {
            throw new IllegalArgumentException(table.name() + " has no column '" + column + "' to apply retention by");
        }
        ChronoUnit unit = null;
        for (PartitionField partition : table.spec().fields()) {
            if (partition.sourceId() == field.fieldId()) {
                String transform = partition.transform().toString();
                unit = switch (transform) {
                    case "hour" -> ChronoUnit.HOURS;
                    case "day" -> ChronoUnit.DAYS;
                    case "month" -> ChronoUnit.MONTHS;
                    case "year" -> ChronoUnit.YEARS;
                    case "identity" -> field.type().typeId() == Type.TypeID.DATE ? ChronoUnit.DAYS : null;
                    default -> null;
                };
            }
        }
        if (unit == null) {
            throw new IllegalArgumentException(table.name() + " is not partitioned by a time transform of '" + column
                    + "', so retention cannot drop whole partitions; partition it by day(" + column + ") or similar");
        }
        OffsetDateTime cutoff = truncate(OffsetDateTime.ofInstant(now.minus(retention), ZoneOffset.UTC), unit);
        org.apache.iceberg.expressions.Expression older = field.type().typeId() == Type.TypeID.DATE
                ? Expressions.lessThan(column, cutoff.toLocalDate().toString())
                : Expressions.lessThan(column, cutoff.toInstant().toEpochMilli() * 1000);
        int files = 0;
        try (CloseableIterable<FileScanTask> tasks = table.newScan().filter(older).planFiles()) {
            for (FileScanTask ignored : tasks) {
                files++;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list the files of " + table.name(), e);
        }
        if (files == 0) {
            return 0;
        }
        org.apache.iceberg.DeleteFiles delete = table.newDelete().deleteFromRowFilter(older).set(TableUpkeep.OPERATION, "retention");
        lake.commit(() -> {
            delete.commit();
            return null;
        });
        return droppedBy(table, files);
    }

    /**
     * The data files the retention commit removed. A writer may commit another old partition between the scan and the
     * delete, which the row filter then drops as well, so the commit's own summary counts, not the scan.
     */
    private static int droppedBy(Table table, int planned) {
        table.refresh();
        for (Snapshot s = table.currentSnapshot(); s != null; s = s.parentId() == null ? null : table.snapshot(s.parentId())) {
            if ("retention".equals(s.summary().get(TableUpkeep.OPERATION))) {
                return Integer.parseInt(s.summary().getOrDefault(SnapshotSummary.DELETED_FILES_PROP, String.valueOf(planned)));
            }
        }
        return planned;
    }

    private static OffsetDateTime truncate(OffsetDateTime time, ChronoUnit unit) {
        return switch (unit) {
            case HOURS, DAYS -> time.truncatedTo(unit);
            case MONTHS -> time.truncatedTo(ChronoUnit.DAYS).withDayOfMonth(1);
            default -> time.truncatedTo(ChronoUnit.DAYS).withDayOfYear(1);
        };
    }
}
