package io.watershed.server;

import io.javalin.Javalin;
import io.javalin.http.Context;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/** Whether the platform is up ({@code /v1/health}, open to all) and its Prometheus metrics ({@code /metrics}). */
final class StatusApi implements Routes {
    private final String project;
    private final Supplier<Duration> uptime;
    private final BusAddress bus;
    private final StreamCatalog streams;
    private final PrometheusMeterRegistry meters;
    private final io.watershed.spi.Leases leases;

    StatusApi(String project, Supplier<Duration> uptime, BusAddress bus, StreamCatalog streams, PrometheusMeterRegistry meters,
            io.watershed.spi.Leases leases) {
        this.leases = leases;
        this.project = project;
        this.uptime = uptime;
        this.bus = bus;
        this.streams = streams;
        this.meters = meters;
    }

    @Override
    public void register(Javalin app) {
        app.get("/v1/health", this::health);
        app.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(meters.scrape()));
    }

    private void health(Context ctx) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", "ok");
        body.put("project", project);
        body.put("uptime_seconds", uptime.get().toSeconds());
        body.put("bus", bus.embedded() ? "embedded " + bus.address() : bus.address());
        body.put("streams", streams.streams().size());
        // which of the project's single-owner work (lake writers, pipelines, schedules, upkeep) this instance does
        body.put("instance", leases.instance());
        body.put("leases", leases.held().keySet());
        ctx.json(body);
    }
}
