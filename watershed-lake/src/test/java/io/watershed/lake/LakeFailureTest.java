package io.watershed.lake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.sql.SQLException;
import org.apache.iceberg.exceptions.RuntimeIOException;
import org.apache.iceberg.jdbc.UncheckedSQLException;
import org.junit.jupiter.api.Test;

class LakeFailureTest {
    @Test
    void aCatalogOrWarehouseThatCannotBeReadIsUnavailable() {
        for (RuntimeException failure : new RuntimeException[] {
                new UncheckedSQLException(new SQLException("[SQLITE_BUSY] The database file is locked", null, 5), "Failed to load table"),
                new RuntimeIOException(new java.io.IOException("No such file or directory"), "Failed to read metadata")}) {
            assertThatThrownBy(() -> LakeFailure.guard("read raw.clicks", () -> {
                throw failure;
            })).isInstanceOf(WatershedException.class).satisfies(e -> {
                WatershedException w = (WatershedException) e;
                assertThat(w.code()).isEqualTo(ErrorCode.UNAVAILABLE);
                assertThat(w.retryAfter()).isPresent();
                assertThat(w.getMessage()).startsWith("Cannot read raw.clicks: the lake's").contains("Retry");
            });
        }
    }

    @Test
    void whatTheCallerGotWrongPassesThrough() {
        WatershedException unknown = new WatershedException(ErrorCode.UNKNOWN_TABLE, "Cannot find table 'x'");
        assertThatThrownBy(() -> LakeFailure.guard("read x", () -> {
            throw unknown;
        })).isSameAs(unknown);
    }

    @Test
    void aLakeThatCannotBeReachedIsToldApartFromARefusal() {
        assertThat(LakeFailure.unreachable(new org.apache.iceberg.exceptions.CommitFailedException("metadata location changed")))
                .isTrue();
        assertThat(LakeFailure.unreachable(new RuntimeException("wrapped", new java.net.ConnectException("refused")))).isTrue();
        assertThat(LakeFailure.unreachable(software.amazon.awssdk.core.exception.SdkClientException.create("Unable to execute "
                + "HTTP request"))).isTrue();
        assertThat(LakeFailure.unreachable(new IllegalArgumentException("Invalid column name"))).isFalse();
        assertThat(LakeFailure.unreachable(new org.apache.iceberg.exceptions.ValidationException("cannot add column"))).isFalse();
    }
}
