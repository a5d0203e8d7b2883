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
import java.util.List;
import java.util.Properties;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.table.data.DecimalData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.types.logical.LogicalType;

/**
 * Writes a pipeline's rows to a database table over JDBC ({@code INSERT INTO sinks.<name>}), buffered as every sink's
 * writer is ({@link BufferedSinkWriter}). Each flush is one transaction: with a key, upserts in the database's syntax
 * and {@code DELETE}s by the key; without one, plain {@code INSERT}s. A failed transaction is tried again on a new
 * connection.
 *
 * <p>A row the database refuses for its data (SQLSTATE class 22 or 23: a value too long, a {@code NULL} in a
 * {@code NOT NULL} column, a {@code CHECK} or foreign key that fails) is a dead letter: the batch is written again row by
 * row, each behind a savepoint, and each refused row goes with the database's reason to {@code <table>__dlq} beside the
 * table, in the same transaction as the rows that were taken. That table is keyed by a hash of the refused change, so a
 * replay does not write a dead letter twice.
 */
final class JdbcSink implements Sink<RowData> {
    private static final long serialVersionUID = 1L;

    /**
     * The table and how to reach it.
     *
     * @param shownUrl the URL without its query string, for messages
     */
    record Target(SinkShape shape, String url, String shownUrl, String user, String password, String table)
            implements java.io.Serializable {
        @Override
        public String toString() {
            return "JdbcSink.Target[sink=" + shape.sink() + ", url=" + shownUrl + ", table=" + table + ", key=" + shape.key() + "]";
        }
    }

    /** The table beside a sink's table that keeps the rows the database refused: {@code <table>__dlq}. */
    static final String DEAD_LETTER_SUFFIX = "__dlq";
    /** Its columns: the hash of the refused change (its key), when, the SQLSTATE, why, and the change as JSON. */
    static final List<String> DEAD_LETTER_COLUMNS = List.of("id", "failed_at", "sql_state", "reason", "row_json");
    private static final List<LogicalType> DEAD_LETTER_TYPES = List.of(new org.apache.flink.table.types.logical.VarCharType(false, 64),
            new org.apache.flink.table.types.logical.LocalZonedTimestampType(false, 3),
            new org.apache.flink.table.types.logical.VarCharType(true, 5),
            new org.apache.flink.table.types.logical.VarCharType(false, org.apache.flink.table.types.logical.VarCharType.MAX_LENGTH),
            new org.apache.flink.table.types.logical.VarCharType(false, org.apache.flink.table.types.logical.VarCharType.MAX_LENGTH));

    private final Target target;

    JdbcSink(Target target) {
        this.target = target;
    }

    @Override
    public SinkWriter<RowData> createWriter(WriterInitContext context) throws IOException {
        return new Writer(target, context);
    }

    static final class Writer extends BufferedSinkWriter {
        private final Target target;
        private final JdbcDialect dialect;
        private Connection connection;
        private boolean tableReady;
        /** Whether {@code <table>__dlq} exists for this connection: reset when a transaction that may have created it rolls back. */
        private boolean deadLetterTableReady;

        Writer(Target target, WriterInitContext context) {
            super(target.shape(), context);
            this.target = target;
            this.dialect = JdbcDialect.of(target.url());
        }

        @Override
        Object value(Object value, LogicalType type) {
            return jdbcValue(value, type, dialect);
        }

        @Override
        String destination() {
            return "table " + target.table() + " at " + target.shownUrl();
        }

        @Override
        List<Refused> writeChanges(List<Change> changes) throws SQLException {
            if (shape.deadLetters()) {
                return writeRowByRow(changes);
            }
            try {
                writeTransaction(changes);
                return List.of();
            } catch (SQLException e) {
                if (!refusesData(e)) {
                    throw e;
                }
                return writeRowByRow(changes);
            }
        }

        private void writeTransaction(List<Change> changes) throws SQLException {
            Connection c = connection();
            List<Change> upserts = new ArrayList<>();
            List<Change> deletes = new ArrayList<>();
            changes.forEach(change -> (change.delete() ? deletes : upserts).add(change));
            try {
                if (!upserts.isEmpty()) {
                    execute(c, upsertSql(), upserts);
                }
                if (!deletes.isEmpty()) {
                    execute(c, dialect.delete(target.table(), shape.key()), deletes);
                }
                c.commit();
            } catch (SQLException e) {
                rollback(c);
                throw e;
            }
        }

