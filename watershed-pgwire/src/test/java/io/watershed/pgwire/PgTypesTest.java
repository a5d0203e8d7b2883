package io.watershed.pgwire;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PgTypesTest {
    @ParameterizedTest
    @CsvSource({"0.1,0.1", "1.0,1", "-2.5,-2.5", "1e20,1e+20", "1.5e-7,1.5e-07", "123456789012345,123456789012345",
            "1e15,1e+15", "0.0001,0.0001"})
    void doublesPrintAsPostgresPrintsThem(double value, String text) {
        assertThat(PgTypes.floating(value)).isEqualTo(text);
    }

    @ParameterizedTest
    @CsvSource({"0", "1", "-1", "12345.67", "0.0001", "-98765432109876543210.123456789", "10000", "100000000.5"})
    void numericsRoundTripThroughTheBinaryFormat(String value) {
        BigDecimal decimal = new BigDecimal(value);
        byte[] binary = PgTypes.numeric(decimal);
        assertThat(PgTypes.parameter(PgTypes.NUMERIC, 1, binary)).isEqualTo(decimal);
    }

    @Test
    void numericBinaryIsBase10000() {
        ByteBuffer b = ByteBuffer.wrap(PgTypes.numeric(new BigDecimal("12345.67")));
        assertThat(new short[] {b.getShort(), b.getShort(), b.getShort(), b.getShort(), b.getShort(), b.getShort(), b.getShort()})
                .containsExactly(3, 1, 0, 2, 1, 2345, 6700);
    }

    @Test
    void timestampsAreMicrosecondsSince2000InUtc() {
        OffsetDateTime at = OffsetDateTime.of(2000, 1, 1, 1, 0, 0, 0, ZoneOffset.ofHours(1));
        assertThat(ByteBuffer.wrap(PgTypes.binary(at, PgTypes.TIMESTAMPTZ)).getLong()).isZero();
        assertThat(PgTypes.text(at)).isEqualTo("2000-01-01 00:00:00+00");
        assertThat(PgTypes.text(LocalDateTime.of(2024, 2, 29, 3, 4, 5, 120_000_000))).isEqualTo("2024-02-29 03:04:05.12");
        assertThat(ByteBuffer.wrap(PgTypes.binary(LocalDate.of(2000, 1, 2), PgTypes.DATE)).getInt()).isEqualTo(1);
    }

    @Test
    void engineTypesMapToPostgresOids() {
        assertThat(PgTypes.oid("BIGINT")).isEqualTo(PgTypes.INT8);
        assertThat(PgTypes.oid("DECIMAL(10,2)")).isEqualTo(PgTypes.NUMERIC);
        assertThat(PgTypes.modifier("DECIMAL(10,2)")).isEqualTo((10 << 16 | 2) + 4);
        assertThat(PgTypes.oid("TIMESTAMP WITH TIME ZONE")).isEqualTo(PgTypes.TIMESTAMPTZ);
        assertThat(PgTypes.oid("JSON")).isEqualTo(PgTypes.JSON);
        assertThat(PgTypes.oid("ENUM('a')")).isEqualTo(PgTypes.TEXT);
    }
}
