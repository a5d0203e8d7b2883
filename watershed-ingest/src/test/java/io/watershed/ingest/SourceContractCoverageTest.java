package io.watershed.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.SourceSpec;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every kind of {@link SourceSpec} has its subclass of {@link SourceContract}. */
class SourceContractCoverageTest {
    static final Map<Class<?>, Class<? extends SourceContract>> CONTRACTS = Map.of(
            SourceSpec.Forward.class, ForwardSourceContractTest.class,
            SourceSpec.FileTail.class, FileTailSourceContractTest.class,
            SourceSpec.Jdbc.class, JdbcImportSourceContractTest.class,
            SourceSpec.Cdc.class, CdcSourceContractTest.class,
            SourceSpec.Mqtt.class, MqttSourceContractTest.class);

    @Test
    void everyKindOfSourceHasItsContractTest() {
        assertThat(CONTRACTS.keySet())
                .as("a new kind of SourceSpec needs a SourceContract subclass (and an entry here) before it is done")
                .containsExactlyInAnyOrderElementsOf(Arrays.asList(SourceSpec.class.getPermittedSubclasses()));
    }
}
