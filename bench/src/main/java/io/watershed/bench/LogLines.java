package io.watershed.bench;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.SplittableRandom;

/**
 * Application log events as JSON lines, the same for every run (a fixed seed): {@code time} (ISO-8601, spread evenly
 * over the span), {@code level} (DEBUG 20 %, INFO 58 %, WARN 14 %, ERROR 8 %), {@code service} (12, a few far more
 * frequent), {@code host} (web-01..web-40), {@code user} (50,000), {@code trace_id} (random hex) and a {@code message}
 * from templates per level with requests, durations, tables, exceptions and error phrases filled in. About 200 bytes.
 */
final class LogLines {
    static final String[] SERVICES = {"api-gateway", "checkout", "payments", "auth", "inventory", "search", "cart", "shipping",
        "notifications", "recommendations", "users", "billing"};
    /** Cumulative weights of the services, out of 1000. */
    private static final int[] SERVICE_WEIGHTS = {220, 370, 490, 600, 690, 770, 840, 890, 930, 960, 985, 1000};
    private static final String[] METHODS = {"GET", "GET", "GET", "POST", "PUT", "DELETE"};
    private static final String[] PATHS = {"/api/v1/orders", "/api/v1/cart", "/api/v1/products", "/api/v1/users", "/api/v2/search",
        "/api/v1/payments", "/health"};
    private static final String[] TABLES = {"orders", "order_items", "customers", "invoices", "stock_levels", "sessions"};
    private static final String[] DATABASES = {"orders-db", "users-db", "inventory-db", "billing-db"};
    private static final String[] QUEUES = {"order-events", "email-outbox", "stock-updates", "audit-log"};
    private static final String[] JOBS = {"nightly-report", "cache-warmup", "invoice-run", "session-cleanup"};
    private static final String[] REGIONS = {"eu-west-1", "us-east-1", "ap-south-1"};
    private static final String[] EXCEPTIONS = {"NullPointerException", "IllegalStateException", "IllegalArgumentException",
        "ConcurrentModificationException"};
    private static final String[] METHOD_NAMES = {"OrderService.applyDiscount", "CartController.update", "PaymentClient.charge",
        "StockLedger.reserve"};

    private LogLines() {}

    /** Writes {@code count} events to {@code file}, their times evenly over [{@code start}, {@code start + spanMillis}). */
    static void write(Path file, long count, long start, long spanMillis) throws IOException {
        SplittableRandom random = new SplittableRandom(20261207);
        StringBuilder line = new StringBuilder(400);
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (long i = 0; i < count; i++) {
                line.setLength(0);
                append(line, random, start + (long) ((double) i * spanMillis / count));
                out.append(line).append('\n');
            }
        }
    }

    static void append(StringBuilder out, SplittableRandom r, long time) {
        int roll = r.nextInt(100);
        String level = roll < 20 ? "DEBUG" : roll < 78 ? "INFO" : roll < 92 ? "WARN" : "ERROR";
        int weight = r.nextInt(1000);
        int s = 0;
        while (SERVICE_WEIGHTS[s] <= weight) {
            s++;
        }
        String service = SERVICES[s];
        out.append("{\"time\":\"").append(Instant.ofEpochMilli(time)).append("\",\"level\":\"").append(level)
                .append("\",\"service\":\"").append(service).append("\",\"host\":\"web-").append(two(1 + r.nextInt(40)))
                .append("\",\"user\":\"u").append(10_000 + r.nextInt(50_000)).append("\",\"trace_id\":\"")
                .append(hex(r.nextLong())).append("\",\"message\":\"");
        message(out, r, level);
        out.append("\"}");
    }

    private static void message(StringBuilder out, SplittableRandom r, String level) {
        switch (level) {
            case "DEBUG" -> {
                switch (r.nextInt(3)) {
                    case 0 -> out.append("Opening connection to ").append(pick(r, DATABASES)).append(" with pool size ").append(4 + r.nextInt(28));
                    case 1 -> out.append("Cache lookup for key session:").append(r.nextInt(1_000_000)).append(" took ").append(r.nextInt(900))
                            .append(" us");
                    default -> out.append("Parsed ").append(3 + r.nextInt(20)).append(" request headers for ").append(pick(r, METHODS))
                            .append(' ').append(pick(r, PATHS));
                }
            }
            case "INFO" -> {
                switch (r.nextInt(5)) {
                    case 0 -> out.append(pick(r, METHODS)).append(' ').append(pick(r, PATHS)).append('/').append(r.nextInt(100_000))
                            .append(" completed in ").append(2 + r.nextInt(400)).append(" ms with status 200");
                    case 1 -> out.append("User logged in from 10.").append(r.nextInt(256)).append('.').append(r.nextInt(256)).append('.')
                            .append(r.nextInt(256)).append(" using password authentication");
                    case 2 -> out.append("Processed batch of ").append(1 + r.nextInt(500)).append(" messages from queue ")
                            .append(pick(r, QUEUES));
                    case 3 -> out.append("Scheduled job ").append(pick(r, JOBS)).append(" finished in ").append(50 + r.nextInt(20_000))
                            .append(" ms");
                    default -> out.append("Cache hit ratio ").append(50 + r.nextInt(50)).append(" percent for region ").append(pick(r, REGIONS));
                }
            }
            case "WARN" -> {
                switch (r.nextInt(5)) {
                    case 0 -> out.append("Slow query on table ").append(pick(r, TABLES)).append(" took ").append(1_000 + r.nextInt(9_000))
                            .append(" ms");
                    case 1 -> out.append("Retrying request to ").append(pick(r, SERVICES)).append(" after timeout, attempt ")
                            .append(1 + r.nextInt(3)).append(" of 3");
                    case 2 -> out.append("Disk usage at ").append(80 + r.nextInt(19)).append(" percent on volume /data");
                    case 3 -> out.append("Deprecated API version v1 called by client ").append(pick(r, SERVICES));
                    default -> out.append("Connection pool for ").append(pick(r, DATABASES)).append(" is exhausted, waited ")
                            .append(100 + r.nextInt(2_000)).append(" ms");
                }
            }
            default -> {
                switch (r.nextInt(7)) {
                    case 0 -> out.append("Connection refused while calling ").append(pick(r, SERVICES)).append(" at 10.0.")
                            .append(r.nextInt(16)).append('.').append(r.nextInt(256)).append(':').append(8080 + r.nextInt(4));
                    case 1 -> out.append("Request to ").append(pick(r, SERVICES)).append(" timed out after ").append(1_000 * (1 + r.nextInt(30)))
                            .append(" ms");
                    case 2 -> out.append("Unhandled ").append(pick(r, EXCEPTIONS)).append(" in ").append(pick(r, METHOD_NAMES));
                    case 3 -> out.append("Out of memory while allocating a ").append(1 + r.nextInt(512)).append(" MB buffer");
                    case 4 -> out.append("Deadlock detected on table ").append(pick(r, TABLES)).append(", transaction rolled back");
                    case 5 -> out.append("Payment declined for order ").append(r.nextInt(10_000_000)).append(": insufficient funds");
                    default -> out.append("Internal server error while handling ").append(pick(r, METHODS)).append(' ').append(pick(r, PATHS));
                }
            }
        }
    }

    private static String pick(SplittableRandom r, String[] values) {
        return values[r.nextInt(values.length)];
    }

    private static String hex(long value) {
        String hex = Long.toHexString(value);
        return "0".repeat(16 - hex.length()) + hex;
    }

    private static String two(int n) {
        return n < 10 ? "0" + n : String.valueOf(n);
    }
}
