package io.watershed.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunStoreTest {
    @TempDir
    Path dir;

    @Test
    void aRunHistoryThatCannotBeReadIsUnavailableNotAnInternalError() {
        RunStore store = new RunStore(io.watershed.spi.StateDatabase.local(dir));
        assertThat(store.runs(Optional.empty(), 10)).isEmpty();
        store.close(); // as when the file is gone or locked, or the platform stops under a request

        assertThatThrownBy(() -> store.runs(Optional.empty(), 10)).isInstanceOf(WatershedException.class).satisfies(e -> {
            WatershedException w = (WatershedException) e;
            assertThat(w.code()).isEqualTo(ErrorCode.UNAVAILABLE);
            assertThat(w.retryAfter()).isPresent();
            assertThat(w.getMessage()).startsWith("Cannot read the run history: the schedule database").contains("Retry");
        });
    }
}
