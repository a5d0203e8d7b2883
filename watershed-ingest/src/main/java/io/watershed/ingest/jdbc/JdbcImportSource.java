package io.watershed.ingest.jdbc;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import io.micrometer.core.instrument.Gauge;
import io.watershed.ingest.Source;
import io.watershed.ingest.SourcePublisher;
import io.watershed.spi.EventBus;
import io.watershed.spi.SourceSpec;
import io.watershed.spi.SourceStatus;
import io.watershed.spi.StreamSpec;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Imports a database table into a stream on a schedule, like Sqoop: PostgreSQL, MySQL and MariaDB over JDBC.
 *
 * <ul>
 *   <li><b>incremental</b>: each run reads the rows whose {@code column} is past the largest value published before
 *       ({@code --incremental append}/{@code lastmodified}), in batches cut between distinct column values. A batch
 *       is published under the id {@code import:<source>:<last>:<upper>}, and the watermark is saved after the bus
 *       acknowledged it, so a run interrupted anywhere (also by kill -9) resumes where the last batch ended and
 *       publishes nothing twice.</li>
 *   <li><b>full</b>: each run reads the whole table; every row carries {@code import_run}. With a stream {@code key},
 *       the keys the last complete run published but this one did not are published as deletes, so
 *       {@code state.<stream>} equals the table after each run.</li>
 * </ul>
 * A run that was due while the platform was down runs at the start (the latest only).
 *
 * <p>This class schedules the runs and reads the rows; {@link RowEvents} turns rows into events, {@link WatermarkValues}
 * keeps the watermark's type between the database and {@link ImportState}.
 */
