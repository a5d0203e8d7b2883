package io.watershed.server;

import io.javalin.Javalin;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.SourceControl;
import io.watershed.spi.WatershedException;
import java.util.Map;

/** The ingest sources beyond the HTTP API (forward, file tail, JDBC, CDC, Kafka) and where outside Kafka clients connect. */
final class SourcesApi implements Routes {
    private final SourceControl sources;
    private final BusAddress bus;

    SourcesApi(SourceControl sources, BusAddress bus) {
        this.sources = sources;
        this.bus = bus;
    }

    @Override
    public void register(Javalin app) {
        app.get("/v1/sources", ctx -> ctx.json(Map.of("sources", SourceStatusJson.render(sources.statuses()),
                "kafka", Map.of("bootstrap_servers", bus.address(), "embedded", bus.embedded(), "authentication", bus.authentication()))));
        app.post("/v1/sources/{source}/run", ctx -> {
            AuditLog.note(ctx, "source.run", "source:" + ctx.pathParam("source"), null);
            if (!sources.runImport(ctx.pathParam("source"))) {
                throw new WatershedException(ErrorCode.UNKNOWN_SOURCE, "Cannot find the jdbc source '"
                        + ctx.pathParam("source") + "'; GET /v1/sources lists them (named <stream>.jdbc)");
            }
            ctx.status(202).json(Map.of("source", ctx.pathParam("source"), "started", true));
        });
    }
}
