package io.watershed.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.spi.Secret;
import io.watershed.spi.SourceStatus;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code GET /v1/sources} keeps its field names and values for each kind of source, and masks every secret. */
class SourceStatusJsonTest {
    @Test
    void eachKindKeepsItsFieldsInOrderWithSecretsMasked() {
        List<Map<String, Object>> json = SourceStatusJson.render(List.of(
                new SourceStatus.Forward("forward", "127.0.0.1:24224", Secret.of("fwd-secret"), Map.of("app", List.of("app.**")), true, 2,
                        7),
                new SourceStatus.FileTail("app.file", "app", List.of("/logs/*.log"),
                        List.of(new SourceStatus.TailedFile("/logs/a.log", 10, 12, true)), 2, null),
                new SourceStatus.Jdbc("orders.jdbc", "orders", "public.orders", "reader", Secret.of("jdbc-secret"), "incremental", "41",
                        "2026-01-01T00:00:00Z", 3, "2026-01-02T00:00:00Z", false, null),
                new SourceStatus.Cdc("cdc", "postgresql://db:5432/app", "capture", Secret.of("cdc-secret"), Map.of("public.a", "a"), true,
                        5, null, "refused")));

        assertThat(json.get(0)).containsExactly(Map.entry("name", "forward"), Map.entry("type", "forward"),
                Map.entry("listen", "127.0.0.1:24224"), Map.entry("shared_key", "****"), Map.entry("streams", Map.of("app", List.of("app.**"))),
                Map.entry("tags_create_streams", true), Map.entry("connections", 2), Map.entry("messages", 7L));
        assertThat(json.get(1).keySet()).containsExactly("name", "type", "stream", "paths", "files", "lag_bytes", "last_error");
        assertThat(json.get(1)).containsEntry("type", "file").containsEntry("last_error", null)
                .containsEntry("files", List.of(Map.of("path", "/logs/a.log", "offset", 10L, "size", 12L, "following", true)));
        assertThat(json.get(2).keySet()).containsExactly("name", "type", "stream", "table", "user", "password", "mode", "watermark",
                "last_run", "last_run_rows", "next_run", "running", "last_error");
        assertThat(json.get(2)).containsEntry("type", "jdbc").containsEntry("password", "****").containsEntry("last_run_rows", 3L);
        assertThat(json.get(3).keySet()).containsExactly("name", "type", "database", "user", "password", "tables", "running", "events",
                "last_event", "last_error");
        assertThat(json.get(3)).containsEntry("type", "cdc").containsEntry("password", "****").containsEntry("last_error", "refused");
        assertThat(json.toString()).doesNotContain("fwd-secret", "jdbc-secret", "cdc-secret");
    }

    @Test
    void anUnsetSecretShowsEmpty() {
        Map<String, Object> forward = SourceStatusJson.render(List.of(new SourceStatus.Forward("forward", "127.0.0.1:1", Secret.of(""),
                Map.of(), false, 0, 0))).get(0);
        assertThat(forward).containsEntry("shared_key", "");
    }
}