public final class JdbcImportSource implements Source {
    private static final Logger LOG = LoggerFactory.getLogger(JdbcImportSource.class);
    private static final CronParser CRON = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));

    private final String name;
    private final StreamSpec stream;
    private final SourceSpec.Jdbc spec;
    private final SourcePublisher publisher;
    private final ImportState state;
    private final RowEvents rowEvents;
    private final ExecutionTime schedule;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final Thread thread;
    private volatile boolean running = true;
    private volatile Run status;
    private final Object wake = new Object();
    private boolean runRequested;
    /** Whether this instance runs the import now (it holds its lease); another instance of the project may instead. */
    private volatile java.util.function.BooleanSupplier here = () -> true;

    /** The source's last run and the next, as {@link #status()} reports them. */
    private record Run(String name, String stream, String table, String mode, String watermark, String lastRunAt,
            long lastRunRows, String nextRunAt, boolean running, String lastError) {}

    public JdbcImportSource(String name, StreamSpec stream, SourceSpec.Jdbc spec, SourcePublisher publisher,
            io.watershed.spi.StateDatabase database) {
        this.name = name;
        this.stream = stream;
        this.spec = spec;
        this.publisher = publisher;
        this.state = new ImportState(database);
        this.rowEvents = new RowEvents(stream.key());
        this.schedule = ExecutionTime.forCron(CRON.parse(spec.schedule()));
        this.status = new Run(name, stream.name(), what(), spec.mode().name().toLowerCase(), state.watermark(name).orElse(null),
                state.lastRun(name).map(Instant::toString).orElse(null), 0, null, false, null);
        Gauge.builder("watershed.source.import.watermark.age.seconds", this, s -> s.watermarkAge())
                .tag("source", name).tag("stream", stream.name())
                .description("Seconds since the last successful import run of a jdbc source").register(publisher.meters());
        thread = new Thread(this::loop, "watershed-import-" + name);
        thread.setDaemon(true);
    }

    @Override
    public void start() {
        thread.start();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public SourceStatus.Jdbc status() {
        Run s = status;
        return new SourceStatus.Jdbc(s.name(), s.stream(), s.table(), spec.user(), spec.password(), s.mode(), s.watermark(),
                s.lastRunAt(), s.lastRunRows(), s.nextRunAt(), s.running(), s.lastError());
    }

    /**
     * Runs the import only while {@code here} holds (this instance holds its lease), looking again when
     * {@link #wakeUp woken}; call before {@link #start}.
     */
    public void runOnlyWhile(java.util.function.BooleanSupplier here) {
        this.here = here;
    }

    /** Looks again whether a run is due (this instance took the import over). */
    public void wakeUp() {
        synchronized (wake) {
            wake.notifyAll();
        }
    }

    /** Runs the import now (as soon as the current run, if any, ends). */
    public void runNow() {
        synchronized (wake) {
            runRequested = true;
            wake.notifyAll();
        }
    }

    private double watermarkAge() {
        return state.lastRun(name).map(t -> (System.currentTimeMillis() - t.toEpochMilli()) / 1000.0).orElse(-1.0);
    }

    private String what() {
        return spec.table().orElse("(query)");
    }

    private void loop() {
        try {
            while (running) {
                ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC);
                Optional<ZonedDateTime> previous = schedule.lastExecution(now);
                Optional<Instant> lastRun = state.lastRun(name);
                boolean due = lastRun.isEmpty() || (previous.isPresent() && lastRun.get().isBefore(previous.get().toInstant()));
                synchronized (wake) {
                    due |= runRequested;
                    runRequested = false;
                }
                if (due && here.getAsBoolean()) { // the watermark is shared: one instance imports
                    runOnce();
                }
                Optional<ZonedDateTime> next = schedule.nextExecution(ZonedDateTime.now(ZoneOffset.UTC));
                status = withNext(next.map(n -> n.toInstant().toString()).orElse(null));
                long waitMillis = next.map(n -> Math.max(100, n.toInstant().toEpochMilli() - System.currentTimeMillis()))
                        .orElse(60_000L);
                synchronized (wake) {
                    if (!runRequested && running) {
                        wake.wait(Math.min(waitMillis, 60_000L));
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            stopped.countDown();
        }
    }

    private Run withNext(String next) {
        Run s = status;
        return new Run(s.name(), s.stream(), s.table(), s.mode(), s.watermark(), s.lastRunAt(), s.lastRunRows(), next,
                s.running(), s.lastError());
    }

    private void runOnce() {
        Instant started = Instant.now();
        Run s = status;
        status = new Run(s.name(), s.stream(), s.table(), s.mode(), s.watermark(), s.lastRunAt(), s.lastRunRows(), s.nextRunAt(),
                true, s.lastError());
        long rows = 0;
        String error = null;
        try (Connection connection = connect()) {
            rows = spec.mode() == SourceSpec.ImportMode.INCREMENTAL ? incremental(connection) : full(connection, started);
            state.finished(name, started);
            LOG.info("Import {}: {} row(s) from {} into stream {} in {} ms", name, rows, what(), stream.name(),
                    java.time.Duration.between(started, Instant.now()).toMillis());
        } catch (SQLException e) {
            error = "the database refused: " + e.getMessage() + " (SQLState " + e.getSQLState() + ")";
            publisher.error(name, stream.name(), "database");
            LOG.warn("Import {} failed, retried at the next run: {}", name, error);
        } catch (RuntimeException e) {
            error = e.getMessage();
            publisher.error(name, stream.name(), "import");
            LOG.warn("Import {} failed, retried at the next run: {}", name, e.toString());
        }
        status = new Run(name, stream.name(), what(), spec.mode().name().toLowerCase(), state.watermark(name).orElse(null),
                state.lastRun(name).map(Instant::toString).orElse(null), rows, s.nextRunAt(), false, error);
    }

    private Connection connect() throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", spec.user());
        p.setProperty("password", spec.password().reveal());
        String url = spec.url();
        if (url.startsWith("jdbc:mysql:")) {
            url = "jdbc:mariadb:" + url.substring("jdbc:mysql:".length()); // MariaDB Connector/J speaks to MySQL too
        }
        Connection connection = DriverManager.getConnection(url, p);
        connection.setReadOnly(true);
        connection.setAutoCommit(false); // PostgreSQL streams a result set with a fetch size only inside a transaction
        return connection;
    }

    private String from() {
        return spec.table().map(JdbcImportSource::quoteQualified).orElseGet(() -> "(" + spec.query().orElseThrow() + ") watershed_import");
    }

    private static String quoteQualified(String name) {
        StringBuilder out = new StringBuilder();
        for (String part : name.split("\\.")) {
            if (!out.isEmpty()) {
                out.append('.');
            }
            out.append(part); // validated as identifiers when loaded: letters, digits, _ and $
        }
        return out.toString();
    }

    // ---- incremental

    private long incremental(Connection connection) throws SQLException {
        String column = spec.column().orElseThrow();
        long total = 0;
        while (running) {
            Optional<String> last = state.watermark(name);
            Optional<Object> lastValue = Optional.empty();
            String after = "";
            if (last.isPresent()) {
                lastValue = Optional.of(WatermarkValues.typed(last.get(), state.watermarkType(name).orElse("string")));
                after = " AND " + column + " > ?";
            }
            // the upper bound of this batch: the column value of its last row; rows of equal value are never split
            Object upper;
            try (PreparedStatement bound = connection.prepareStatement("SELECT " + column + " FROM " + from() + " WHERE " + column
                    + " IS NOT NULL" + after + " ORDER BY " + column + " LIMIT 1 OFFSET " + (spec.batchRows() - 1))) {
                lastValue.ifPresent(v -> WatermarkValues.set(bound, 1, v));
                try (ResultSet r = bound.executeQuery()) {
                    upper = r.next() ? r.getObject(1) : null;
                }
            }
            if (upper == null) {
                try (PreparedStatement max = connection.prepareStatement("SELECT max(" + column + ") FROM " + from() + " WHERE "
                        + column + " IS NOT NULL" + after)) {
                    lastValue.ifPresent(v -> WatermarkValues.set(max, 1, v));
                    try (ResultSet r = max.executeQuery()) {
                        upper = r.next() ? r.getObject(1) : null;
                    }
                }
            }
            if (upper == null) {
                break; // nothing new
            }
            String upperText = WatermarkValues.text(upper);
            List<EventBus.Event> events = new ArrayList<>();
            try (PreparedStatement select = connection.prepareStatement("SELECT * FROM " + from() + " WHERE " + column
                    + " IS NOT NULL" + after + " AND " + column + " <= ? ORDER BY " + column)) {
                select.setFetchSize(Math.min(spec.batchRows(), 10_000));
                int index = 1;
                if (lastValue.isPresent()) {
                    WatermarkValues.set(select, index++, lastValue.get());
                }
                WatermarkValues.set(select, index, upper);
                try (ResultSet r = select.executeQuery()) {
                    ResultSetMetaData meta = r.getMetaData();
                    while (r.next()) {
                        events.add(rowEvents.event(r, meta, null));
                    }
                }
            }
            connection.commit();
            publisher.publish(name, stream, events, "import:" + name + ":" + last.orElse("") + ":" + upperText);
            state.watermark(name, upperText, WatermarkValues.typeOf(upper));
            total += events.size();
            Run s = status;
            status = new Run(s.name(), s.stream(), s.table(), s.mode(), upperText, s.lastRunAt(), total, s.nextRunAt(), true, null);
        }
        return total;
    }

    // ---- full

    private long full(Connection connection, Instant run) throws SQLException {
        String runId = run.toString();
        Optional<String> key = stream.key();
        long total = 0;
        int batch = 0;
        List<EventBus.Event> events = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        try (Statement select = connection.createStatement()) {
            select.setFetchSize(Math.min(spec.batchRows(), 10_000));
            try (ResultSet r = select.executeQuery("SELECT * FROM " + from())) {
                ResultSetMetaData meta = r.getMetaData();
                int keyColumn = key.map(k -> RowEvents.column(meta, k)).orElse(-1);
                while (r.next() && running) {
                    events.add(rowEvents.event(r, meta, runId));
                    if (keyColumn > 0) {
                        keys.add(RowEvents.keyJson(r.getObject(keyColumn)));
                    }
                    if (events.size() >= spec.batchRows()) {
                        total += publishFull(events, keys, runId, batch++);
                    }
                }
            }
        }
        connection.commit();
        if (!running) {
            throw new IllegalStateException("stopped during the run; the next start runs it again");
        }
        total += publishFull(events, keys, runId, batch++);
        if (key.isPresent()) {
            // what the last complete run had and this one has not was deleted at the source
            List<String> gone = state.keysNotIn(name, runId);
            List<EventBus.Event> deletes = new ArrayList<>();
            for (String k : gone) {
                String text = k.startsWith("\"") ? k.substring(1, k.length() - 1) : k;
                deletes.add(new EventBus.Event(text.getBytes(StandardCharsets.UTF_8), RowEvents.deleteEvent(key.get(), k), System.currentTimeMillis()));
                if (deletes.size() >= spec.batchRows()) {
                    publisher.publish(name, stream, deletes, "import:" + name + ":" + runId + ":deletes:" + batch++);
                    deletes.clear();
                }
            }
            publisher.publish(name, stream, deletes, "import:" + name + ":" + runId + ":deletes:" + batch);
            state.forgetKeysNotIn(name, runId);
            if (!gone.isEmpty()) {
                LOG.info("Import {}: {} key(s) of the last run are gone from {}; published as deletes", name, gone.size(), what());
            }
        }
        return total;
    }

    private long publishFull(List<EventBus.Event> events, List<String> keys, String runId, int batch) {
        int n = events.size();
        if (n > 0) {
            publisher.publish(name, stream, new ArrayList<>(events), "import:" + name + ":" + runId + ":" + batch);
            if (!keys.isEmpty()) {
                state.keys(name, keys, runId);
            }
        }
        events.clear();
        keys.clear();
        return n;
    }

    @Override
    public void close() {
        running = false;
        synchronized (wake) {
            wake.notifyAll();
        }
        try {
            if (thread.isAlive() && !stopped.await(30, TimeUnit.SECONDS)) {
                LOG.warn("Import {} did not stop within 30s; it resumes from its last saved batch at the next start", name);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        state.close();
    }
}
