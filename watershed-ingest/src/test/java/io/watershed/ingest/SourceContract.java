package io.watershed.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.watershed.spi.MemoryBus;
import io.watershed.spi.Settings;
import io.watershed.spi.SourceSpec;
import io.watershed.spi.SourceStatus;
import io.watershed.spi.StreamRegistry;
import io.watershed.spi.StreamSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every {@link Source} does, whatever its kind: the kind's spec builds one source of that kind with its name;
 * its status can be asked before start, while running and after close; a started source delivers to its stream
 * (or, with its database away, says why in its status and goes on); close is safe without start and twice, and
 * releases what the source holds, so a source of the same name can be built again on the same data directory.
 * Each kind subclasses this ({@link SourceContractCoverageTest} checks that every kind of {@link SourceSpec} does);
 * the integration tests' {@code SourceConformance} runs the kinds on the real platform.
 */
abstract class SourceContract {
    static final String STREAM = "contract";

    @TempDir
    Path directory;
    final MemoryBus bus = new MemoryBus();
    StreamSpec stream;
    SourcePublisher publisher;
    private List<Source> built = List.of();

    /** The spec of the kind under test. */
    abstract SourceSpec spec(Path directory) throws Exception;

    /** The name the source of {@link #spec} gets. */
    abstract String expectedName();

    /** Makes the started source do its work, and waits for the outcome its kind promises. */
    abstract void exercise(Source source) throws Exception;

    /** The platform's settings for the test; the forward listener is off unless a kind needs it. */
    Settings settings() {
        return withForwardPort(-1);
    }

    static Settings withForwardPort(int port) {
        Settings d = Settings.defaults();
        Settings.Ingest i = d.ingest();
        return new Settings(d.http(), d.auth(), new Settings.Ingest(false, i.defaultPartitions(), i.maxInFlightRequests(), 0, 0,
                Duration.ofSeconds(5), "127.0.0.1", port, i.forwardSharedKey()), d.bus(), d.lake(), d.query(), d.pg(), d.pipelines(), d.models(),
                d.metadata(), d.alerts());
    }

    @BeforeEach
    void buildSource() throws Exception {
        stream = new StreamSpec(STREAM, 1, Optional.of("id"), Optional.empty(), Duration.ofSeconds(5), Optional.empty(), Map.of(),
                StreamSpec.Lifecycle.NONE, List.of(spec(directory)));
        publisher = new SourcePublisher(bus, new StreamRegistry() {
            @Override
            public Optional<StreamSpec> resolve(String name, boolean createIfMissing) {
                return name.equals(STREAM) ? Optional.of(stream) : Optional.empty();
            }

            @Override
            public Collection<StreamSpec> streams() {
                return List.of(stream);
            }
        }, new SimpleMeterRegistry(), Duration.ofSeconds(5));
        built = build();
    }

    private List<Source> build() {
        return SourceFactory.create(List.of(stream), settings(), publisher, directory.resolve("data"));
    }

    @AfterEach
    void closeSource() {
        built.forEach(Source::close);
    }

    Source source() {
        return built.get(0);
    }

    @Test
    void theSpecBuildsOneSourceOfItsKindWithItsName() {
        assertThat(built).hasSize(1);
        SourceStatus status = source().status();
        assertThat(status.type()).isEqualTo(stream.sources().get(0).type());
        assertThat(status.name()).isEqualTo(expectedName()).isEqualTo(source().name());
        assertThat(status.match(KIND)).as("the status is the record of its kind").isEqualTo(status.type());
    }

    @Test
    void theStatusIsReportedBeforeStartAndAfterClose() {
        assertThat(source().status().name()).isEqualTo(expectedName());
        source().start();
        assertThat(source().status().name()).isEqualTo(expectedName());
        source().close();
        assertThat(source().status().name()).isEqualTo(expectedName());
    }

    @Test
    void aStartedSourceDoesItsWork() throws Exception {
        source().start();
        exercise(source());
    }

    @Test
    void closeIsSafeWithoutStartAndTwiceAndReleasesTheSource() {
        source().close();
        source().close();
        built = build();
        built.get(0).start();
        assertThat(built.get(0).status().name()).isEqualTo(expectedName());
    }

    /** A port nothing listens on. */
    static int closedPort() throws java.io.IOException {
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static final SourceStatus.Cases<String> KIND = new SourceStatus.Cases<>() {
        @Override
        public String forward(SourceStatus.Forward status) {
            return "forward";
        }

        @Override
        public String file(SourceStatus.FileTail status) {
            return "file";
        }

        @Override
        public String jdbc(SourceStatus.Jdbc status) {
            return "jdbc";
        }

        @Override
        public String cdc(SourceStatus.Cdc status) {
            return "cdc";
        }

        @Override
        public String mqtt(SourceStatus.Mqtt status) {
            return "mqtt";
        }
    };
}
