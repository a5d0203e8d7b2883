package io.watershed.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.Secret;
import io.watershed.spi.SourceSpec;
import io.watershed.spi.SourceStatus;
import io.watershed.testing.Await;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * An MQTT subscription keeps the source contract; here its broker is away (the real one, mosquitto, is in the
 * integration tests): the status says why it is not connected, with the password masked, and nothing is published.
 */
class MqttSourceContractTest extends SourceContract {
    @Override
    SourceSpec spec(Path directory) throws Exception {
        return new SourceSpec.Mqtt("tcp://127.0.0.1:" + closedPort(), List.of("sensors/+/reading", "alerts/#"), 1, "watershed-contract",
                Optional.of("reader"), Secret.of("mqtt-contract-secret"), Optional.of("topic"));
    }

    @Override
    String expectedName() {
        return STREAM + ".mqtt";
    }

    @Override
    void exercise(Source source) throws Exception {
        Await.until("the connection failure in the status", Duration.ofSeconds(30),
                () -> ((SourceStatus.Mqtt) source.status()).lastError() != null);
        SourceStatus.Mqtt status = (SourceStatus.Mqtt) source.status();
        assertThat(status.connected()).isFalse();
        assertThat(status.lastError()).startsWith("Cannot connect to tcp://127.0.0.1:").doesNotContain("mqtt-contract-secret");
        assertThat(status.password().toString()).isEqualTo(Secret.MASK);
        assertThat(status.topics()).containsExactly("sensors/+/reading", "alerts/#");
        assertThat(status.clientId()).isEqualTo("watershed-contract");
        assertThat(bus.events(STREAM)).isEmpty();
    }
}
