package io.watershed.ingest.mqtt;

import io.watershed.ingest.Source;
import io.watershed.ingest.SourcePublisher;
import io.watershed.spi.EventBus;
import io.watershed.spi.SourceSpec;
import io.watershed.spi.SourceStatus;
import io.watershed.spi.StreamSpec;
import io.watershed.spi.WatershedException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttActionListener;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.MqttSubscription;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An MQTT v5 subscription (Eclipse Paho) whose messages become events of one stream, each message one JSON object.
 *
 * <p>The session is persistent (clean start off, a session expiry of {@value #SESSION_EXPIRY_SECONDS}s, a client id
 * stable across restarts), so the broker keeps what is published while Watershed is down. Acknowledgements are manual:
 * a message is acknowledged (PUBACK, or PUBREC at QoS 2) only once its event is durable in the bus, so a crash loses
 * nothing; the broker then delivers the unacknowledged messages again. Each message is published under an
 * idempotency key of its packet id and a digest of its topic and payload. A delivery whose packet id and digest are
 * among the last {@value RecentDeliveries#SLOTS} the source started (kept on disk, see {@link RecentDeliveries}) may be
 * a repeat: if its key is already durable it is acknowledged without being published again. Any other delivery is
 * published without that lookup, since the broker reuses a packet id once it is acknowledged.
 *
 * <p>A payload that is not one JSON object goes to the stream's dead letters with the topic and the reason. When the
 * broker is away or drops the session, the source connects again (1s, doubling to 30s) and says why in its status.
 */
public final class MqttSource implements Source {
    private static final Logger LOG = LoggerFactory.getLogger(MqttSource.class);
    /** How long the broker keeps the session (its subscriptions and queued messages) while Watershed is away: 7 days. */
    static final long SESSION_EXPIRY_SECONDS = 7 * 24 * 3600;
    /** Messages the broker may have unacknowledged with us at once. */
    static final int RECEIVE_MAXIMUM = 64;
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

    private final String name;
    private final StreamSpec stream;
    private final SourceSpec.Mqtt spec;
    private final SourcePublisher publisher;
    private final MessageEvents events;
    private final MqttAsyncClient client;
    private final RecentDeliveries recent;
    private final Object signal = new Object();
    /** Held while a message is published and acknowledged, so {@link #close()} returns only once none is. */
    private final Object publishing = new Object();
    private final AtomicLong messages = new AtomicLong();
    private volatile boolean running = true;
    private volatile boolean connected;
    /** Whether the broker has answered this connection's subscription: before that, a message nobody else subscribed to is lost. */
    private volatile boolean subscribed;
    private volatile String lastError;
    private volatile Instant lastMessageAt;
    private Thread supervisor;

    /** @throws IllegalArgumentException the url is no broker address Paho takes */
    /** @param directory where the source keeps its recent deliveries ({@code <client id>.deliveries}) */
    public MqttSource(String name, StreamSpec stream, SourceSpec.Mqtt spec, SourcePublisher publisher, java.nio.file.Path directory) {
        this.name = name;
        this.stream = stream;
        this.spec = spec;
        this.publisher = publisher;
        this.events = new MessageEvents(stream.key(), spec.topicField());
        try {
            client = new MqttAsyncClient(spec.url(), spec.clientId(), new MemoryPersistence());
        } catch (MqttException | IllegalArgumentException e) {
            throw new IllegalArgumentException("Cannot use the MQTT broker " + spec.url() + ": " + e.getMessage(), e);
        }
        client.setManualAcks(true);
        client.setCallback(new Callback());
        recent = new RecentDeliveries(directory.resolve(spec.clientId() + ".deliveries"));
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public synchronized void start() {
        if (supervisor != null || !running) {
            return;
        }
        supervisor = new Thread(this::supervise, "watershed-mqtt-" + name);
        supervisor.setDaemon(true);
        supervisor.start();
    }

    @Override
    public SourceStatus.Mqtt status() {
        Instant last = lastMessageAt;
        return new SourceStatus.Mqtt(name, stream.name(), spec.url(), spec.topics(), spec.qos(), spec.clientId(),
                spec.user().orElse(null), spec.password(), connected && subscribed && running, messages.get(), last == null ? null : last.toString(),
                lastError);
    }

    /** Connects, subscribes, and connects again whenever the session is lost, until closed. */
    private void supervise() {
        Duration backoff = Duration.ofSeconds(1);
        while (running) {
            if (connected) {
                await(Duration.ofSeconds(1));
                continue;
            }
            try {
                if (client.isConnected()) {
                    disconnectForcibly(); // a subscription was refused
                }
                connect();
                backoff = Duration.ofSeconds(1);
            } catch (MqttException | RuntimeException e) {
                connected = false;
                if (!running) {
                    return;
                }
                String error = "Cannot connect to " + spec.url() + " as " + spec.clientId() + ": " + reason(e);
                if (!error.equals(lastError)) {
                    LOG.warn("MQTT {}: {}; trying again every {}s at most", name, error, MAX_BACKOFF.toSeconds());
                }
                lastError = error;
                publisher.error(name, stream.name(), "connect");
                await(backoff);
                backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
            }
        }
    }

    private void connect() throws MqttException {
        MqttConnectionOptions options = new MqttConnectionOptions();
        options.setCleanStart(false);
        options.setSessionExpiryInterval(SESSION_EXPIRY_SECONDS);
        options.setAutomaticReconnect(false); // the supervisor connects again, also when the first attempt fails
        options.setReceiveMaximum(RECEIVE_MAXIMUM);
        options.setKeepAliveInterval(30);
        options.setConnectionTimeout(10);
        spec.user().ifPresent(options::setUserName);
        if (!spec.password().isEmpty()) {
            options.setPassword(spec.password().reveal().getBytes(StandardCharsets.UTF_8));
        }
        IMqttToken token = client.connect(options);
        try {
            token.waitForCompletion(15_000);
        } catch (MqttException e) {
            if (client.isConnected()) {
                disconnectForcibly();
            }
            throw e;
        }
        boolean resumed = token.getSessionPresent();
        subscribed = false;
        connected = true;
        lastError = null;
        LOG.info("MQTT {}: connected to {} as {} ({} session)", name, spec.url(), spec.clientId(), resumed ? "resumed" : "new");
        subscribe();
    }

    /**
     * Subscribes without waiting: with a resumed session the broker sends what it kept before the SUBACK, and the
     * subscription's answer is read only once those messages are published (they may wait for the bus).
     */
    private void subscribe() throws MqttException {
        MqttSubscription[] subscriptions = new MqttSubscription[spec.topics().size()];
        for (int i = 0; i < subscriptions.length; i++) {
            subscriptions[i] = new MqttSubscription(spec.topics().get(i), spec.qos());
            subscriptions[i].setRetainHandling(1); // a retained message is sent for a new subscription only, not at each connect
        }
        client.subscribe(subscriptions, null, new MqttActionListener() {
            @Override
            public void onSuccess(IMqttToken subscribed) {
                for (int code : subscribed.getReasonCodes()) {
                    if (code >= 0x80) {
                        refused("the broker refused the subscription to " + spec.topics() + " (reason code 0x"
                                + Integer.toHexString(code) + ")");
                        return;
                    }
                }
                MqttSource.this.subscribed = true;
                LOG.info("MQTT {}: subscribed to {} at QoS {}", name, spec.topics(), spec.qos());
            }

            @Override
            public void onFailure(IMqttToken subscribed, Throwable e) {
                refused("Cannot subscribe to " + spec.topics() + ": " + e.getMessage());
            }
        }, new MqttProperties());
    }

    private void refused(String error) {
        if (!running) {
            return;
        }
        lastError = error;
        LOG.warn("MQTT {}: {}; connecting again", name, error);
        publisher.error(name, stream.name(), "subscribe");
        connected = false; // the supervisor drops the connection (not from Paho's thread, which must not disconnect)
        synchronized (signal) {
            signal.notifyAll();
        }
    }

    private void disconnectForcibly() {
        try {
            client.disconnectForcibly(0, 5_000, false);
        } catch (MqttException e) {
            LOG.debug("MQTT {}: cannot drop the connection: {}", name, e.toString());
        }
    }

    private void lost(String why) {
        if (!running) {
            return;
        }
        connected = false;
        subscribed = false;
        lastError = "Lost the connection to " + spec.url() + ": " + why;
        LOG.warn("MQTT {}: {}; connecting again", name, lastError);
        publisher.error(name, stream.name(), "connection_lost");
        synchronized (signal) {
            signal.notifyAll();
        }
    }

    /**
     * Publishes the message's event, trying again while the bus is unavailable, then acknowledges it; returns without
     * acknowledging when closed meanwhile (the broker delivers the message again at the next start).
     */
    private void arrived(String topic, MqttMessage message) throws MqttException {
        long now = System.currentTimeMillis();
        EventBus.Event event = events.event(topic, message.getPayload(), now);
        String delivery = message.getId() + ":" + digest(topic, message.getPayload());
        String key = message.getQos() == 0 ? null : "mqtt:" + spec.clientId() + ":" + delivery;
        synchronized (publishing) {
            Duration pause = Duration.ofSeconds(1);
            // Paho drops the DUP flag: a delivery among the recent ones may be a repeat (its acknowledgement lost in a
            // crash or a dropped connection), and a failed publish may still have committed; both look for the earlier one
            boolean repeat = key != null && recent.seen(delivery);
            if (key != null) {
                recent.record(delivery);
            }
            while (true) {
                if (!running) {
                    return;
                }
                try {
                    if (key == null) {
                        publisher.publish(name, stream, List.of(event), null);
                    } else if (repeat) {
                        publisher.publish(name, stream, List.of(event), key);
                    } else {
                        publisher.publishFirstDelivery(name, stream, List.of(event), key);
                    }
                    break;
                } catch (WatershedException e) {
                    repeat = true;
                    lastError = "Cannot publish a message of " + topic + ": " + e.getMessage();
                    LOG.warn("MQTT {}: {}; trying again, the message stays unacknowledged meanwhile", name, lastError);
                    pause = e.retryAfter().filter(d -> !d.isZero()).orElse(pause);
                    try {
                        publishing.wait(Math.min(pause.toMillis(), 5_000));
                    } catch (InterruptedException interrupted) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
            if (key != null) {
                client.messageArrivedComplete(message.getId(), message.getQos());
            }
            messages.incrementAndGet();
            lastMessageAt = Instant.ofEpochMilli(now);
            if (lastError != null && lastError.startsWith("Cannot publish")) {
                lastError = null;
            }
        }
    }

    static String digest(String topic, byte[] payload) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(topic.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(payload);
            return HexFormat.of().formatHex(sha.digest(), 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String reason(Exception e) {
        String message = e.getMessage();
        if (e.getCause() != null && e.getCause().getMessage() != null && !e.getCause().getMessage().equals(message)) {
            message = (message == null ? "" : message + ": ") + e.getCause().getMessage();
        }
        return message == null ? e.getClass().getSimpleName() : message;
    }

    private void await(Duration duration) {
        synchronized (signal) {
            if (!running) {
                return;
            }
            try {
                signal.wait(duration.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                running = false;
            }
        }
    }

    @Override
    public void close() {
        running = false;
        synchronized (signal) {
            signal.notifyAll();
        }
        synchronized (publishing) {
            publishing.notifyAll(); // a message waiting to be published again stays unacknowledged
        }
        Thread t;
        synchronized (this) {
            t = supervisor;
        }
        if (t != null) {
            try {
                t.join(20_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            if (client.isConnected()) {
                // the session stays on the broker (its expiry is set), so what arrives meanwhile waits for the next start
                client.disconnect(5_000, null, null, 0, new MqttProperties()).waitForCompletion(10_000);
            }
        } catch (MqttException e) {
            LOG.debug("MQTT {}: cannot disconnect cleanly: {}", name, e.toString());
        }
        try {
            client.close(true);
        } catch (MqttException e) {
            LOG.debug("MQTT {}: cannot close the client: {}", name, e.toString());
        }
        connected = false;
        recent.close();
    }

    private final class Callback implements MqttCallback {
        @Override
        public void disconnected(MqttDisconnectResponse response) {
            lost(response.getException() != null ? reason(response.getException())
                    : "the broker disconnected (reason code 0x" + Integer.toHexString(response.getReturnCode())
                            + (response.getReasonString() == null ? "" : ", " + response.getReasonString()) + ")");
        }

        @Override
        public void mqttErrorOccurred(MqttException exception) {
            lastError = "MQTT error: " + reason(exception);
            LOG.warn("MQTT {}: {}", name, lastError);
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) throws Exception {
            arrived(topic, message);
        }

        @Override
        public void deliveryComplete(IMqttToken token) {
            // this source publishes nothing to the broker
        }

        @Override
        public void connectComplete(boolean reconnect, String serverURI) {
            // the supervisor subscribes once the connect returns
        }

        @Override
        public void authPacketArrived(int reasonCode, MqttProperties properties) {
            // no enhanced authentication
        }
    }
}
