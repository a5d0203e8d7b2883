package io.watershed.stream;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.CqlSessionBuilder;
import com.datastax.oss.driver.api.core.DefaultConsistencyLevel;
import com.datastax.oss.driver.api.core.config.DefaultDriverOption;
import com.datastax.oss.driver.api.core.config.DriverConfigLoader;
import com.datastax.oss.driver.api.core.cql.BoundStatement;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.SimpleStatement;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.table.data.DecimalData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.types.logical.LogicalType;

/**
 * Writes a pipeline's rows to a Cassandra table ({@code INSERT INTO sinks.<name>} of a {@code cassandra} sink) with the
 * Apache Cassandra Java driver, buffered as every sink's writer is ({@link BufferedSinkWriter}).
 *
 * <p>A flush sends each buffered change as a prepared statement, asynchronously, with at most {@code maxInFlight} of
 * them unacknowledged (the writer waits for a permit, and so holds its input back), and returns once all are
 * acknowledged: at a checkpoint barrier nothing of the checkpoint is left in flight. A change is an {@code INSERT}
 * (which is an upsert in CQL, with the sink's TTL if it has one) or a {@code DELETE} by the primary key. Both are
 * idempotent and carry the driver's increasing client timestamps, so a replay after a crash, or a retry, leaves the
 * table as one write would: the effect is exactly once. The keyspace and table are created if missing.
 */
final class CassandraSink implements Sink<RowData> {
    private static final long serialVersionUID = 1L;
    /** Schema changes wait for every node to agree: slower than a write. */
    private static final Duration SCHEMA_TIMEOUT = Duration.ofSeconds(60);

    /**
     * The table and how to reach it.
     *
     * @param contactPoints {@code host:port} of nodes to connect to first
     * @param partitionKey the leading columns of the key that make the partition key
     * @param ttlSeconds how long a written row lives; 0: for ever
     * @param user the role to log in as; empty: no authentication
     */
    record Target(SinkShape shape, List<String> contactPoints, String localDatacenter, String keyspace, String table,
            List<String> partitionKey, long ttlSeconds, String consistency, String user, String password, int replicationFactor,
            int maxInFlight) implements java.io.Serializable {
        Target {
            contactPoints = List.copyOf(contactPoints);
            partitionKey = List.copyOf(partitionKey);
        }

        /** {@code keyspace.table}, quoted. */
        String qualifiedTable() {
            return quote(keyspace) + "." + quote(table);
        }

        @Override
        public String toString() {
            return "CassandraSink.Target[sink=" + shape.sink() + ", contactPoints=" + contactPoints + ", table=" + keyspace + "."
                    + table + ", key=" + shape.key() + "]";
        }
    }

    private final Target target;

    CassandraSink(Target target) {
        this.target = target;
    }

    @Override
    public SinkWriter<RowData> createWriter(WriterInitContext context) throws IOException {
        return new Writer(target, context);
    }

    static final class Writer extends BufferedSinkWriter {
        private final Target target;
        private final DefaultConsistencyLevel consistency;
        /** Permits for writes sent and not yet acknowledged. */
        private final Semaphore inFlight;
        private CqlSession session;
        private PreparedStatement upsert;
        private PreparedStatement delete;
        private boolean tableReady;
        /** The insert into {@code <table>__dlq}, prepared once the table exists (for this session). */
        private PreparedStatement deadLetterInsert;

        Writer(Target target, WriterInitContext context) {
            super(target.shape(), context);
            this.target = target;
            this.consistency = DefaultConsistencyLevel.valueOf(target.consistency());
            this.inFlight = new Semaphore(target.maxInFlight());
        }

        @Override
        Object value(Object value, LogicalType type) {
            return cqlValue(value, type);
        }

        @Override
        String destination() {
            return "table " + target.keyspace() + "." + target.table() + " at " + target.contactPoints();
        }

        @Override
        List<Refused> writeChanges(List<Change> changes) throws Exception {
            if (shape.deadLetters()) {
                return writeDeadLetters(changes);
            }
            write(changes);
            return List.of();
        }

