package io.watershed.ingest;

import io.watershed.testing.Await;
import java.time.Duration;
import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.Secret;
import io.watershed.spi.SourceSpec;
import io.watershed.spi.SourceStatus;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A jdbc import keeps the source contract; here its database is away (the real one is in the integration tests): the
 * run it makes at its first start fails, and the status says why, with the password masked.
 */
class JdbcImportSourceContractTest extends SourceContract {
    @Override
    SourceSpec spec(Path directory) throws Exception {
        return new SourceSpec.Jdbc("jdbc:postgresql://127.0.0.1:" + closedPort() + "/app", "reader", Secret.of("jdbc-contract-secret"),
                Optional.of("public.orders"), Optional.empty(), SourceSpec.ImportMode.INCREMENTAL, Optional.of("id"), "0 0 * * *", 100);
    }

    @Override
    String expectedName() {
        return STREAM + ".jdbc";
    }

    @Override
    void exercise(Source source) throws Exception {
        Await.until("the failed run in the status", Duration.ofMinutes(1), () -> {
            SourceStatus.Jdbc status = (SourceStatus.Jdbc) source.status();
            return status.lastError() != null && !status.running();
        });
        SourceStatus.Jdbc status = (SourceStatus.Jdbc) source.status();
        assertThat(status.lastError()).startsWith("the database refused");
        assertThat(status.password().toString()).isEqualTo(Secret.MASK);
        assertThat(status.table()).isEqualTo("public.orders");
        assertThat(status.lastRunAt()).as("a failed run is no run").isNull();
        assertThat(bus.events(STREAM)).isEmpty();
    }
}
