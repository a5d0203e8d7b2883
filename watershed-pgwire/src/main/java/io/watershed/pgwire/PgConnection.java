package io.watershed.pgwire;

import io.watershed.pgwire.PgStatements.Kind;
import io.watershed.pgwire.PgStatements.Statement;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.QueryEngine;
import io.watershed.spi.QueryEngine.Cursor;
import io.watershed.spi.QueryEngine.Description;
import io.watershed.spi.SqlLogins;
import io.watershed.spi.WatershedException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLSocket;

/**
 * One client of the Postgres wire protocol, version 3: the startup (SSLRequest answered with TLS when the server has a
 * keystore, else 'N'; GSSENCRequest refused; CancelRequest), cleartext password login with a token, then the simple
 * query protocol and the extended one (Parse, Bind, Describe, Execute, Close, Sync, Flush; named statements and portals,
 * portals suspended at Execute's row limit). Results are in text or binary format as Bind asks, read from the engine's
 * cursor in batches while they are sent. Session commands (SET, SHOW, BEGIN, COMMIT, ROLLBACK, DISCARD...) are
 * answered here without effect: every statement is a read-only query on its own.
 */
final class PgConnection {
    private static final int SSL_REQUEST = 80877103;
    private static final int CANCEL_REQUEST = 80877102;
    private static final int GSS_REQUEST = 80877104;
    private static final int PROTOCOL_3 = 196608;
    private static final int BATCH = 1024;

    private final PgServer server;
    private Socket socket;
    private DataInputStream in;
    private OutputStream out;
    private final Message message = new Message();
    private int processId;
    private int secret;
    private SqlLogins.Session session;
    private QueryEngine.Catalog catalog;
    /** I idle, T in a transaction block, E in a failed one. */
    private char transaction = 'I';
    private final Map<String, Prepared> statements = new HashMap<>();
    private final Map<String, Portal> portals = new HashMap<>();
    /** What runs now, for a cancel request. */
    private volatile Cursor running;
    private volatile boolean closed;

    /** A parsed statement: its text, kind, the parameter types the client gave (0 where it did not), its description once asked. */
    private static final class Prepared {
        final Statement statement;
        final int[] parameterTypes;
        Description description;

        Prepared(Statement statement, int[] parameterTypes) {
            this.statement = statement;
            this.parameterTypes = parameterTypes;
        }
    }

    /** A bound statement: parameters, result formats, and its cursor once it runs. */
    private static final class Portal {
        final Prepared prepared;
        final List<Object> parameters;
        final short[] resultFormats;
        Cursor cursor;
        long sent;
        boolean done;

        Portal(Prepared prepared, List<Object> parameters, short[] resultFormats) {
            this.prepared = prepared;
            this.parameters = parameters;
            this.resultFormats = resultFormats;
        }

        int format(int column) {
            return resultFormats.length == 0 ? 0 : resultFormats.length == 1 ? resultFormats[0] : resultFormats[column];
        }
    }

    PgConnection(Socket socket, PgServer server) {
        this.socket = socket;
        this.server = server;
    }

    int processId() {
        return processId;
    }

    void processId(int id) {
        this.processId = id;
    }

