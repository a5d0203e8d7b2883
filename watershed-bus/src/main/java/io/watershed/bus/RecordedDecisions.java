package io.watershed.bus;

import io.watershed.bus.TransactionFate.Decision;
import io.watershed.bus.TransactionFate.Open;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The decisions a {@link KafkaTransactionalPublisher} took for one transactional id and has not applied yet, on the
 * compacted topic {@value #TOPIC} (key: the transactional id; a tombstone once applied). Written before the id is
 * initialised, which erases Kafka's own copy of the decision, so a recovery that fails half-way finds it again.
 */
final class RecordedDecisions implements AutoCloseable {
    static final String TOPIC = "_watershed_transactions";

    private final io.watershed.spi.BusConnection bus;
    private final String transactionalId;
    private final Admin admin;
    private KafkaProducer<byte[], byte[]> writer;

    RecordedDecisions(io.watershed.spi.BusConnection bus, String transactionalId, Admin admin) {
        this.bus = bus;
        this.transactionalId = transactionalId;
        this.admin = admin;
    }

    /** A decision taken for the open entries of an id, kept until applied. */
    record Intent(Decision decision, String reason, List<Open> open) {
        String encode() {
            StringBuilder out = new StringBuilder(decision.name());
            for (Open o : open) {
                out.append(' ').append(o.partition().topic()).append('/').append(o.partition().partition()).append('@')
                        .append(o.startOffset()).append(':').append(o.producerId()).append(':').append(o.epoch()).append(':')
                        .append(o.coordinatorEpoch());
            }
            return out.append('\n').append(reason).toString();
        }

        static Intent decode(String text) {
            int newline = text.indexOf('\n');
            String[] parts = (newline < 0 ? text : text.substring(0, newline)).split(" ");
            List<Open> open = new ArrayList<>();
            for (int i = 1; i < parts.length; i++) {
                String part = parts[i];
                int slash = part.lastIndexOf('/');
                int at = part.indexOf('@', slash);
                String[] numbers = part.substring(at + 1).split(":");
                open.add(new Open(new TopicPartition(part.substring(0, slash), Integer.parseInt(part.substring(slash + 1, at))),
                        Long.parseLong(numbers[1]), Integer.parseInt(numbers[2]), Long.parseLong(numbers[0]), Integer.parseInt(numbers[3])));
            }
            return new Intent(Decision.valueOf(parts[0]), newline < 0 ? "" : text.substring(newline + 1), open);
        }
    }

    Intent read() {
        createTopic();
        TopicPartition partition = new TopicPartition(TOPIC, 0);
        byte[] id = transactionalId.getBytes(StandardCharsets.UTF_8);
        Intent found = null;
        try (KafkaConsumer<byte[], byte[]> consumer = BusClients.consumer(bus, transactionalId + "-decisions", Map.of())) {
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long end = consumer.endOffsets(List.of(partition), Duration.ofSeconds(10)).get(partition);
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (consumer.position(partition, Duration.ofSeconds(10)) < end) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    if (java.util.Arrays.equals(record.key(), id)) {
                        try {
                            found = record.value() == null ? null : Intent.decode(new String(record.value(), StandardCharsets.UTF_8));
                        } catch (RuntimeException e) {
                            throw new KafkaTransactionalPublisher.Retriable("cannot read the decision recorded on " + TOPIC + " at offset " + record.offset()
                                    + " (" + e + "); end it with a tombstone for key " + transactionalId + " once resolved by hand");
                        }
                    }
                }
                if (System.nanoTime() > deadline) {
                    throw new KafkaTransactionalPublisher.Retriable("cannot read the recorded decisions on " + TOPIC + " to offset " + end);
                }
            }
        } catch (KafkaException e) {
            throw new KafkaTransactionalPublisher.Retriable("cannot read the recorded decisions on " + TOPIC + ": " + e.getMessage());
        }
        return found;
    }

    void write(Intent intent) {
        send(intent.encode().getBytes(StandardCharsets.UTF_8));
    }

    void clear() {
        send(null);
    }

    private void send(byte[] value) {
        if (writer == null) {
            Properties p = BusClients.properties(bus, transactionalId + "-decisions", Map.of(ProducerConfig.ACKS_CONFIG, "all",
                    ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true", ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000",
                    ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000"));
            writer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
        }
        try {
            writer.send(new ProducerRecord<>(TOPIC, 0, transactionalId.getBytes(StandardCharsets.UTF_8), value)).get();
        } catch (ExecutionException e) {
            throw new KafkaTransactionalPublisher.Retriable("cannot record the decision on " + TOPIC + ": " + e.getCause().getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaTransactionalPublisher.Retriable("interrupted");
        }
    }

    private void createTopic() {
        try {
            admin.createTopics(List.of(BusClients.topic(bus, TOPIC, 1, Map.of("cleanup.policy", "compact",
                    "min.compaction.lag.ms", "0")))).all().get();
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new KafkaTransactionalPublisher.Retriable("cannot create " + TOPIC + ": " + e.getCause().getMessage());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaTransactionalPublisher.Retriable("interrupted");
        }
    }


    @Override
    public void close() {
        if (writer != null) {
            writer.close(Duration.ofSeconds(5));
        }
    }
}
