package io.watershed.server;

import io.javalin.Javalin;
import io.watershed.lake.LakeUpkeep;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The lake's tables: their shape (rows, files, snapshots) and compaction on demand. */
final class TablesApi implements Routes {
    private final LakeUpkeep upkeep;

    TablesApi(LakeUpkeep upkeep) {
        this.upkeep = upkeep;
    }

    @Override
    public void register(Javalin app) {
        app.get("/v1/tables", ctx -> {
            List<Map<String, Object>> out = new ArrayList<>();
            io.watershed.access.Principal principal = Authorization.principal(ctx);
            for (LakeUpkeep.TableStats t : upkeep.stats()) {
                principal.columns(t.table()).ifPresent(granted -> { // the tables the caller may read, with the columns it may see
                    Map<String, Object> m = statsJson(t);
                    m.put("columns", t.columns().stream().filter(c -> granted.isEmpty() || granted.contains(c.getKey().toLowerCase(
                            java.util.Locale.ROOT))).map(c -> Map.of("name", c.getKey(), "type", c.getValue())).toList());
                    out.add(m);
                });
            }
            ctx.json(Map.of("tables", out));
        });
        app.post("/v1/tables/{table}/compact", ctx -> {
            AuditLog.note(ctx, "table.compact", "table:" + ctx.pathParam("table"), null);
            ctx.json(resultJson(upkeep.compact(ctx.pathParam("table"))));
        });
    }

    private static Map<String, Object> statsJson(LakeUpkeep.TableStats t) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", t.table());
        m.put("rows", t.rows());
        m.put("files", t.files());
        m.put("bytes", t.bytes());
        m.put("average_file_bytes", t.averageFileBytes());
        m.put("snapshots", t.snapshots());
        m.put("last_compaction", t.lastCompaction().map(Object::toString).orElse(null));
        m.put("retention", t.retention().map(io.watershed.spi.Durations::human).orElse(null));
        m.put("target_file_bytes", t.targetFileSize());
        m.put("last_commit_at", t.lastCommit().map(Object::toString).orElse(null));
        return m;
    }

    private static Map<String, Object> resultJson(LakeUpkeep.Result r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("table", r.table());
        m.put("files_before", r.filesBefore());
        m.put("files_after", r.filesAfter());
        m.put("files_rewritten", r.filesRewritten());
        m.put("files_written", r.filesWritten());
        m.put("bytes_rewritten", r.bytesRewritten());
        m.put("conflicts", r.conflicts());
        m.put("partition_files_dropped", r.partitionFilesDropped());
        m.put("snapshots_expired", r.snapshotsExpired());
        m.put("orphan_files_removed", r.orphansRemoved());
        m.put("elapsed_ms", r.millis());
        return m;
    }
}
