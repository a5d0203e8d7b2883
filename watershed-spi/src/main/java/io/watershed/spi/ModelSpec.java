package io.watershed.spi;

import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;

/**
 * A batch model: the Flink SQL SELECT in {@code models/<name>.sql}, materialised as the lake table
 * {@code <namespace>.<name>}.
 *
 * @param name the file's name without {@code .sql}
 * @param file the file, for error positions
 * @param sql the file's text (its settings header is SQL comments)
 * @param config its settings, from the header and {@code models/<name>.yaml}
 * @param references the tables its SQL reads, in order of appearance, with their positions in the file
 */
public record ModelSpec(String name, Path file, String sql, Config config, List<TableRef> references) {
    public ModelSpec {
        references = List.copyOf(references);
    }

    /** The lake table the model builds. */
    public String table() {
        return config.namespace() + "." + name;
    }

    /** The models this one reads, by name. */
    public List<String> upstreamModels() {
        return references.stream().filter(TableRef::model).map(TableRef::name).distinct().toList();
    }

    /** How a build replaces the table: all of it, or one partition's time range. */
    public enum Materialization {
        /** Every build replaces the whole table. */
        TABLE,
        /** Every build replaces the rows of one time range ({@code {{ start }}} to {@code {{ end }}}) of the partition column. */
        INCREMENTAL
    }

    /** The length of one partition, and of the time range a scheduled build covers. */
    public enum Grain {
        HOUR(ChronoUnit.HOURS), DAY(ChronoUnit.DAYS), MONTH(ChronoUnit.MONTHS);

        private final ChronoUnit unit;

        Grain(ChronoUnit unit) {
            this.unit = unit;
        }

        /** The start of the period that holds {@code time}. */
        public LocalDateTime floor(LocalDateTime time) {
            return switch (this) {
                case HOUR -> time.truncatedTo(ChronoUnit.HOURS);
                case DAY -> time.truncatedTo(ChronoUnit.DAYS);
                case MONTH -> time.truncatedTo(ChronoUnit.DAYS).withDayOfMonth(1);
            };
        }

        public LocalDateTime next(LocalDateTime periodStart) {
            return periodStart.plus(1, unit);
        }

        public LocalDateTime previous(LocalDateTime periodStart) {
            return periodStart.minus(1, unit);
        }
    }

    /**
     * @param namespace the lake namespace of its table
     * @param partitionBy the DATE or TIMESTAMP column of its result that partitions the table (by {@code grain});
     *     required for incremental models
     * @param schedule as written: a cron expression, {@code @hourly}/{@code @daily}/..., or the name of a schedule in
     *     watershed.yaml; models with the same schedule run together, as one run
     * @param cron the schedule as a five-field cron expression (minute hour day-of-month month day-of-week, UTC)
     * @param catchup whether the scheduler runs every period missed while the platform was down, or only the last one
     * @param retries further attempts after a failed build
     * @param retryDelay the wait before the first retry; it doubles with each further one
     * @param timeout a build running longer is cancelled and counts as failed
     * @param retention partitions of {@code partitionBy} older than this are dropped by lake upkeep; empty keeps them
     */
    public record Config(String namespace, Materialization materialized, Optional<String> partitionBy, Grain grain,
            Optional<String> schedule, Optional<String> cron, boolean catchup, int retries, Duration retryDelay, Duration timeout,
            Optional<String> description, Optional<Duration> retention) {
        public Config(String namespace, Materialization materialized, Optional<String> partitionBy, Grain grain,
                Optional<String> schedule, Optional<String> cron, boolean catchup, int retries, Duration retryDelay, Duration timeout,
                Optional<String> description) {
            this(namespace, materialized, partitionBy, grain, schedule, cron, catchup, retries, retryDelay, timeout, description,
                    Optional.empty());
        }
    }

    /**
     * A table named in a model's SQL.
     *
     * @param model whether it is another model of the project (then {@code name} is that model's name)
     * @param line 1-based line in the model's file
     * @param column 1-based column
     */
    public record TableRef(String namespace, String name, boolean model, int line, int column) {
        public String table() {
            return namespace + "." + name;
        }
    }
}
