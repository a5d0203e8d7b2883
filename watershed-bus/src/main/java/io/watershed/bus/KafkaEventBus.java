package io.watershed.bus;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.EventBus;
import io.watershed.spi.StreamSpec;
import io.watershed.spi.WatershedException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The bus on Kafka: one idempotent producer with {@code acks=all} shared by all ingest requests,
 * and an admin client that creates stream topics. Works the same against the embedded broker and
 * an external cluster.
 */
public final class KafkaEventBus implements EventBus {
    private final String bootstrapServers;
    private final KafkaProducer<byte[], byte[]> producer;
    private final Admin admin;
    private final IdempotencyLog idempotencyLog;
    private final Set<String> knownTopics = ConcurrentHashMap.newKeySet();

    public KafkaEventBus(String bootstrapServers, Duration deliveryTimeout) {
        this.bootstrapServers = bootstrapServers;
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(256 * 1024));
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, String.valueOf(128L << 20));
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "10000");
        int delivery = (int) Math.max(deliveryTimeout.toMillis(), 15_000);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(delivery));
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(Math.min(delivery - 5, 10_000)));
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "watershed-ingest");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        this.producer = new KafkaProducer<>(p);
        Properties a = new Properties();
        a.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        a.put(AdminClientConfig.CLIENT_ID_CONFIG, "watershed-admin");
        this.admin = Admin.create(a);
        Properties transactional = new Properties();
        transactional.putAll(p);
        transactional.put(ProducerConfig.CLIENT_ID_CONFIG, "watershed-ingest-idempotent");
        try {
            this.idempotencyLog = new IdempotencyLog(bootstrapServers, admin, transactional);
        } catch (RuntimeException e) {
            producer.close(Duration.ZERO);
            admin.close(Duration.ZERO);
            throw e;
        }
    }

    @Override
    public String bootstrapServers() {
        return bootstrapServers;
    }

    @Override
    public void ensureTopic(StreamSpec stream) {
        if (knownTopics.contains(stream.topic())) {
            return;
        }
        Map<String, String> configs = new HashMap<>();
        stream.retention().ifPresent(r -> configs.put("retention.ms", String.valueOf(r.toMillis())));
        NewTopic topic = new NewTopic(stream.topic(), stream.partitions(), (short) 1).configs(configs);
        try {
            admin.createTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw WatershedException.unavailable("Cannot create topic '" + stream.topic() + "': "
                        + e.getCause().getMessage(), Duration.ofSeconds(5), e.getCause());
            }
        } catch (Exception e) {
            throw WatershedException.unavailable("Cannot create topic '" + stream.topic() + "': " + e, Duration.ofSeconds(5), e);
        }
        knownTopics.add(stream.topic());
    }

    @Override
    public CompletableFuture<Void> publish(String topic, List<Event> events) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        AtomicInteger remaining = new AtomicInteger(events.size());
        try {
            for (Event event : events) {
                producer.send(new ProducerRecord<>(topic, null, event.acceptedAtMillis(), event.key(), event.value()),
                        (metadata, error) -> {
                            if (error instanceof RecordTooLargeException) {
                                done.completeExceptionally(new WatershedException(ErrorCode.PAYLOAD_TOO_LARGE,
                                        "Cannot write to topic '" + topic + "': an event is larger than the bus accepts ("
                                                + error.getMessage() + ")", error));
                            } else if (error != null) {
                                done.completeExceptionally(WatershedException.unavailable(
                                        "Cannot write to topic '" + topic + "': " + error.getMessage(), Duration.ofSeconds(5), error));
                            } else if (remaining.decrementAndGet() == 0) {
                                done.complete(null);
                            }
                        });
            }
        } catch (RuntimeException e) {
            done.completeExceptionally(WatershedException.unavailable(
                    "Cannot write to topic '" + topic + "': " + e.getMessage(), Duration.ofSeconds(5), e));
        }
        return done;
    }

    @Override
    public void publishIdempotent(String topic, List<Event> events, String idempotencyKey) {
        idempotencyLog.publish(topic, events, idempotencyKey);
    }

    @Override
    public Optional<Integer> publishedUnder(String topic, String idempotencyKey) {
        return idempotencyLog.publishedUnder(topic, idempotencyKey);
    }

    @Override
    public void close() {
        idempotencyLog.close();
        producer.close(Duration.ofSeconds(30));
        admin.close(Duration.ofSeconds(5));
    }
}