        /** Every change of a dead-letter writer to {@code <table>__dlq}, keyed by its hash so a replay writes it once. */
        private List<Refused> writeDeadLetters(List<Change> changes) throws Exception {
            CqlSession s = session();
            if (deadLetterInsert == null) {
                String table = quote(target.keyspace()) + "." + quote(target.table() + "__dlq");
                s.execute(SimpleStatement.newInstance("CREATE TABLE IF NOT EXISTS " + table + " (id text PRIMARY KEY, "
                        + "failed_at timestamp, reason text, row_json text)").setTimeout(SCHEMA_TIMEOUT));
                deadLetterInsert = s.prepare("INSERT INTO " + table + " (id, failed_at, reason, row_json) VALUES (?, ?, ?, ?)");
            }
            PreparedStatement insert = deadLetterInsert;
            java.time.Instant now = java.time.Instant.now();
            List<Refused> refused = new ArrayList<>();
            for (Change change : changes) {
                String json = changeJson(change);
                s.execute(insert.bind(deadLetterId(json), now, shape.deadLetterReason(), json).setConsistencyLevel(consistency)
                        .setIdempotent(true));
                refused.add(new Refused(change, null, shape.deadLetterReason()));
            }
            return refused;
        }

        private void write(List<Change> changes) throws Exception {
            CqlSession s = session();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            try {
                for (Change change : changes) {
                    if (failure.get() != null) {
                        break; // the flush fails anyway: send no more
                    }
                    BoundStatement statement = (change.delete() ? delete : upsert).bind(change.values())
                            .setConsistencyLevel(consistency).setIdempotent(true);
                    inFlight.acquire();
                    try {
                        s.executeAsync(statement).whenComplete((result, error) -> {
                            if (error != null) {
                                failure.compareAndSet(null, error instanceof CompletionException c && c.getCause() != null
                                        ? c.getCause() : error);
                            }
                            inFlight.release();
                        });
                    } catch (RuntimeException e) {
                        inFlight.release();
                        throw e;
                    }
                }
            } finally {
                // every write sent is acknowledged or failed before the flush returns (or the next attempt starts)
                inFlight.acquireUninterruptibly(target.maxInFlight());
                inFlight.release(target.maxInFlight());
            }
            Throwable failed = failure.get();
            if (failed instanceof Exception e) {
                throw e;
            } else if (failed != null) {
                throw new IOException(failed);
            }
        }

        private CqlSession session() {
            if (session == null) {
                CqlSession s = connect(target);
                try {
                    if (!tableReady) {
                        s.execute(SimpleStatement.newInstance(createKeyspace(target)).setTimeout(SCHEMA_TIMEOUT));
                        if (!target.shape().deadLetters()) { // a dead-letter writer has no key: the sink's writer creates the table
                            s.execute(SimpleStatement.newInstance(createTable(target)).setTimeout(SCHEMA_TIMEOUT));
                        }
                        tableReady = true;
                    }
                    if (!target.shape().deadLetters()) {
                        upsert = s.prepare(upsert(target));
                        delete = s.prepare(delete(target));
                    }
                } catch (RuntimeException e) {
                    s.close();
                    throw e;
                }
                session = s;
            }
            return session;
        }

        @Override
        void closeStore() {
            if (session != null) {
                closeQuietly(session, "session");
                session = null;
                deadLetterInsert = null;
            }
        }
    }

    /** A session on the target's cluster: its contact points, local datacenter and login, if any. */
    static CqlSession connect(Target target) {
        ClassLoader classLoader = CassandraSink.class.getClassLoader();
        CqlSessionBuilder builder = CqlSession.builder()
                .withClassLoader(classLoader)
                .withConfigLoader(DriverConfigLoader.programmaticBuilder(classLoader)
                        .withString(DefaultDriverOption.SESSION_NAME, "sink-" + target.shape().sink())
                        .withDuration(DefaultDriverOption.REQUEST_TIMEOUT, Duration.ofSeconds(10))
                        .withDuration(DefaultDriverOption.CONNECTION_INIT_QUERY_TIMEOUT, Duration.ofSeconds(10))
                        .withDuration(DefaultDriverOption.CONTROL_CONNECTION_TIMEOUT, Duration.ofSeconds(10))
                        .withDuration(DefaultDriverOption.METADATA_SCHEMA_REQUEST_TIMEOUT, Duration.ofSeconds(10))
                        .withDuration(DefaultDriverOption.CONTROL_CONNECTION_AGREEMENT_TIMEOUT, SCHEMA_TIMEOUT)
                        // a writer closes its session when its job restarts: no grace period for the event loops
                        .withInt(DefaultDriverOption.NETTY_IO_SHUTDOWN_QUIET_PERIOD, 0)
                        .withInt(DefaultDriverOption.NETTY_ADMIN_SHUTDOWN_QUIET_PERIOD, 0)
                        .build())
                .withLocalDatacenter(target.localDatacenter());
        for (String point : target.contactPoints()) {
            int colon = point.lastIndexOf(':');
            String host = point.substring(0, colon).replaceAll("^\\[|\\]$", "");
            builder.addContactPoint(new InetSocketAddress(host, Integer.parseInt(point.substring(colon + 1))));
        }
        if (!target.user().isEmpty()) {
            builder.withAuthCredentials(target.user(), target.password());
        }
        return builder.build();
    }

