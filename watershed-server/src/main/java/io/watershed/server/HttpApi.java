package io.watershed.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.json.JavalinJackson;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.Settings;
import io.watershed.spi.WatershedException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP server: Jetty through Javalin (TLS when configured), {@link Authorization} before every endpoint, the
 * {@link AuditLog} after each, the endpoints of the {@link Routes} it is given, and the one error shape. Every error is
 * {@code {"error": {"code", "message", "retriable", ...details}}}, with the status of its {@link ErrorCode} and, for
 * retriable refusals that say when, a {@code Retry-After} header.
 */
final class HttpApi implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HttpApi.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Javalin app;

    HttpApi(Settings.Http settings, Authorization authorization, AuditLog audit, List<Routes> routes) {
        this.app = Javalin.create(config -> {
            config.showJavalinBanner = false;
            config.jsonMapper(new JavalinJackson(JSON, false));
            config.http.maxRequestSize = settings.maxBody();
            config.useVirtualThreads = false;
            ConsoleApi.staticFiles(config);
            config.jetty.modifyHttpConfiguration(http -> {
                http.setRequestHeaderSize(settings.maxHeader());
                http.setSendServerVersion(false);
            });
            settings.tlsKeystore().ifPresent(keystore -> config.jetty.addConnector((server, http) ->
                    Tls.connector(server, http, java.nio.file.Path.of(keystore), settings.tlsKeystorePassword(),
                            settings.host(), settings.port())));
        });
        authorization.register(app);
        app.after(audit::request);
        routes.forEach(r -> r.register(app));
        app.exception(WatershedException.class, (e, ctx) -> error(ctx, e));
        app.exception(Exception.class, (e, ctx) -> {
            LOG.error("Unexpected failure on {} {}", ctx.method(), ctx.path(), e);
            error(ctx, new WatershedException(ErrorCode.INTERNAL, "Cannot complete the request: an internal error occurred ("
                    + e.getClass().getSimpleName() + "); see the server log", e));
        });
        app.error(404, ctx -> {
            String type = ctx.res().getContentType();
            if (type == null || !type.startsWith("application/json")) {
                error(ctx, new WatershedException(ErrorCode.UNKNOWN_STREAM, "Cannot find " + ctx.method() + " " + ctx.path()
                        + ": no such endpoint; see the API in README.md"));
            }
        });
        if (settings.tlsKeystore().isPresent()) {
            app.start(); // the TLS connector binds host and port
        } else {
            app.start(settings.host(), settings.port());
        }
    }

    int port() {
        return app.port();
    }

    private static void error(Context ctx, WatershedException e) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("code", e.code().name());
        error.put("message", e.getMessage());
        error.put("retriable", e.code().retriable());
        error.putAll(e.details());
        e.retryAfter().ifPresent(d -> {
            ctx.header("Retry-After", String.valueOf(Math.max(1, d.toSeconds())));
            error.put("retry_after_seconds", Math.max(1, d.toSeconds()));
        });
        if (e.code().category() == io.watershed.spi.ErrorCategory.INTERNAL) {
            LOG.error("{}", e.getMessage(), e);
        }
        if (ctx.path().startsWith(IcebergCatalogApi.PREFIX + "/")) {
            IcebergCatalogApi.error(ctx, e); // Iceberg's clients read the spec's error shape
            return;
        }
        ctx.status(e.code().httpStatus()).json(Map.of("error", error));
    }

    @Override
    public void close() {
        app.stop();
    }
}
