package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.testing.Await;
import io.watershed.testing.PlatformProcess;
import io.watershed.testing.WatershedHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * What a source that subscribes to a message broker must do besides the conformance suite, against the real broker
 * (started by the subclass once per class, on a free loopback port, with its messages kept on disk) and messages
 * published by the broker's own command-line client: what is published while Watershed is stopped arrives after it
 * starts; the broker restarting is survived; a kill -9 of the platform in the middle of a stream of messages loses and
 * doubles nothing, since a message is acknowledged only once its event is durable; the password shows in no API
 * answer and no log line. Each broker's IT extends this.
 */
abstract class BrokerSourceConformance extends SourceConformance {
    /** Starts the broker on its port and data directory (the same each time), and returns once it takes clients. */
    abstract void startBroker() throws Exception;

    /** Stops the broker the way its service does (it keeps its queued messages on disk). */
    abstract void stopBroker() throws Exception;

    /** Publishes each text as one message with the broker's own client; returns once the broker has them all. */
    abstract void publish(List<String> messages) throws Exception;

    /** Where the messages are published, as the event's topic field shows it; null when the source stores none. */
    abstract String publishedTo();

    /**
     * Publishes once the source is subscribed: a broker drops what is published to a topic nobody subscribed to, which
     * until the source's first subscription is answered includes our stream.
     */
    @Override
    void send(List<String> events) throws Exception {
        Await.until("the " + sourceType() + " source subscribed", Duration.ofSeconds(60), () -> status(http).path("connected").asBoolean());
        publish(events);
    }

    @Override
    String secret() {
        return password();
    }

    /** The password the source logs in with (the broker refuses it anonymous). */
    abstract String password();

    @AfterAll
    void stopTheBroker() throws Exception {
        stopBroker();
    }

    @Test
    @Order(20)
    void messagesPublishedWhileThePlatformIsStoppedArriveAfterItStarts() throws Exception {
        stop();
        publish(events(sent, 150));
        sent += 150;
        startAgain();
        awaitEachSentEventOnce();
        if (publishedTo() != null) {
            assertThat(http.rows("SELECT topic FROM raw.conf WHERE id = 'e" + (sent - 1) + "'")).containsExactly(publishedTo());
        }
    }

    @Test
    @Order(21)
    void aBrokerRestartIsSurvived() throws Exception {
        stopBroker();
        Await.until("the source to notice the broker is gone", Duration.ofSeconds(60), () -> !status(http).path("connected").asBoolean());
        assertThat(status(http).path("last_error").asText()).isNotBlank();
        startBroker();
        publish(events(sent, 100));
        sent += 100;
        awaitEachSentEventOnce();
        Await.until("the source connected again", Duration.ofSeconds(60), () -> status(http).path("connected").asBoolean());
    }

    @Test
    @Order(22)
    void aKillNineInTheMiddleOfAStreamOfMessagesLosesAndDoublesNothing() throws Exception {
        stop();
        // queued by the broker first, so the source is busy publishing (never waiting for the next message) when killed
        int before = sent;
        int count = 3000;
        publish(events(before, count));
        sent += count;
        Path log = root.resolve("platform.log");
        PlatformProcess process = PlatformProcess.start(root.resolve("project"), root.resolve("data"), log);
        try {
            WatershedHttp processHttp = process.http();
            // timed by the source's own count: the lake's lags behind what the source has published
            Await.until("the source to have published a part of the stream", Duration.ofSeconds(120),
                    () -> status(processHttp).path("messages").asLong() >= 300);
            long atKill = status(processHttp).path("messages").asLong();
            process.kill();
            assertThat(atKill).as("the kill came in the middle of the stream").isLessThan(count);
            process = PlatformProcess.start(root.resolve("project"), root.resolve("data"), log);
            http = process.http();
            awaitEachSentEventOnce();
            String sources = http.get("/v1/sources").body();
            assertThat(sources).doesNotContain(password()).contains("****");
            assertThat(Files.readString(log)).as("the platform's log").doesNotContain(password()).contains(status(http)
                    .path("name").asText());
            process.stop(Duration.ofSeconds(60));
        } catch (AssertionError | RuntimeException e) {
            throw new AssertionError(e.getMessage() + "\nThe source's log lines:\n" + sourceLines(log), e);
        } finally {
            if (process.alive()) {
                process.kill(); // and waits, so the in-process platform below may take the data directory
            }
            startAgain();
        }
    }

    private static String sourceLines(Path log) {
        try {
            return String.join("\n", Files.readAllLines(log).stream().filter(line -> line.contains("Source - ")).toList());
        } catch (java.io.IOException e) {
            return "(cannot read " + log + ": " + e + ")";
        }
    }

    /** The status of the source under test in /v1/sources. */
    JsonNode status(WatershedHttp http) {
        for (JsonNode source : http.get("/v1/sources").json().path("sources")) {
            if (source.path("type").asText().equals(sourceType())) {
                return source;
            }
        }
        throw new AssertionError("/v1/sources lists no " + sourceType() + " source");
    }
}
