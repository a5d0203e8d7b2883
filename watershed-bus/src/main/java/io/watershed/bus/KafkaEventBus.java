package io.watershed.bus;

import io.watershed.spi.BusAdmin;
import io.watershed.spi.BusReader;
import io.watershed.spi.ErrorCode;
import io.watershed.spi.EventBus;
import io.watershed.spi.StreamSpec;
import io.watershed.spi.WatershedException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import io.watershed.spi.BusConnection;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The bus on Kafka: one idempotent producer with {@code acks=all} shared by all ingest requests,
 * and an admin client that creates stream topics; it opens the readers ({@link KafkaBusReader}) and
 * admins ({@link KafkaBusAdmin}) other parts ask for. Works the same against the embedded broker and
 * an external cluster.
 */
public final class KafkaEventBus implements EventBus {
    private final BusConnection connection;
    private final KafkaProducer<byte[], byte[]> producer;
    private final Admin admin;
    /** Started in the background: reading back the keys must not delay start-up; keyed requests wait for it. */
    private final CompletableFuture<IdempotencyLog> idempotencyLog;
    private final Set<String> knownTopics = ConcurrentHashMap.newKeySet();

    public KafkaEventBus(BusConnection connection, Duration deliveryTimeout) {
        this(connection, deliveryTimeout, "");
    }

    /**
     * @param instance this instance's name when several share the cluster: its keyed ingest uses transactional ids of
     *     its own, which another instance's start would otherwise fence; empty for the one instance of a machine
     */
    public KafkaEventBus(BusConnection connection, Duration deliveryTimeout, String instance) {
        this.connection = connection;
        Properties p = connection.properties();
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
        this.admin = BusClients.admin(connection, "watershed-admin", Map.of());
        Properties transactional = new Properties();
        transactional.putAll(p);
        this.idempotencyLog = CompletableFuture.supplyAsync(() -> new IdempotencyLog(connection, admin, transactional, instance),
                task -> new Thread(task, "watershed-idempotency-log").start());
    }

    @Override
    public BusConnection connection() {
        return connection;
    }

    @Override
    public Map<String, Integer> topics() {
        try {
            Set<String> names = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            Map<String, Integer> partitions = new HashMap<>();
            admin.describeTopics(names).allTopicNames().get(30, TimeUnit.SECONDS)
                    .forEach((name, description) -> partitions.put(name, description.partitions().size()));
            return partitions;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw WatershedException.unavailable("Cannot list the bus's topics: interrupted", Duration.ofSeconds(1), e);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            throw WatershedException.unavailable("Cannot list the bus's topics at " + connection.bootstrapServers() + ": "
                    + (e.getCause() != null ? e.getCause().getMessage() : e.toString()), Duration.ofSeconds(5), e);
        }
    }

    @Override
    public Map<String, Long> endOffsetTotals(Collection<StreamSpec> streams) {
        Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> partitions = new HashMap<>();
        for (StreamSpec s : streams) {
            for (int i = 0; i < s.partitions(); i++) {
                partitions.put(new org.apache.kafka.common.TopicPartition(s.topic(), i),
                        org.apache.kafka.clients.admin.OffsetSpec.latest());
            }
        }
        try {
            Map<String, Long> totals = new HashMap<>();
            admin.listOffsets(partitions).all().get(5, TimeUnit.SECONDS)
                    .forEach((tp, end) -> totals.merge(tp.topic(), end.offset(), Long::sum));
            return totals;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw WatershedException.unavailable("Cannot read the streams' end offsets: interrupted", Duration.ofSeconds(1), e);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            throw WatershedException.unavailable("Cannot read the streams' end offsets: "
                    + (e.getCause() != null ? e.getCause().getMessage() : e.toString()), Duration.ofSeconds(5), e);
        }
    }

    @Override
    public GroupProgress consumerGroupProgress(String group) {
        return new KafkaBusAdmin(admin, Duration.ofSeconds(5), false).groupProgress(group);
    }

    @Override
    public BusReader reader(String name, BusReader.Pace pace) {
        return KafkaBusReader.open(connection, name, pace);
    }

    @Override
    public BusAdmin admin(String clientId, Duration timeout) {
        return new KafkaBusAdmin(BusClients.admin(connection, clientId, Map.of()), timeout);
    }