    void run(boolean admitted) throws IOException {
        socket.setTcpNoDelay(true);
        socket.setSoTimeout(LOGIN_TIMEOUT_MS); // a silent client that never logs in gives its slot back
        in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 65536));
        out = new BufferedOutputStream(socket.getOutputStream(), 65536);
        Map<String, String> parameters = startup();
        if (parameters == null) {
            return;
        }
        if (!admitted) {
            fatal("53300", "Cannot take another connection: " + server.maxConnections() + " are open (pg.max_connections)");
            return;
        }
        if (!login(parameters)) {
            return;
        }
        socket.setSoTimeout(0); // a logged-in client may think between statements
        secret = server.register(this);
        sendParameterStatus(parameters);
        message.begin('K').int32(processId).int32(secret).send(out);
        ready();
        loop();
    }

    /** The startup packets up to the protocol 3 startup message: its parameters, or null when there is nothing more to do. */
    private Map<String, String> startup() throws IOException {
        while (true) {
            int length = in.readInt();
            if (length < 8 || length > 10_000) {
                throw new IOException("startup packet of " + length + " bytes");
            }
            int code = in.readInt();
            byte[] body = new byte[length - 8];
            in.readFully(body);
            if (code == SSL_REQUEST) {
                if (server.tls().isPresent() && !(socket instanceof SSLSocket)) {
                    out.write('S');
                    out.flush();
                    SSLSocket tls = (SSLSocket) server.tls().get().getSocketFactory().createSocket(socket,
                            socket.getInetAddress().getHostAddress(), socket.getPort(), true);
                    tls.setUseClientMode(false);
                    tls.startHandshake();
                    socket = tls;
                    in = new DataInputStream(new BufferedInputStream(tls.getInputStream(), 65536));
                    out = new BufferedOutputStream(tls.getOutputStream(), 65536);
                } else {
                    out.write('N');
                    out.flush();
                }
            } else if (code == GSS_REQUEST) {
                out.write('N');
                out.flush();
            } else if (code == CANCEL_REQUEST) {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(body);
                server.cancel(b.getInt(), b.getInt());
                return null;
            } else if (code == PROTOCOL_3) {
                Map<String, String> parameters = new LinkedHashMap<>();
                List<String> parts = cstrings(body);
                for (int i = 0; i + 1 < parts.size(); i += 2) {
                    parameters.put(parts.get(i), parts.get(i + 1));
                }
                return parameters;
            } else {
                fatal("0A000", "Cannot speak protocol version " + (code >> 16) + "." + (code & 0xffff) + ": only 3.0 is served");
                return null;
            }
        }
    }

    private boolean login(Map<String, String> parameters) throws IOException {
        message.begin('R').int32(3).send(out);
        out.flush();
        char type = (char) in.readUnsignedByte();
        byte[] body = body(MAX_LOGIN_MESSAGE);
        if (type != 'p') {
            fatal("08P01", "Cannot log in: expected a password message, got '" + type + "'");
            return false;
        }
        String password = cstrings(body).get(0);
        String user = parameters.getOrDefault("user", "");
        try {
            session = server.logins().login(user, password, socket.getInetAddress().getHostAddress());
        } catch (WatershedException e) {
            fatal(e.code() == ErrorCode.UNAUTHENTICATED ? "28P01" : PgErrors.sqlState(e), "password authentication failed for user \""
                    + user + "\": " + e.getMessage());
            return false;
        }
        message.begin('R').int32(0).send(out);
        return true;
    }

    private void sendParameterStatus(Map<String, String> parameters) throws IOException {
        Map<String, String> status = new LinkedHashMap<>();
        status.put("server_version", "16.0");
        status.put("server_encoding", "UTF8");
        status.put("client_encoding", "UTF8");
        status.put("DateStyle", "ISO, MDY");
        status.put("IntervalStyle", "postgres");
        status.put("TimeZone", "UTC");
        status.put("integer_datetimes", "on");
        status.put("standard_conforming_strings", "on");
        status.put("is_superuser", "off");
        status.put("session_authorization", parameters.getOrDefault("user", ""));
        status.put("application_name", parameters.getOrDefault("application_name", ""));
        for (Map.Entry<String, String> e : status.entrySet()) {
            message.begin('S').cstring(e.getKey()).cstring(e.getValue()).send(out);
        }
    }

    private void loop() throws IOException {
        boolean skipping = false;
        while (!closed) {
            int read = in.read();
            if (read < 0) {
                return;
            }
            char type = (char) read;
            byte[] body = body();
            if (type == 'X') {
                return;
            }
            if (type == 'Q') {
                simpleQuery(cstrings(body).get(0));
                continue;
            }
            if (type == 'S') {
                skipping = false;
                sync();
                continue;
            }
            if (type == 'H') {
                out.flush();
                continue;
            }
            if (skipping) {
                continue; // after an error the extended protocol skips to the next Sync
            }
            try {
                switch (type) {
                    case 'P' -> parse(body);
                    case 'B' -> bind(body);
                    case 'D' -> describe(body);
                    case 'E' -> execute(body);
                    case 'C' -> closeStatementOrPortal(body);
                    default -> throw new WatershedException(ErrorCode.QUERY_INVALID, "Cannot handle message '" + type + "' here");
                }
            } catch (WatershedException | IllegalArgumentException e) {
                error(e);
                skipping = true;
            }
        }
    }

    private void sync() throws IOException {
        if (transaction == 'I') {
            closePortals();
        }
        ready();
    }

    private void ready() throws IOException {
        message.begin('Z').byte1(transaction).send(out);
        out.flush();
    }

    // --- simple query

    private void simpleQuery(String text) throws IOException {
        List<String> parts = PgStatements.split(text);
        try {
            for (String part : parts) {
                Statement statement = PgStatements.classify(part);
                if (statement.kind() == Kind.EMPTY) {
                    if (parts.size() == 1) {
                        message.begin('I').send(out);
                    }
                    continue;
                }
                Portal portal = new Portal(new Prepared(statement, new int[0]), List.of(), new short[0]);
                try {
                    if (!session(statement)) {
                        open(portal);
                        rowDescription(portal.cursor.description(), portal);
                    }
                    run(portal, 0);
                } finally {
                    closePortal(portal);
                }
            }
        } catch (WatershedException | IllegalArgumentException e) {
            error(e);
        }
        ready();
    }

    /** Answers a session command; false when the statement has rows to send (a query, SHOW). */
    private boolean session(Statement statement) throws IOException {
        if (statement.kind() != Kind.SESSION) {
            return false;
        }
        String tag = statement.tag();
        switch (tag) {
            case "BEGIN" -> transaction = 'T';
            case "COMMIT" -> {
                tag = transaction == 'E' ? "ROLLBACK" : "COMMIT";
                transaction = 'I';
            }
            case "ROLLBACK" -> transaction = 'I';
            default -> {
            }
        }
        message.begin('C').cstring(tag).send(out);
        return true;
    }

    // --- extended protocol

    private void parse(byte[] body) throws IOException {
        Reader r = new Reader(body);
        String name = r.cstring();
        String sql = r.cstring();
        int count = r.int16();
        int[] types = new int[count];
        for (int i = 0; i < count; i++) {
            types[i] = r.int32();
        }
        if (!name.isEmpty() && statements.containsKey(name)) {
            throw new WatershedException(ErrorCode.QUERY_INVALID, "Cannot prepare statement \"" + name + "\": it already exists");
        }
        statements.put(name, new Prepared(PgStatements.classify(sql), types));
        message.begin('1').send(out);
    }

    private void bind(byte[] body) throws IOException {
        Reader r = new Reader(body);
        String portalName = r.cstring();
        String statementName = r.cstring();
        Prepared prepared = statements.get(statementName);
        if (prepared == null) {
            throw new WatershedException(ErrorCode.QUERY_INVALID, "Cannot bind: prepared statement \"" + statementName + "\" does not exist");
        }
        short[] formats = new short[r.int16()];
        for (int i = 0; i < formats.length; i++) {
            formats[i] = (short) r.int16();
        }
        int count = r.int16();
        List<Object> parameters = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int length = r.int32();
            byte[] value = length < 0 ? null : r.bytes(length);
            int format = formats.length == 0 ? 0 : formats.length == 1 ? formats[0] : formats[i];
            int oid = i < prepared.parameterTypes.length ? prepared.parameterTypes[i] : 0;
            try {
                parameters.add(PgTypes.parameter(oid, format, value));
            } catch (RuntimeException e) {
                throw new WatershedException(ErrorCode.QUERY_INVALID, "Cannot read parameter $" + (i + 1) + ": " + e.getMessage(), e);
            }
        }
        short[] resultFormats = new short[r.int16()];
        for (int i = 0; i < resultFormats.length; i++) {
            resultFormats[i] = (short) r.int16();
        }
        Portal old = portals.remove(portalName);
        if (old != null) {
            closePortal(old);
        }
        portals.put(portalName, new Portal(prepared, parameters, resultFormats));
        message.begin('2').send(out);
    }

    private void describe(byte[] body) throws IOException {
        Reader r = new Reader(body);
        char what = (char) r.byte1();
        String name = r.cstring();
        if (what == 'S') {
            Prepared prepared = statements.get(name);
            if (prepared == null) {
                throw new WatershedException(ErrorCode.QUERY_INVALID, "Cannot describe: prepared statement \"" + name + "\" does not exist");
            }
            Description d = description(prepared);
            int count = Math.max(prepared.parameterTypes.length, d == null ? 0 : d.parameterTypes().size());
            message.begin('t').int16(count);
            for (int i = 0; i < count; i++) {
                int given = i < prepared.parameterTypes.length ? prepared.parameterTypes[i] : 0;
                message.int32(given != 0 ? given : d != null && i < d.parameterTypes().size() ? parameterOid(d.parameterTypes().get(i))
                        : PgTypes.TEXT);
            }
            message.send(out);
            if (d == null) {
                message.begin('n').send(out);
            } else {
                rowDescription(d, null);
            }
            return;
        }
        Portal portal = portals.get(name);
        if (portal == null) {
            throw new WatershedException(ErrorCode.QUERY_INVALID, "Cannot describe: portal \"" + name + "\" does not exist");
        }
        Kind kind = portal.prepared.statement.kind();
        if (kind == Kind.SESSION || kind == Kind.EMPTY) {
            message.begin('n').send(out);
            return;
        }
        open(portal);
        rowDescription(portal.cursor.description(), portal);
    }

    private static int parameterOid(String engineType) {
        int oid = PgTypes.oid(engineType);
        return oid == PgTypes.JSON ? PgTypes.TEXT : oid;
    }

    /** What a prepared statement returns and takes; null for a session command. */
    private Description description(Prepared prepared) {
        if (prepared.description == null) {
            Statement s = prepared.statement;
            prepared.description = switch (s.kind()) {
                case SESSION, EMPTY -> null;
                case SHOW -> new Description(List.of(showColumn(s)), List.of("VARCHAR"), List.of());
                case CATALOG -> catalog().describe(s.sql());
                case QUERY -> server.engine().describe(s.sql(), session.scope());
            };
        }
        return prepared.description;
    }

    private void execute(byte[] body) throws IOException {
        Reader r = new Reader(body);
        String name = r.cstring();
        int max = r.int32();
        Portal portal = portals.get(name);
        if (portal == null) {
            throw new WatershedException(ErrorCode.QUERY_INVALID, "Cannot execute: portal \"" + name + "\" does not exist");
        }
        Statement statement = portal.prepared.statement;
        if (statement.kind() == Kind.EMPTY) {
            message.begin('I').send(out);
            return;
        }
        if (session(statement)) {
            return;
        }
        if (portal.done) {
            message.begin('C').cstring("SELECT " + portal.sent).send(out);
            return;
        }
        open(portal);
        run(portal, max);
    }

    private void closeStatementOrPortal(byte[] body) throws IOException {
        Reader r = new Reader(body);
        char what = (char) r.byte1();
        String name = r.cstring();
        if (what == 'S') {
            statements.remove(name);
        } else {
            Portal portal = portals.remove(name);
            if (portal != null) {
                closePortal(portal);
            }
        }
        message.begin('3').send(out);
    }

    // --- running

    private QueryEngine.Catalog catalog() {
        if (catalog == null) {
            catalog = server.engine().catalog(session.scope());
        }
        return catalog;
    }

    private static String showColumn(Statement s) {
        return s.setting().equals("transaction isolation level") ? "transaction_isolation" : s.setting().replace(' ', '_');
    }

    /** Starts the portal's statement, unless it runs already. */
    private void open(Portal portal) {
        if (portal.cursor != null) {
            return;
        }
        Statement s = portal.prepared.statement;
        switch (s.kind()) {
            case SHOW -> {
                String value = PgStatements.SETTINGS.get(s.setting());
                if (value == null) {
                    throw new PgErrors.PgException("42704", "unrecognized configuration parameter \"" + s.setting() + "\"");
                }
                portal.cursor = new ListCursor(new Description(List.of(showColumn(s)), List.of("VARCHAR"), List.of()),
                        List.<Object[]>of(new Object[] {value}));
            }
            case CATALOG -> portal.cursor = catalog().open(s.sql(), portal.parameters);
            case QUERY -> {
                try {
                    portal.cursor = server.engine().open(s.sql(), portal.parameters, session.scope());
                } catch (WatershedException e) {
                    session.statement(s.sql(), List.of(), e.code().httpStatus());
                    throw e;
                }
                session.statement(s.sql(), portal.cursor.tables(), 200);
            }
            default -> throw new IllegalStateException(s.kind() + " has no cursor");
        }
    }

    /** Sends up to {@code max} rows (0: all) of the portal; then CommandComplete at the end, else PortalSuspended. */
    private void run(Portal portal, int max) throws IOException {
        if (portal.cursor == null) {
            return; // a session command, answered already
        }
        Description d = portal.cursor.description();
        int columns = d.columns().size();
        int[] oids = new int[columns];
        int[] formats = new int[columns];
        for (int i = 0; i < columns; i++) {
            oids[i] = PgTypes.oid(d.types().get(i));
            formats[i] = portal.format(i);
        }
        long sentHere = 0;
        running = portal.cursor;
        try {
            while (max <= 0 || sentHere < max) {
                int want = max <= 0 ? BATCH : (int) Math.min(BATCH, max - sentHere);
                List<Object[]> batch = portal.cursor.next(want);
                for (Object[] row : batch) {
                    message.begin('D').int16(columns);
                    for (int i = 0; i < columns; i++) {
                        Object value = row[i];
                        if (value == null) {
                            message.int32(-1);
                        } else {
                            byte[] bytes = formats[i] == 1 ? PgTypes.binary(value, oids[i])
                                    : PgTypes.text(value).getBytes(StandardCharsets.UTF_8);
                            message.int32(bytes.length).bytes(bytes);
                        }
                    }
                    message.send(out);
                }
                sentHere += batch.size();
                portal.sent += batch.size();
                if (batch.size() < want) {
                    portal.done = true;
                    break;
                }
            }
        } finally {
            running = null;
        }
        if (portal.done) {
            message.begin('C').cstring((portal.prepared.statement.kind() == Kind.SHOW ? "SHOW" : "SELECT " + portal.sent)).send(out);
        } else {
            message.begin('s').send(out);
        }
    }

    /** RowDescription of the result; formats as the portal asks, or text when describing a statement. */
    private void rowDescription(Description d, Portal portal) throws IOException {
        message.begin('T').int16(d.columns().size());
        for (int i = 0; i < d.columns().size(); i++) {
            int oid = PgTypes.oid(d.types().get(i));
            message.cstring(d.columns().get(i)).int32(0).int16(0).int32(oid).int16(PgTypes.size(oid))
                    .int32(PgTypes.modifier(d.types().get(i))).int16(portal == null ? 0 : portal.format(i));
        }
        message.send(out);
    }

    private void closePortal(Portal portal) {
        if (portal.cursor != null) {
            portal.cursor.close();
            portal.cursor = null;
        }
    }

    private void closePortals() {
        portals.values().forEach(this::closePortal);
        portals.clear();
    }

    void cancel(int key) {
        Cursor cursor = running;
        if (key == secret && cursor != null) {
            cursor.cancel();
        }
    }

    // --- errors and plumbing

    private void error(RuntimeException e) throws IOException {
        if (transaction == 'T') {
            transaction = 'E';
        }
        String state = e instanceof PgErrors.PgException p ? p.sqlState()
                : e instanceof WatershedException w ? PgErrors.sqlState(w) : "22023";
        message.begin('E').byte1('S').cstring("ERROR").byte1('V').cstring("ERROR").byte1('C').cstring(state).byte1('M')
                .cstring(e.getMessage() == null ? e.toString() : e.getMessage()).byte1(0).send(out);
    }

    private void fatal(String state, String text) throws IOException {
        message.begin('E').byte1('S').cstring("FATAL").byte1('V').cstring("FATAL").byte1('C').cstring(state).byte1('M').cstring(text)
                .byte1(0).send(out);
        out.flush();
    }

    /** Before a login no message needs more than a password's few bytes; after it, a statement and its parameters. */
    private static final int MAX_LOGIN_MESSAGE = 10_000;
    private static final int MAX_MESSAGE = 64 << 20;
    /** How long a client that has not logged in yet may keep its connection silent. */
    private static final int LOGIN_TIMEOUT_MS = 30_000;

    private byte[] body() throws IOException {
        return body(MAX_MESSAGE);
    }

    /** A message's body, refused past {@code max} bytes before anything is allocated for it. */
    private byte[] body(int max) throws IOException {
        int length = in.readInt();
        if (length < 4 || length - 4 > max) {
            throw new IOException("message of " + length + " bytes (at most " + max + " taken here)");
        }
        byte[] body = new byte[length - 4];
        in.readFully(body);
        return body;
    }

    private static List<String> cstrings(byte[] body) {
        List<String> parts = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < body.length; i++) {
            if (body[i] == 0) {
                parts.add(new String(body, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        return parts;
    }

    /** Closes the socket only: the connection's thread, blocked on it, then ends and closes the rest. */
    void disconnect() {
        closed = true;
        Cursor cursor = running;
        if (cursor != null) {
            cursor.cancel(); // a statement under way stops with the platform
        }
        try {
            socket.close();
        } catch (IOException e) {
            // gone already
        }
    }

    void close() {
        closed = true;
        closePortals();
        if (catalog != null) {
            catalog.close();
            catalog = null;
        }
        try {
            socket.close();
        } catch (IOException e) {
            // gone already
        }
    }

    /** A message being built: its type, then fields; {@link #send} writes it with its length. */
    private static final class Message {
        private final Buffer buffer = new Buffer();
        private char type;

        Message begin(char type) {
            this.type = type;
            buffer.reset();
            return this;
        }

        Message byte1(int b) {
            buffer.write(b);
            return this;
        }

        Message int16(int v) {
            buffer.write(v >>> 8);
            buffer.write(v);
            return this;
        }

        Message int32(int v) {
            buffer.write(v >>> 24);
            buffer.write(v >>> 16);
            buffer.write(v >>> 8);
            buffer.write(v);
            return this;
        }

        Message bytes(byte[] b) {
            buffer.write(b, 0, b.length);
            return this;
        }

        Message cstring(String s) {
            bytes(s.getBytes(StandardCharsets.UTF_8));
            return byte1(0);
        }

        void send(OutputStream out) throws IOException {
            int length = buffer.size() + 4;
            out.write(type);
            out.write(length >>> 24);
            out.write(length >>> 16);
            out.write(length >>> 8);
            out.write(length);
            buffer.writeTo(out);
        }
    }

    private static final class Buffer extends ByteArrayOutputStream {
        Buffer() {
            super(256);
        }
    }

    /** Fields of a message body. */
    private static final class Reader {
        private final byte[] body;
        private int at;

        Reader(byte[] body) {
            this.body = body;
        }

        int byte1() {
            return body[at++] & 0xff;
        }

        int int16() {
            return (short) (((body[at++] & 0xff) << 8) | (body[at++] & 0xff));
        }

        int int32() {
            return ((body[at++] & 0xff) << 24) | ((body[at++] & 0xff) << 16) | ((body[at++] & 0xff) << 8) | (body[at++] & 0xff);
        }

        byte[] bytes(int n) {
            byte[] b = java.util.Arrays.copyOfRange(body, at, at + n);
            at += n;
            return b;
        }

        String cstring() {
            int end = at;
            while (body[end] != 0) {
                end++;
            }
            String s = new String(body, at, end - at, StandardCharsets.UTF_8);
            at = end + 1;
            return s;
        }
    }

    /** Rows already at hand (SHOW). */
    private static final class ListCursor implements Cursor {
        private final Description description;
        private final List<Object[]> rows;
        private int at;

        ListCursor(Description description, List<Object[]> rows) {
            this.description = description;
            this.rows = rows;
        }

        @Override
        public Description description() {
            return description;
        }

        @Override
        public List<Object[]> next(int max) {
            List<Object[]> batch = rows.subList(at, Math.min(rows.size(), at + max));
            at += batch.size();
            return batch;
        }

        @Override
        public List<String> tables() {
            return List.of();
        }

        @Override
        public void cancel() {}

        @Override
        public void close() {}
    }
}
