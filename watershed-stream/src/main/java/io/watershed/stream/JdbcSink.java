package io.watershed.stream;

import java.io.IOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ScheduledFuture;
import org.apache.flink.api.common.operators.ProcessingTimeService;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.table.data.DecimalData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.types.RowKind;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a pipeline's rows to a database table over JDBC ({@code INSERT INTO sinks.<name>}).
 *
 * <p>Each writer buffers rows and writes them in one transaction when it has {@code batchSize} of them, when the oldest
 * has waited {@code flushInterval}, at every checkpoint barrier and at the end of input. A full buffer is written before
 * the next row is taken, so a slow database holds the pipeline back rather than growing the buffer. With a key, the
 * buffer keeps the last change of each key: an insert or update becomes an upsert, a delete or retraction a {@code DELETE}
 * by the key.
 * A crash replays the rows since the last checkpoint, whose upserts and deletes leave the table as it was meant to be:
 * the effect is exactly once. Without a key rows are inserted, and a replay inserts them again (at least once).
 *
 * <p>A row the database refuses for its data (SQLSTATE class 22 or 23: a value too long, a {@code NULL} in a
 * {@code NOT NULL} column, a {@code CHECK} or foreign key that fails) is a dead letter: the batch is written again row by
 * row, each behind a savepoint, and each refused row goes with the database's reason to {@code <table>__dlq} beside
 * the table, in the same transaction as the rows that were taken. That table is keyed by a hash of the refused change,
 * so a replay does not write a dead letter twice; dead letters are counted ({@link SinkStatistics}) and the pipeline
 * goes on. Any other failed write is tried again on a new connection; when it keeps failing the job fails and the
 * pipeline is restarted from its last checkpoint, with nothing acknowledged that is not in the table.
 */
