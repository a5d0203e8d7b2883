package io.watershed.pgwire;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.QueryEngine;
import io.watershed.spi.SqlLogins;
import io.watershed.spi.WatershedException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.security.SecureRandom;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Postgres wire protocol (version 3) on a TCP port, in front of a {@link QueryEngine}: psql, JDBC, node pg and BI
 * tools log in with a token as the password and run read-only SELECTs with the same sandbox, grants and audit as the
 * HTTP API. One thread per connection; at most {@code maxConnections} at once. See {@link PgConnection} for what a
 * connection speaks.
 */
public final class PgServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PgServer.class);

    private final QueryEngine engine;
    private final SqlLogins logins;
    private final Optional<SSLContext> tls;
    private final int maxConnections;
    private final ServerSocket socket;
    private final AtomicInteger open = new AtomicInteger();
    /** Open connections by their process id, for cancel requests (which come on a connection of their own). */
    private final Map<Integer, PgConnection> byProcessId = new ConcurrentHashMap<>();
    /** Every connection from its accept on, logged in or not: what close() disconnects. */
    private final java.util.Set<PgConnection> connections = ConcurrentHashMap.newKeySet();
    private final SecureRandom random = new SecureRandom();
    private final Thread acceptor;
    private volatile boolean closed;

    /**
     * Binds {@code host:port} (0 picks a free port) and starts accepting.
     *
     * @param tls when present, clients that ask for TLS get it (SSLRequest); else they are told to go on in clear
     * @throws WatershedException UNAVAILABLE when the port cannot be bound
     */
    public PgServer(String host, int port, int maxConnections, QueryEngine engine, SqlLogins logins, Optional<SSLContext> tls) {
        this.engine = engine;
        this.logins = logins;
        this.tls = tls;
        this.maxConnections = maxConnections;
        try {
            socket = new ServerSocket();
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(InetAddress.getByName(host), port), 128);
        } catch (IOException e) {
            throw new WatershedException(ErrorCode.UNAVAILABLE, "Cannot listen for Postgres clients on " + host + ":" + port + ": "
                    + e.getMessage() + "; set pg.port to a free port (0 picks one), or -1 to turn the listener off", e);
        }
        acceptor = new Thread(this::accept, "pgwire-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** The port it listens on. */
    public int port() {
        return socket.getLocalPort();
    }

    private void accept() {
        while (!closed) {
            Socket client;
            try {
                client = socket.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("Cannot accept a Postgres client: {}", e.toString());
                    pause(); // out of file descriptors, say: do not spin
                }
                continue;
            }
            int now = open.incrementAndGet();
            if (now > 2 * maxConnections + 16) {
                // past the limit a client still gets its refusal (53300) from a thread of its own, but only so many
                open.decrementAndGet();
                closeQuietly(client);
                continue;
            }
            boolean admitted = now <= maxConnections;
            Thread t = new Thread(() -> serve(client, admitted), "pgwire-" + client.getPort());
            t.setDaemon(true);
            t.start();
        }
    }

    private void pause() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(Socket client) {
        try {
            client.close();
        } catch (IOException e) {
            // gone already
        }
    }

    private void serve(Socket client, boolean admitted) {
        PgConnection connection = new PgConnection(client, this);
        connections.add(connection);
        try {
            connection.run(admitted);
        } catch (SocketException e) {
            LOG.debug("Postgres client {} went away: {}", client.getRemoteSocketAddress(), e.toString());
        } catch (IOException | RuntimeException e) {
            LOG.debug("Postgres client {} ended: {}", client.getRemoteSocketAddress(), e.toString());
        } finally {
            open.decrementAndGet();
            connections.remove(connection);
            byProcessId.remove(connection.processId(), connection);
            connection.close();
        }
    }

    QueryEngine engine() {
        return engine;
    }

    SqlLogins logins() {
        return logins;
    }

    Optional<SSLContext> tls() {
        return tls;
    }

    int maxConnections() {
        return maxConnections;
    }

    /** Registers a connection under a new process id; returns its secret key. */
    int register(PgConnection connection) {
        int id;
        do {
            id = 1 + random.nextInt(Integer.MAX_VALUE - 1);
        } while (byProcessId.putIfAbsent(id, connection) != null);
        connection.processId(id);
        return random.nextInt();
    }

    /** A cancel request: stops what the connection runs when the secret is its own. */
    void cancel(int processId, int secret) {
        PgConnection target = byProcessId.get(processId);
        if (target != null) {
            target.cancel(secret);
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            socket.close();
        } catch (IOException e) {
            LOG.debug("Cannot close the Postgres listener: {}", e.toString());
        }
        // each connection's own thread then finds its socket closed and closes what it has open; logged in or not
        connections.forEach(PgConnection::disconnect);
    }
}
