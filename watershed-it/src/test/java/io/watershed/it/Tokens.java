package io.watershed.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.testing.WatershedHttp;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/** Users, roles, grants and tokens for tests, made through the admin API. */
final class Tokens {
    private Tokens() {}

    /** Creates {@code user} (if missing) with a role of its own name holding {@code grants} ("read table:raw.x", ...); returns a new token. */
    static String issue(WatershedHttp admin, String user, Map<String, Object> tokenOptions, String... grants) {
        if (!admin.get("/v1/access/users").json().toString().contains("\"" + user + "\"")) {
            check(admin.postJson("/v1/access/users", Map.of("name", user, "kind", "service")));
            check(admin.postJson("/v1/access/roles", Map.of("name", user)));
            check(admin.postJson("/v1/access/users/" + user + "/roles", Map.of("role", user)));
        }
        for (String grant : grants) {
            String[] parts = grant.split(" ", 2);
            check(admin.postJson("/v1/access/grants", Map.of("role", user, "privilege", parts[0], "object", parts[1], "columns", List.of())));
        }
        Map<String, Object> body = new java.util.HashMap<>(tokenOptions);
        body.put("user", user);
        return check(admin.postJson("/v1/access/tokens", body)).json().path("token").asText();
    }

    /** Kafka client properties logging in with {@code token} over SASL/SCRAM-SHA-256. */
    static Properties kafka(String bootstrap, String token) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("security.protocol", "SASL_PLAINTEXT");
        p.put("sasl.mechanism", "SCRAM-SHA-256");
        String id = io.watershed.access.AccessStore.tokenId(token).orElseThrow();
        p.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + id
                + "\" password=\"" + token + "\";");
        return p;
    }

    /** A producer outside the platform, as any Kafka client is: acks=all, idempotent, logged in with {@code token}. */
    static org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]> producer(String bootstrap, String token) {
        Properties p = kafka(bootstrap, token);
        p.put(org.apache.kafka.clients.producer.ProducerConfig.ACKS_CONFIG, "all");
        p.put(org.apache.kafka.clients.producer.ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(org.apache.kafka.clients.producer.ProducerConfig.MAX_BLOCK_MS_CONFIG, "15000");
        return new org.apache.kafka.clients.producer.KafkaProducer<>(p, new org.apache.kafka.common.serialization.ByteArraySerializer(),
                new org.apache.kafka.common.serialization.ByteArraySerializer());
    }

    private static WatershedHttp.Response check(WatershedHttp.Response r) {
        assertThat(r.status()).as(r.body()).isBetween(200, 299);
        return r;
    }
}