    static String createKeyspace(Target target) {
        return "CREATE KEYSPACE IF NOT EXISTS " + quote(target.keyspace()) + " WITH replication = {'class': 'SimpleStrategy', "
                + "'replication_factor': " + target.replicationFactor() + "}";
    }

    /** The query's columns with the key as primary key: its partition key first, the other key columns clustering. */
    static String createTable(Target target) {
        SinkShape shape = target.shape();
        List<String> columns = new ArrayList<>();
        for (int i = 0; i < shape.columns().size(); i++) {
            columns.add(quote(shape.columns().get(i)) + " " + cqlType(shape.types().get(i)).orElseThrow(
                    () -> new IllegalArgumentException("no CQL type for a column of sink '" + shape.sink() + "'")));
        }
        List<String> clustering = shape.key().stream().filter(k -> !target.partitionKey().contains(k)).map(CassandraSink::quote)
                .toList();
        String primaryKey = "(" + target.partitionKey().stream().map(CassandraSink::quote).collect(Collectors.joining(", ")) + ")"
                + (clustering.isEmpty() ? "" : ", " + String.join(", ", clustering));
        return "CREATE TABLE IF NOT EXISTS " + target.qualifiedTable() + " (" + String.join(", ", columns) + ", PRIMARY KEY ("
                + primaryKey + "))";
    }

    static String upsert(Target target) {
        List<String> columns = target.shape().columns();
        return "INSERT INTO " + target.qualifiedTable() + " (" + columns.stream().map(CassandraSink::quote)
                .collect(Collectors.joining(", ")) + ") VALUES (" + String.join(", ", java.util.Collections.nCopies(columns.size(), "?"))
                + ")" + (target.ttlSeconds() > 0 ? " USING TTL " + target.ttlSeconds() : "");
    }

    static String delete(Target target) {
        return "DELETE FROM " + target.qualifiedTable() + " WHERE " + target.shape().key().stream().map(k -> quote(k) + " = ?")
                .collect(Collectors.joining(" AND "));
    }

    /** A name as written (CQL folds unquoted names to lower case). */
    static String quote(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }

    /** The CQL type a column of that Flink type is created with; empty: the sink cannot write it. */
    static Optional<String> cqlType(LogicalType type) {
        return Optional.ofNullable(switch (type.getTypeRoot()) {
            case CHAR, VARCHAR -> "text";
            case BOOLEAN -> "boolean";
            case TINYINT -> "tinyint";
            case SMALLINT -> "smallint";
            case INTEGER -> "int";
            case BIGINT -> "bigint";
            case FLOAT -> "float";
            case DOUBLE -> "double";
            case DECIMAL -> "decimal";
            case DATE -> "date";
            case TIME_WITHOUT_TIME_ZONE -> "time";
            case TIMESTAMP_WITHOUT_TIME_ZONE, TIMESTAMP_WITH_LOCAL_TIME_ZONE -> "timestamp";
            case BINARY, VARBINARY -> "blob";
            default -> null;
        });
    }

    /** A Flink value as the driver's codecs take it; a timestamp without time zone is read as UTC. */
    static Object cqlValue(Object value, LogicalType type) {
        return switch (type.getTypeRoot()) {
            case CHAR, VARCHAR -> ((StringData) value).toString();
            case DECIMAL -> ((DecimalData) value).toBigDecimal();
            case DATE -> LocalDate.ofEpochDay((Integer) value);
            case TIME_WITHOUT_TIME_ZONE -> LocalTime.ofNanoOfDay((Integer) value * 1_000_000L);
            case TIMESTAMP_WITHOUT_TIME_ZONE -> ((TimestampData) value).toLocalDateTime().toInstant(ZoneOffset.UTC);
            case TIMESTAMP_WITH_LOCAL_TIME_ZONE -> ((TimestampData) value).toInstant();
            case BINARY, VARBINARY -> ByteBuffer.wrap((byte[]) value);
            default -> value;
        };
    }
}