final class JdbcSink implements Sink<RowData> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(JdbcSink.class);
    private static final int ATTEMPTS = 3;

    /**
     * The table and how to reach it.
     *
     * @param sink the sink's name, for messages
     * @param shownUrl the URL without its query string, for messages
     * @param countedAs the key its writes are counted under ({@link SinkStatistics})
     * @param deadLetterReason when not empty, every change goes to the dead letters with this reason (rows with a NULL key)
     */
    record Target(String sink, String countedAs, String url, String shownUrl, String user, String password, String table, List<String> columns,
            List<LogicalType> types, List<String> key, int batchSize, long flushIntervalMillis, String deadLetterReason)
            implements java.io.Serializable {
        Target {
            columns = List.copyOf(columns);
            types = List.copyOf(types);
            key = List.copyOf(key);
        }

        @Override
        public String toString() {
            return "JdbcSink.Target[sink=" + sink + ", url=" + shownUrl + ", table=" + table + ", key=" + key + "]";
        }
    }

    private final Target target;

    JdbcSink(Target target) {
        this.target = target;
    }

    @Override
    public SinkWriter<RowData> createWriter(WriterInitContext context) throws IOException {
        return new Writer(target, context.getProcessingTimeService(), context.metricGroup().getNumRecordsSendCounter(),
                context.metricGroup().getNumRecordsSendErrorsCounter(), SinkStatistics.of(target.countedAs()));
    }

    /** One change as the database gets it: the row's values for an upsert or insert, the key's values for a delete. */
    private record Change(boolean delete, Object[] values) {}

    /** The columns of {@code <table>__dlq}: the hash of the refused change (its key), when, the SQLSTATE, why, the row as JSON. */
    static final List<String> DEAD_LETTER_COLUMNS = List.of("id", "failed_at", "sql_state", "reason", "row_json");
    private static final List<LogicalType> DEAD_LETTER_TYPES = List.of(new org.apache.flink.table.types.logical.VarCharType(false, 64),
            new org.apache.flink.table.types.logical.LocalZonedTimestampType(false, 3),
            new org.apache.flink.table.types.logical.VarCharType(true, 5),
            new org.apache.flink.table.types.logical.VarCharType(false, org.apache.flink.table.types.logical.VarCharType.MAX_LENGTH),
            new org.apache.flink.table.types.logical.VarCharType(false, org.apache.flink.table.types.logical.VarCharType.MAX_LENGTH));
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    /** Whether the database refused the data of a row (SQLSTATE class 22 or 23), rather than the connection or the statement. */
    static boolean refusesData(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql) {
                for (SQLException s = sql; s != null; s = s.getNextException()) {
                    String state = s.getSQLState();
                    if (state != null && (state.startsWith("22") || state.startsWith("23"))) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    static final class Writer implements SinkWriter<RowData> {
        private final Target target;
        private final JdbcDialect dialect;
        private final RowData.FieldGetter[] getters;
        private final int[] keyFields;
        private final ProcessingTimeService time;
        private final Counter written;
        private final Counter errors;
        private final SinkStatistics statistics;
        /** Keyed: the last change per key; appending: every row in order (keyed by its arrival). */
        private final Map<Object, Change> pending = new LinkedHashMap<>();
        private long appended;
        private ScheduledFuture<?> timer;
        private Connection connection;
        private boolean tableReady;

        Writer(Target target, ProcessingTimeService time, Counter written, Counter errors, SinkStatistics statistics) {
            this.target = target;
            this.dialect = JdbcDialect.of(target.url());
            this.time = time;
            this.written = written;
            this.errors = errors;
            this.statistics = statistics;
            this.getters = new RowData.FieldGetter[target.types().size()];
            for (int i = 0; i < getters.length; i++) {
                getters[i] = RowData.createFieldGetter(target.types().get(i), i);
            }
            this.keyFields = target.key().stream().mapToInt(target.columns()::indexOf).toArray();
        }

        @Override
        public void write(RowData row, Context context) throws IOException, InterruptedException {
            Object[] values = new Object[getters.length];
            for (int i = 0; i < values.length; i++) {
                values[i] = jdbcValue(getters[i].getFieldOrNull(row), target.types().get(i), dialect);
            }
            int before = pending.size();
            if (!target.deadLetterReason().isEmpty()) {
                boolean retract = row.getRowKind() == RowKind.DELETE || row.getRowKind() == RowKind.UPDATE_BEFORE;
                pending.put(appended++, new Change(retract, values));
            } else if (keyFields.length == 0) {
                pending.put(appended++, new Change(false, values));
            } else {
                Object[] key = new Object[keyFields.length];
                for (int i = 0; i < key.length; i++) {
                    key[i] = values[keyFields[i]];
                }
                // arrays compare by identity: a binary key is held by its bytes' value, so its changes merge too
                Object[] comparable = key.clone();
                for (int i = 0; i < comparable.length; i++) {
                    if (comparable[i] instanceof byte[] bytes) {
                        comparable[i] = java.nio.ByteBuffer.wrap(bytes);
                    }
                }
                List<Object> keyValue = java.util.Arrays.asList(comparable);
                // an UPDATE_BEFORE whose UPDATE_AFTER does not follow (a filter over an updating query dropped it) retracts
                // the row: it is a delete, which the UPDATE_AFTER, if it comes, replaces as the key's last change
                boolean retract = row.getRowKind() == RowKind.DELETE || row.getRowKind() == RowKind.UPDATE_BEFORE;
                pending.put(keyValue, retract ? new Change(true, key) : new Change(false, values));
            }
            statistics.buffered(pending.size() - before);
            if (pending.size() >= target.batchSize()) {
                writePending();
            } else if (timer == null) {
                timer = time.registerTimer(time.getCurrentProcessingTime() + target.flushIntervalMillis(), now -> {
                    timer = null;
                    writePending();
                });
            }
        }

        @Override
        public void flush(boolean endOfInput) throws IOException, InterruptedException {
            writePending();
        }

        private void writePending() throws IOException, InterruptedException {
            if (pending.isEmpty()) {
                return;
            }
            SQLException last = null;
            for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
                long start = System.nanoTime();
                try {
                    if (!target.deadLetterReason().isEmpty()) {
                        writeRowByRow(start);
                        return;
                    }
                    writeTransaction();
                    written.inc(pending.size());
                    statistics.written(pending.size(), System.nanoTime() - start);
                    pending.clear();
                    return;
                } catch (SQLException e) {
                    if (refusesData(e)) {
                        try {
                            writeRowByRow(start);
                            return;
                        } catch (SQLException again) {
                            e = again; // the database or the connection failed meanwhile: tried again as any failed write
                        }
                    }
                    last = e;
                    errors.inc();
                    statistics.failed(e.getMessage());
                    closeConnection();
                    LOG.warn("Sink '{}' could not write {} rows to {} at {} (attempt {} of {}): {}", target.sink(), pending.size(),
                            target.table(), target.shownUrl(), attempt, ATTEMPTS, e.getMessage());
                    if (attempt < ATTEMPTS) {
                        Thread.sleep(500L * attempt);
                    }
                }
            }
            throw new IOException("Cannot write " + pending.size() + " rows to table " + target.table() + " of sink '"
                    + target.sink() + "' (" + target.shownUrl() + "): " + last.getMessage()
                    + "; the pipeline restarts from its last checkpoint", last);
        }

        private void writeTransaction() throws SQLException {
            Connection c = connection();
            List<Change> upserts = new ArrayList<>();
            List<Change> deletes = new ArrayList<>();
            pending.values().forEach(change -> (change.delete() ? deletes : upserts).add(change));
            try {
                if (!upserts.isEmpty()) {
                    String sql = keyFields.length == 0 ? dialect.insert(target.table(), target.columns())
                            : dialect.upsert(target.table(), target.columns(), target.key());
                    execute(c, sql, upserts);
                }
                if (!deletes.isEmpty()) {
                    execute(c, dialect.delete(target.table(), target.key()), deletes);
                }
                c.commit();
            } catch (SQLException e) {
                try {
                    c.rollback();
                } catch (SQLException ignored) {
                    // the connection is dropped; the database rolls back what it did not commit
                }
                throw e;
            }
        }

        /**
         * Writes the pending changes one at a time, each behind a savepoint, and the ones the database refuses for their
         * data to {@code <table>__dlq}, all in one transaction.
         */
        private void writeRowByRow(long start) throws SQLException {
            Connection c = connection();
            String upsert = keyFields.length == 0 ? dialect.insert(target.table(), target.columns())
                    : dialect.upsert(target.table(), target.columns(), target.key());
            String delete = keyFields.length == 0 ? null : dialect.delete(target.table(), target.key());
            List<Change> refused = new ArrayList<>();
            List<Object[]> letters = new ArrayList<>();
            Object failedAt = jdbcValue(TimestampData.fromInstant(java.time.Instant.now()), DEAD_LETTER_TYPES.get(1), dialect);
            try {
                for (Change change : pending.values()) {
                    if (!target.deadLetterReason().isEmpty()) {
                        refused.add(change);
                        String json = changeJson(change);
                        letters.add(new Object[] {sha256(json), failedAt, null, target.deadLetterReason(), json});
                        continue;
                    }
                    java.sql.Savepoint savepoint = c.setSavepoint();
                    try {
                        execute(c, change.delete() ? delete : upsert, List.of(change));
                        c.releaseSavepoint(savepoint);
                    } catch (SQLException e) {
                        if (!refusesData(e)) {
                            throw e;
                        }
                        c.rollback(savepoint);
                        refused.add(change);
                        String json = changeJson(change);
                        letters.add(new Object[] {sha256(json), failedAt, e.getSQLState(), reason(e), json});
                    }
                }
                if (!letters.isEmpty()) {
                    String table = target.table() + "__dlq";
                    try (java.sql.Statement create = c.createStatement()) {
                        create.execute(dialect.createTable(table, DEAD_LETTER_COLUMNS, DEAD_LETTER_TYPES, List.of("id")));
                    }
                    try (PreparedStatement statement = c.prepareStatement(dialect.upsert(table, DEAD_LETTER_COLUMNS, List.of("id")))) {
                        for (Object[] letter : letters) {
                            for (int i = 0; i < letter.length; i++) {
                                statement.setObject(i + 1, letter[i]);
                            }
                            statement.addBatch();
                        }
                        statement.executeBatch();
                    }
                }
                c.commit();
            } catch (SQLException e) {
                try {
                    c.rollback();
                } catch (SQLException ignored) {
                    // the connection is dropped; the database rolls back what it did not commit
                }
                throw e;
            }
            int taken = pending.size() - refused.size();
            written.inc(taken);
            statistics.written(taken, System.nanoTime() - start);
            if (!refused.isEmpty()) {
                String reason = (String) letters.get(letters.size() - 1)[3];
                statistics.deadLettered(refused.size(), reason);
                LOG.warn("Sink '{}': {} of {} rows refused by {} at {}, kept in {}__dlq; the last reason: {}", target.sink(),
                        refused.size(), pending.size(), target.table(), target.shownUrl(), target.table(), reason);
            }
            pending.clear();
        }

        /** The refused change as JSON: its columns' values (only the key's for a delete) and whether it deletes. */
        private String changeJson(Change change) {
            Map<String, Object> row = new LinkedHashMap<>();
            boolean keyOnly = change.delete() && target.deadLetterReason().isEmpty();
            List<String> names = keyOnly ? target.key() : target.columns();
            for (int i = 0; i < names.size(); i++) {
                Object value = change.values()[i];
                row.put(names.get(i), value == null || value instanceof Number || value instanceof Boolean ? value
                        : value instanceof byte[] bytes ? java.util.Base64.getEncoder().encodeToString(bytes) : value.toString());
            }
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("op", change.delete() ? "delete" : keyFields.length == 0 && target.deadLetterReason().isEmpty() ? "insert" : "upsert");
            out.put("row", row);
            try {
                return JSON.writeValueAsString(out);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }

        /**
         * The database's own words for the refusal: the last message of its chain that carries a class 22 or 23 state (a
         * batch's exception wraps the server's error as its next one).
         */
        private static String reason(SQLException e) {
            String reason = e.getMessage();
            for (SQLException s = e; s != null; s = s.getNextException()) {
                if (s.getSQLState() != null && (s.getSQLState().startsWith("22") || s.getSQLState().startsWith("23"))) {
                    reason = s.getMessage();
                }
            }
            return reason;
        }

        private static String sha256(String text) {
            try {
                return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                        .digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        private static void execute(Connection c, String sql, List<Change> changes) throws SQLException {
            try (PreparedStatement statement = c.prepareStatement(sql)) {
                for (Change change : changes) {
                    for (int i = 0; i < change.values().length; i++) {
                        statement.setObject(i + 1, change.values()[i]);
                    }
                    statement.addBatch();
                }
                statement.executeBatch();
            }
        }

        private Connection connection() throws SQLException {
            if (connection == null) {
                Properties properties = new Properties();
                properties.setProperty("user", target.user());
                properties.setProperty("password", target.password());
                // MariaDB Connector/J speaks to MySQL too, and takes only its own scheme
                String url = target.url().startsWith("jdbc:mysql:") ? "jdbc:mariadb:" + target.url().substring("jdbc:mysql:".length())
                        : target.url();
                Connection c = DriverManager.getConnection(url, properties);
                try {
                    c.setAutoCommit(false);
                    if (!tableReady) {
                        try (java.sql.Statement create = c.createStatement()) {
                            create.execute(dialect.createTable(target.table(), target.columns(), target.types(), target.key()));
                            c.commit();
                        } catch (SQLException e) {
                            c.rollback();
                            // another writer of the sink created it at the same moment (PostgreSQL reports a duplicate type)
                            if (!tableExists(c)) {
                                throw e;
                            }
                        }
                        tableReady = true;
                    }
                } catch (SQLException e) {
                    c.close();
                    throw e;
                }
                connection = c;
            }
            return connection;
        }

        private boolean tableExists(Connection c) throws SQLException {
            try (java.sql.Statement probe = c.createStatement()) {
                probe.executeQuery("SELECT * FROM " + dialect.table(target.table()) + " WHERE 1 = 0").close();
                return true;
            } catch (SQLException e) {
                return false;
            } finally {
                c.rollback();
            }
        }

        private void closeConnection() {
            if (connection != null) {
                try {
                    connection.close();
                } catch (SQLException e) {
                    LOG.debug("Closing the connection of sink '{}' failed", target.sink(), e);
                }
                connection = null;
            }
        }

        @Override
        public void close() {
            if (timer != null) {
                timer.cancel(false);
            }
            closeConnection(); // rows not yet flushed are in no checkpoint: the restarted job writes them again
            statistics.buffered(-pending.size());
            pending.clear();
        }
    }

    /** A Flink value as the JDBC drivers take it. */
    static Object jdbcValue(Object value, LogicalType type, JdbcDialect dialect) {
        if (value == null) {
            return null;
        }
        return switch (type.getTypeRoot()) {
            case CHAR, VARCHAR -> ((StringData) value).toString();
            case DECIMAL -> ((DecimalData) value).toBigDecimal();
            case DATE -> LocalDate.ofEpochDay((Integer) value);
            case TIME_WITHOUT_TIME_ZONE -> LocalTime.ofNanoOfDay((Integer) value * 1_000_000L);
            case TIMESTAMP_WITHOUT_TIME_ZONE -> ((TimestampData) value).toLocalDateTime();
            // an instant: PostgreSQL's timestamptz takes it with its offset; a MySQL datetime holds it as UTC
            case TIMESTAMP_WITH_LOCAL_TIME_ZONE -> dialect == JdbcDialect.POSTGRESQL
                    ? ((TimestampData) value).toInstant().atOffset(ZoneOffset.UTC)
                    : ((TimestampData) value).toInstant().atOffset(ZoneOffset.UTC).toLocalDateTime();
            default -> value;
        };
    }
}