    @Override
    public void ensureTopics(Collection<StreamSpec> streams) {
        List<NewTopic> missing = new ArrayList<>();
        for (StreamSpec stream : streams) {
            if (!knownTopics.contains(stream.topic())) {
                Map<String, String> configs = new HashMap<>();
                stream.retention().ifPresent(r -> configs.put("retention.ms", String.valueOf(r.toMillis())));
                missing.add(BusClients.topic(connection, stream.topic(), stream.partitions(), configs));
            }
        }
        if (missing.isEmpty()) {
            return;
        }
        // one request for all of them: at start-up the project's streams are created together
        Map<String, KafkaFuture<Void>> results = admin.createTopics(missing).values();
        Map<String, Integer> created = new HashMap<>();
        for (Map.Entry<String, KafkaFuture<Void>> result : results.entrySet()) {
            try {
                result.getValue().get(30, TimeUnit.SECONDS);
                missing.stream().filter(t -> t.name().equals(result.getKey())).findFirst()
                        .ifPresent(t -> created.put(t.name(), t.numPartitions()));
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw WatershedException.unavailable("Cannot create topic '" + result.getKey() + "': "
                            + e.getCause().getMessage(), Duration.ofSeconds(5), e.getCause());
                }
            } catch (Exception e) {
                throw WatershedException.unavailable("Cannot create topic '" + result.getKey() + "': " + e, Duration.ofSeconds(5), e);
            }
        }
        awaitLeaders(created);
        knownTopics.addAll(results.keySet());
    }

    /**
     * Waits until the leader of every partition of the just-created topics takes requests. CreateTopics answers before
     * the brokers have become leaders; a produce request that arrives first fails with NOT_LEADER_OR_FOLLOWER and is
     * retried, and meanwhile a later batch of the idempotent producer may become the partition's first: its first batch
     * is then out of sequence for good, and the request's events are never acknowledged. A ListOffsets answer comes
     * from the leader itself, so once every partition answers one, a produce request is taken as well.
     */
    private void awaitLeaders(Map<String, Integer> topics) {
        if (topics.isEmpty()) {
            return;
        }
        Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> partitions = new HashMap<>();
        topics.forEach((topic, count) -> {
            for (int p = 0; p < count; p++) {
                partitions.put(new org.apache.kafka.common.TopicPartition(topic, p), org.apache.kafka.clients.admin.OffsetSpec.latest());
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                admin.listOffsets(partitions).all().get(5, TimeUnit.SECONDS);
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw WatershedException.unavailable("Cannot use the new topics " + topics.keySet() + ": interrupted",
                        Duration.ofSeconds(1), e);
            } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                if (System.nanoTime() > deadline) {
                    throw WatershedException.unavailable("Cannot use the new topics " + topics.keySet() + ": their partitions "
                            + "have no leader 30 s after they were created (" + (e.getCause() != null ? e.getCause() : e) + ")",
                            Duration.ofSeconds(5), e);
                }
                try {
                    Thread.sleep(20);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw WatershedException.unavailable("Cannot use the new topics " + topics.keySet() + ": interrupted",
                            Duration.ofSeconds(1), interrupted);
                }
            }
        }
    }

    @Override
    public CompletableFuture<Void> publish(String topic, List<Event> events) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        AtomicInteger remaining = new AtomicInteger(events.size());
        try {
            for (Event event : events) {
                producer.send(KafkaEventBus.record(topic, event),
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
        idempotencyLog().publish(topic, events, idempotencyKey);
    }

    @Override
    public Optional<Integer> publishedUnder(String topic, String idempotencyKey) {
        return idempotencyLog().publishedUnder(topic, idempotencyKey);
    }

    private IdempotencyLog idempotencyLog() {
        try {
            return idempotencyLog.get(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw WatershedException.unavailable("Cannot check the Idempotency-Key: interrupted", Duration.ofSeconds(1), e);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            throw WatershedException.unavailable("Cannot check the Idempotency-Key: the key log on topic "
                    + IdempotencyLog.TOPIC + " is not available (" + e + "); retry later", Duration.ofSeconds(5), e);
        }
    }

    @Override
    public void close() {
        try {
            idempotencyLog.get(60, TimeUnit.SECONDS).close();
        } catch (Exception e) {
            // it never started: nothing of it to close
        }
        producer.close(Duration.ofSeconds(30));
        admin.close(Duration.ofSeconds(5));
    }

    /** The Kafka record of an event; a dead letter carries its reason in {@link EventBus#DEAD_LETTER_HEADER}. */
    static ProducerRecord<byte[], byte[]> record(String topic, Event event) {
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, null, event.acceptedAtMillis(), event.key(), event.value());
        if (event.deadLetterReason() != null) {
            record.headers().add(EventBus.DEAD_LETTER_HEADER, event.deadLetterReason().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        return record;
    }
}
