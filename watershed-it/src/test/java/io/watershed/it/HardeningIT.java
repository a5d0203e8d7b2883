package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.watershed.testing.Await;
import io.watershed.testing.PlatformProcess;
import io.watershed.testing.TestProject;
import io.watershed.testing.WatershedHttp;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;

/**
 * The platform in its own JVM with HTTPS (a keystore made by the JDK's keytool), JSON logs and secrets in its settings:
 * it serves TLS only, its logs are JSON lines that never expand {@code ${...}} from what clients send, and no token,
 * shared key or keystore password appears in a log line or an answer.
 */
class HardeningIT {
    private static final String KEYSTORE_PASSWORD = "ks-pass-7c1e9b";
    private static final String SHARED_KEY = "shared-key-93ad51";

    @TempDir
    static Path root;

    static PlatformProcess platform;
    static WatershedHttp https;
    static Path log;

    @BeforeAll
    static void start() throws Exception {
        Path keystore = root.resolve("server.p12");
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-genkeypair",
                "-alias", "watershed", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost", "-ext",
                "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2", "-storetype", "PKCS12", "-keystore", keystore.toString(),
                "-storepass", KEYSTORE_PASSWORD).redirectErrorStream(true).start();
        String out = new String(keytool.getInputStream().readAllBytes());
        assertThat(keytool.waitFor()).as(out).isZero();
        Path project = TestProject.in(root.resolve("project"))
                .http("tls_keystore", keystore.toString())
                .http("tls_keystore_password", KEYSTORE_PASSWORD)
                .ingest("forward_shared_key", SHARED_KEY)
                .ingest("auto_create_streams", "false")
                .stream("events", "")
                .write();
        log = root.resolve("platform.log");
        platform = PlatformProcess.start(project, root.resolve("data"), log, List.of("-Xmx768m", "-Dwatershed.log.format=json",
                "-Dlog4j2.configurationFile=log4j2.xml"), // the product's configuration, not this module's test one
                System.getProperty("java.class.path"));
        KeyStore trust = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            trust.load(in, KEYSTORE_PASSWORD.toCharArray());
        }
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(trust);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, factory.getTrustManagers(), null);
        https = new WatershedHttp(platform.url(), platform.adminToken(), HttpClient.newBuilder().sslContext(tls)
                .connectTimeout(Duration.ofSeconds(5)).build());
    }

    @AfterAll
    static void stop() {
        if (platform != null) {
            platform.close();
        }
    }

    @Test
    void theApiServesHttpsOnly() throws Exception {
        assertThat(platform.url()).startsWith("https://127.0.0.1:");
        assertThat(https.get("/v1/health").status()).isEqualTo(200);
        assertThat(https.events("events", "{\"n\":1}").status()).isEqualTo(200);
        String plain = platform.url().replace("https://", "http://");
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        int status;
        try {
            status = client.send(HttpRequest.newBuilder(URI.create(plain + "/v1/health")).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode();
        } catch (java.io.IOException refused) {
            status = -1;
        }
        assertThat(status).as("plain HTTP on the TLS port").isNotEqualTo(200);
        assertThatThrownBy(() -> HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(platform.url() + "/v1/health"))
                .build(), HttpResponse.BodyHandlers.ofString())).as("an untrusted certificate is refused by default clients")
                .isInstanceOf(javax.net.ssl.SSLHandshakeException.class);
    }

    @Test
    void logsAreJsonLinesThatNeitherExpandLookupsNorShowSecrets() throws Exception {
        String tag = "${jndi:ldap://127.0.0.1:1/x}.${env:HOME}.${java:version}";
        int port = Integer.parseInt(https.get("/v1/sources").json().path("sources").get(0).path("listen").asText().replaceAll(".*:", ""));
        try (RawForwardClient client = new RawForwardClient(port, SHARED_KEY)) {
            MessageBufferPacker message = MessagePack.newDefaultBufferPacker();
            message.packArrayHeader(3).packString(tag).packLong(System.currentTimeMillis() / 1000).packMapHeader(1).packString("a").packInt(1);
            client.send(message.toByteArray());
        }
        JsonNode sources = https.get("/v1/sources").json();
        assertThat(sources.toString()).doesNotContain(SHARED_KEY).contains("****");
        Await.until("the unrouted tag in the log", Duration.ofSeconds(30), () -> {
            try {
                return Files.readString(log).contains("match no stream");
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        String text = Files.readString(log);
        assertThat(text).contains("${jndi:ldap://127.0.0.1:1/x}").contains("${env:HOME}").contains("${java:version}")
                .doesNotContain("." + System.getenv("HOME") + ".");
        for (String secret : List.of(platform.adminToken().substring(21), SHARED_KEY,
                KEYSTORE_PASSWORD)) {
            assertThat(text).as("a secret in the log").doesNotContain(secret);
        }
        long json = 0;
        String unrouted = null;
        for (String line : text.split("\n")) {
            if (!line.startsWith("{")) {
                continue; // the JVM's own warnings are not Log4j's
            }
            JsonNode event = WatershedHttp.JSON.readTree(line);
            assertThat(event.has("message") && event.has("@timestamp")).as(line).isTrue();
            if (event.path("message").asText().contains("match no stream")) {
                unrouted = event.path("message").asText();
            }
            json++;
        }
        assertThat(json).isGreaterThan(3);
        assertThat(unrouted).as("the message holds the tag as sent").contains(tag);
    }
}
