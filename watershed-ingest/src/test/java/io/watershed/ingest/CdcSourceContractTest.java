package io.watershed.ingest;

import io.watershed.testing.Await;
import java.time.Duration;
import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.Secret;
import io.watershed.spi.SourceSpec;
import io.watershed.spi.SourceStatus;
import java.nio.file.Path;

/**
 * A CDC engine keeps the source contract; here its database is away (the real one is in the integration tests): the
 * engine stops, the status says why (the password masked), and the engine is started again after a pause.
 */
class CdcSourceContractTest extends SourceContract {
    @Override
    SourceSpec spec(Path directory) throws Exception {
        return new SourceSpec.Cdc("jdbc:postgresql://127.0.0.1:" + closedPort() + "/app", "capture", Secret.of("cdc-contract-secret"),
                "public.orders", true);
    }

    @Override
    String expectedName() {
        return "cdc";
    }

    @Override
    void exercise(Source source) throws Exception {
        Await.until("the engine's failure in the status", Duration.ofMinutes(1), () -> ((SourceStatus.Cdc) source.status()).lastError() != null);
        SourceStatus.Cdc status = (SourceStatus.Cdc) source.status();
        assertThat(status.password().toString()).isEqualTo(Secret.MASK);
        assertThat(status.tables()).containsEntry("public.orders", STREAM);
        assertThat(status.database()).startsWith("postgresql://127.0.0.1:");
        assertThat(bus.events(STREAM)).isEmpty();
    }
}
