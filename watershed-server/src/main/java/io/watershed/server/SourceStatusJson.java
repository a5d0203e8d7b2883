package io.watershed.server;

import io.watershed.spi.SourceStatus;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON of {@code GET /v1/sources}: one object per source with its {@code name} and {@code type}, then what its
 * kind reports. Secrets print as {@code ****} ({@link io.watershed.spi.Secret}); field names are the API's and stay.
 */
final class SourceStatusJson implements SourceStatus.Cases<Map<String, Object>> {
    private static final SourceStatusJson INSTANCE = new SourceStatusJson();

    private SourceStatusJson() {}

    static List<Map<String, Object>> render(List<SourceStatus> statuses) {
        List<Map<String, Object>> out = new ArrayList<>(statuses.size());
        for (SourceStatus status : statuses) {
            out.add(status.match(INSTANCE));
        }
        return out;
    }

    private static Map<String, Object> head(SourceStatus status) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", status.name());
        m.put("type", status.type());
        return m;
    }

    @Override
    public Map<String, Object> forward(SourceStatus.Forward s) {
        Map<String, Object> m = head(s);
        m.put("listen", s.listen());
        m.put("shared_key", s.sharedKey().toString());
        m.put("streams", s.streams());
        m.put("tags_create_streams", s.tagsCreateStreams());
        m.put("connections", s.connections());
        m.put("messages", s.messages());
        return m;
    }

    @Override
    public Map<String, Object> file(SourceStatus.FileTail s) {
        Map<String, Object> m = head(s);
        m.put("stream", s.stream());
        m.put("paths", s.paths());
        List<Map<String, Object>> files = new ArrayList<>();
        for (SourceStatus.TailedFile f : s.files()) {
            Map<String, Object> fm = new LinkedHashMap<>();
            fm.put("path", f.path());
            fm.put("offset", f.offset());
            fm.put("size", f.size());
            fm.put("following", f.following());
            files.add(fm);
        }
        m.put("files", files);
        m.put("lag_bytes", s.lagBytes());
        m.put("last_error", s.lastError());
        return m;
    }

    @Override
    public Map<String, Object> jdbc(SourceStatus.Jdbc s) {
        Map<String, Object> m = head(s);
        m.put("stream", s.stream());
        m.put("table", s.table());
        m.put("user", s.user());
        m.put("password", s.password().toString());
        m.put("mode", s.mode());
        m.put("watermark", s.watermark());
        m.put("last_run", s.lastRunAt());
        m.put("last_run_rows", s.lastRunRows());
        m.put("next_run", s.nextRunAt());
        m.put("running", s.running());
        m.put("last_error", s.lastError());
        return m;
    }

    @Override
    public Map<String, Object> cdc(SourceStatus.Cdc s) {
        Map<String, Object> m = head(s);
        m.put("database", s.database());
        m.put("user", s.user());
        m.put("password", s.password().toString());
        m.put("tables", s.tables());
        m.put("running", s.running());
        m.put("events", s.events());
        m.put("last_event", s.lastEventAt());
        m.put("last_error", s.lastError());
        return m;
    }

    @Override
    public Map<String, Object> mqtt(SourceStatus.Mqtt s) {
        Map<String, Object> m = head(s);
        m.put("stream", s.stream());
        m.put("url", s.url());
        m.put("topics", s.topics());
        m.put("qos", s.qos());
        m.put("client_id", s.clientId());
        m.put("user", s.user());
        m.put("password", s.password().toString());
        m.put("connected", s.connected());
        m.put("messages", s.messages());
        m.put("last_message", s.lastMessageAt());
        m.put("last_error", s.lastError());
        return m;
    }
}
