package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.testing.Await;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * An MQTT source on Debian's mosquitto (installed by the build, install-debian-tools.sh), with a password file and
 * persistence on, fed by Debian's {@code mosquitto_pub}: the conformance suite of broker sources.
 */
class MqttSourceIT extends BrokerSourceConformance {
    private static final Path MOSQUITTO = Path.of("/usr/sbin/mosquitto");
    private static final Path MOSQUITTO_PUB = Path.of("/usr/bin/mosquitto_pub");
    private static final Path MOSQUITTO_PASSWD = Path.of("/usr/bin/mosquitto_passwd");
    private static final String USER = "watershed";
    private static final String PASSWORD = "mqtt-conformance-secret-47";
    private static final String TOPIC = "sensors/line-1/reading";

    private Path brokerDirectory;
    private int port;
    private Process broker;

    @Override
    String sourceType() {
        return "mqtt";
    }

    @Override
    String password() {
        return PASSWORD;
    }

    @Override
    String streamBody(Path root) throws Exception {
        assertThat(MOSQUITTO).as("the build installs Debian's mosquitto (install-debian-tools.sh)").isExecutable();
        assertThat(MOSQUITTO_PUB).as("the build installs Debian's mosquitto-clients (install-debian-tools.sh)").isExecutable();
        brokerDirectory = Files.createDirectories(root.resolve("mosquitto"));
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        run(List.of(MOSQUITTO_PASSWD.toString(), "-c", "-b", brokerDirectory.resolve("passwords").toString(), USER, PASSWORD));
        Files.writeString(brokerDirectory.resolve("mosquitto.conf"), String.join("\n",
                "listener " + port + " 127.0.0.1",
                "allow_anonymous false",
                "password_file " + brokerDirectory.resolve("passwords"),
                "persistence true",
                "persistence_location " + brokerDirectory + "/",
                "max_queued_messages 0", // a session waiting for Watershed keeps everything
                "user " + System.getProperty("user.name"), // run as root (CI), mosquitto would switch to its own user
                "log_dest stderr",
                ""));
        startBroker();
        return "sources:\n  - type: mqtt\n    url: tcp://127.0.0.1:" + port + "\n    topics: [sensors/+/reading, alerts/#]\n"
                + "    user: " + USER + "\n    password: " + PASSWORD + "\n";
    }

    @Override
    void startBroker() throws Exception {
        broker = new ProcessBuilder(MOSQUITTO.toString(), "-c", brokerDirectory.resolve("mosquitto.conf").toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(brokerDirectory.resolve("mosquitto.log")
                        .toFile())).start();
        Process started = broker;
        Await.until("mosquitto to take clients on port " + port, Duration.ofSeconds(30), () -> {
            if (!started.isAlive()) {
                throw new AssertionError("mosquitto exited: " + brokerLog());
            }
            try (Socket socket = new Socket("127.0.0.1", port)) {
                return true;
            } catch (IOException e) {
                return false;
            }
        });
    }

    private String brokerLog() {
        try {
            return Files.readString(brokerDirectory.resolve("mosquitto.log"), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(cannot read the broker's log: " + e + ")";
        }
    }

    @Override
    void stopBroker() throws Exception {
        if (broker != null && broker.isAlive()) {
            broker.destroy(); // SIGTERM: mosquitto writes its queued messages to disk and exits
            if (!broker.waitFor(30, TimeUnit.SECONDS)) {
                broker.destroyForcibly();
                throw new AssertionError("mosquitto did not stop within 30s");
            }
        }
    }

    @Override
    void publish(List<String> messages) throws Exception {
        mosquittoPub(TOPIC, List.of("-l"), String.join("\n", messages) + "\n");
    }

    @Override
    String publishedTo() {
        return TOPIC;
    }

    @Override
    Undecodable sendUndecodable() throws Exception {
        mosquittoPub("alerts/line-1/raw", List.of("-m", "temperature=21.5"), "");
        return new Undecodable(false, "the message on topic alerts/line-1/raw is not JSON");
    }

    @Override
    String undecodableMetric() {
        return "watershed_source_dead_letters_total{source=\"conf.mqtt\",stream=\"conf\"}";
    }

    private void mosquittoPub(String topic, List<String> message, String input) throws Exception {
        List<String> command = new ArrayList<>(List.of(MOSQUITTO_PUB.toString(), "-h", "127.0.0.1", "-p", String.valueOf(port), "-V",
                "mqttv5", "-q", "1", "-u", USER, "-P", PASSWORD, "-t", topic));
        command.addAll(message);
        Process pub = new ProcessBuilder(command).redirectErrorStream(true).start();
        pub.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
        pub.getOutputStream().close();
        String output = new String(pub.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!pub.waitFor(120, TimeUnit.SECONDS) || pub.exitValue() != 0) {
            pub.destroyForcibly();
            throw new AssertionError("mosquitto_pub failed: " + output);
        }
    }

    private static void run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError(command.get(0) + " failed: " + output);
        }
    }
}