        /** Inserts a row, or with a key, upserts it in the database's syntax. */
        private String upsertSql() {
            return shape.key().isEmpty() ? dialect.insert(target.table(), shape.columns())
                    : dialect.upsert(target.table(), shape.columns(), shape.key());
        }

        private static void rollback(Connection c) {
            try {
                c.rollback();
            } catch (SQLException ignored) {
                // the connection is dropped; the database rolls back what it did not commit
            }
        }

        /**
         * Writes the changes one at a time, each behind a savepoint, and the ones the database refuses for their data (all
         * of them, for a dead-letter writer) to {@code <table>__dlq}, all in one transaction.
         */
        private List<Refused> writeRowByRow(List<Change> changes) throws SQLException {
            Connection c = connection();
            String upsert = upsertSql();
            String delete = shape.key().isEmpty() ? null : dialect.delete(target.table(), shape.key());
            List<Refused> refused = new ArrayList<>();
            try {
                for (Change change : changes) {
                    if (shape.deadLetters()) {
                        refused.add(new Refused(change, null, shape.deadLetterReason()));
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
                        refused.add(new Refused(change, e.getSQLState(), reason(e)));
                    }
                }
                if (!refused.isEmpty()) {
                    writeDeadLetters(c, refused);
                }
                c.commit();
            } catch (SQLException e) {
                rollback(c);
                deadLetterTableReady = false; // PostgreSQL rolls a CREATE TABLE back with the rest
                throw e;
            }
            return refused;
        }

        private void writeDeadLetters(Connection c, List<Refused> refused) throws SQLException {
            String table = target.table() + DEAD_LETTER_SUFFIX;
            if (!deadLetterTableReady) {
                try (java.sql.Statement create = c.createStatement()) {
                    create.execute(dialect.createTable(table, DEAD_LETTER_COLUMNS, DEAD_LETTER_TYPES, List.of("id")));
                }
                deadLetterTableReady = true;
            }
            Object failedAt = jdbcValue(TimestampData.fromInstant(java.time.Instant.now()), DEAD_LETTER_TYPES.get(1), dialect);
            try (PreparedStatement statement = c.prepareStatement(dialect.upsert(table, DEAD_LETTER_COLUMNS, List.of("id")))) {
                for (Refused letter : refused) {
                    String json = changeJson(letter.change());
                    Object[] values = {deadLetterId(json), failedAt, letter.code(), letter.reason(), json};
                    for (int i = 0; i < values.length; i++) {
                        statement.setObject(i + 1, values[i]);
                    }
                    statement.addBatch();
                }
                statement.executeBatch();
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
                    if (!tableReady && !shape.deadLetters()) { // a dead-letter writer has no key: the sink's writer creates the table
                        try (java.sql.Statement create = c.createStatement()) {
                            create.execute(dialect.createTable(target.table(), shape.columns(), shape.types(), shape.key()));
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

        @Override
        void closeStore() {
            if (connection != null) {
                closeQuietly(connection, "connection");
                connection = null;
                deadLetterTableReady = false;
            }
        }
    }

    /** Whether the database refused the data of a row (SQLSTATE class 22 or 23), rather than the connection or the statement. */
    static boolean refusesData(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql) {
                for (SQLException s = sql; s != null; s = s.getNextException()) {
                    if (dataState(s)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    private static boolean dataState(SQLException e) {
        return e.getSQLState() != null && (e.getSQLState().startsWith("22") || e.getSQLState().startsWith("23"));
    }

    /**
     * The database's own words for the refusal: the last message of its chain that carries a class 22 or 23 state (a
     * batch's exception wraps the server's error as its next one).
     */
    static String reason(SQLException e) {
        String reason = e.getMessage();
        for (SQLException s = e; s != null; s = s.getNextException()) {
            if (dataState(s)) {
                reason = s.getMessage();
            }
        }
        return reason;
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
