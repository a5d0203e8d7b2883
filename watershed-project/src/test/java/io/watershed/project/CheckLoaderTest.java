package io.watershed.project;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.CheckSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** checks/*.yaml through the project loader: every kind of check read, malformed ones refused with their position. */
class CheckLoaderTest {
    @TempDir
    Path dir;

    @Test
    void readsChecksAndRefusesMalformedOnes() throws IOException {
        ProjectFiles.write(dir, "watershed.yaml", "name: shop\n");
        ProjectFiles.write(dir, "checks/orders.yaml", """
                raw.orders:
                  - not_null: [id, product]
                  - unique: id
                  - accepted_values: {column: status, values: [new, paid]}
                  - row_count: {min: 1, max: 1_000_000}
                  - freshness: {column: ts, max_age: 2h}
                    severity: warn
                  - relationships: {column: product, to: raw.products, field: id}
                  - sql: SELECT * FROM raw.orders WHERE amount < 0
                    name: no_refunds
                """);
        List<CheckSpec> checks = new ProjectLoader(Map.of()).load(dir, null).checks();
        assertThat(checks).extracting(CheckSpec::name).containsExactly("not_null(id,product)", "unique(id)",
                "accepted_values(status)", "row_count", "freshness(ts)", "relationships(product)", "no_refunds");
        assertThat(checks.get(3).max()).hasValue(1_000_000);
        assertThat(checks.get(4).warnOnly()).isTrue();
        assertThat(checks.get(4).maxAge()).contains(Duration.ofHours(2));
        assertThat(checks.get(6).location()).isEqualTo("checks/orders.yaml:9:5");

        ProjectFiles.write(dir, "checks/orders.yaml", """
                orders:
                  - not_null: [id]
                raw.orders:
                  - not_null: [id]
                    unique: [id]
                  - row_count: {}
                  - accepted_values: {column: status}
                  - sql: DELETE FROM raw.orders
                  - not_null: [id]
                    severity: fatal
                """);
        assertThat(ProjectFiles.problems(dir, Map.of())).containsExactly(
                "checks/orders.yaml:1:1: 'orders' is not a table name; key each list of checks by its table as <namespace>.<table>, "
                        + "for example models.daily_top",
                "checks/orders.yaml:4:5: a check has exactly one of [not_null, unique, accepted_values, row_count, freshness, "
                        + "relationships, sql], this one has [not_null, unique]",
                "checks/orders.yaml:6:16: row_count needs min, max or both",
                "checks/orders.yaml:7:22: accepted_values needs 'values'",
                "checks/orders.yaml:8:10: sql: write a SELECT that returns the offending rows (none when the check passes)",
                "checks/orders.yaml:10:15: severity must be error (fails the run) or warn (reported only), got 'fatal'");
    }
}
