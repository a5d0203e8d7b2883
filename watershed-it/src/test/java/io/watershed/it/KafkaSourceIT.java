package io.watershed.it;

import io.watershed.testing.WatershedHttp;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * External Kafka producers (any client; kcat works the same) write JSON to a stream's topic on the embedded broker,
 * and the lake writer treats their records like HTTP ones: schema, dead letters with the reason, exactly once.
 */
class KafkaSourceIT extends SourceConformance {
    @Override
    String streamBody(Path root) {
        return "key: id\n";
    }

    private String token;

    /** A producer outside the platform: on the SASL/SCRAM listener, logged in with a token that may write stream conf only. */
    private KafkaProducer<byte[], byte[]> producer() {
        if (token == null) {
            token = Tokens.issue(http, "kafka-producer", java.util.Map.of("stream", "conf"), "write stream:conf");
        }
        return Tokens.producer(platform.kafkaAddress(), token);
    }

    @Override
    void send(List<String> events) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            List<java.util.concurrent.Future<?>> acks = new java.util.ArrayList<>();
            for (String event : events) {
                String id = WatershedHttp.JSON.readTree(event).path("id").asText();
                acks.add(producer.send(new ProducerRecord<>("conf", id.getBytes(StandardCharsets.UTF_8), event.getBytes(StandardCharsets.UTF_8))));
            }
            producer.flush();
            for (java.util.concurrent.Future<?> ack : acks) {
                ack.get(); // a refusal (authorization, a timeout) fails the test here, with its cause
            }
        }
    }

    @Override
    Undecodable sendUndecodable() throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            producer.send(new ProducerRecord<>("conf", "{\"id\": \"poison\", oops".getBytes(StandardCharsets.UTF_8))).get();
            producer.send(new ProducerRecord<>("conf", new byte[] {(byte) 0xC3, (byte) 0x28, '{'})).get();
        }
        return new Undecodable(false, "the record is not valid JSON");
    }

    @Override
    String undecodableMetric() {
        return "watershed_lake_dlq_rows_total{stream=\"conf\"}";
    }

    @Test
    @Order(10)
    void theBootstrapAddressIsShownInSources() {
        org.assertj.core.api.Assertions.assertThat(http.get("/v1/sources").json().path("kafka").path("bootstrap_servers").asText())
                .isEqualTo(platform.kafkaAddress()).isNotEqualTo(platform.bootstrapServers());
    }
}
