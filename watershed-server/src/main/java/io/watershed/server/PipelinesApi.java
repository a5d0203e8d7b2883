package io.watershed.server;

import io.javalin.Javalin;
import io.watershed.spi.StreamProcessor;
import io.watershed.spi.StreamProcessor.PipelineStatus;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The speed layer's HTTP API: the continuous pipelines' states, and stopping or restarting one. */
final class PipelinesApi implements Routes {
    private final StreamProcessor pipelines;

    PipelinesApi(StreamProcessor pipelines) {
        this.pipelines = pipelines;
    }

    @Override
    public void register(Javalin app) {
        app.get("/v1/pipelines", ctx -> {
            List<Map<String, Object>> out = new ArrayList<>();
            for (PipelineStatus p : pipelines.pipelines()) {
                out.add(pipelineJson(p));
            }
            List<Map<String, Object>> sinks = new ArrayList<>();
            for (StreamProcessor.SinkStatus sink : pipelines.sinks()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("name", sink.name());
                m.put("rows_written", sink.rowsWritten());
                m.put("pending_rows", sink.pendingRows());
                m.put("errors", sink.errors());
                m.put("last_error", sink.lastError().orElse(null));
                m.put("last_flush_seconds", sink.lastFlushSeconds());
                m.put("dead_letters", sink.deadLetters());
                m.put("last_dead_letter", sink.lastDeadLetter().orElse(null));
                sinks.add(m);
            }
            ctx.json(Map.of("pipelines", out, "sinks", sinks));
        });
        app.post("/v1/pipelines/{pipeline}/stop", ctx -> {
            AuditLog.note(ctx, "pipeline.stop", "pipeline:" + ctx.pathParam("pipeline"), null);
            ctx.json(pipelineJson(pipelines.stop(ctx.pathParam("pipeline"))));
        });
        app.post("/v1/pipelines/{pipeline}/restart", ctx -> {
            boolean reset = "true".equals(ctx.queryParam("reset"));
            AuditLog.note(ctx, "pipeline.restart", "pipeline:" + ctx.pathParam("pipeline"), reset ? "reset" : null);
            ctx.json(pipelineJson(pipelines.restart(ctx.pathParam("pipeline"), reset)));
        });
    }

    private static Map<String, Object> pipelineJson(PipelineStatus p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", p.name());
        m.put("state", p.state());
        m.put("outputs", p.outputs());
        m.put("events_per_second", p.eventsPerSecond());
        m.put("lag", p.lag());
        m.put("backpressure", p.backpressure().map(r -> Math.round(r * 100) / 100.0).orElse(null));
        m.put("backpressure_level", p.backpressureLevel().orElse(null));
        m.put("restarts", p.restarts());
        m.put("unreadable_records", p.unreadableRecords());
        m.put("job_id", p.jobId().orElse(null));
        m.put("error", p.error().orElse(null));
        return m;
    }
}
