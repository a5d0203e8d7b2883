package io.watershed.stream;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.SupportsCommitter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.table.data.RowData;
import org.apache.kafka.clients.admin.AbortTransactionSpec;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a pipeline's rows to a stream's topic exactly once, with Kafka's public API only (Flink's
 * exactly-once Kafka sink calls producer internals that Kafka 4.3's client no longer has).
 *
 * <p>A write-ahead sink: each writer keeps the rows of a checkpoint interval and hands them, numbered
 * (its subtask, an epoch counted in its state), to the committer as the checkpoint's committable, so
 * they are in the checkpoint. Once the checkpoint completes, the committer writes them in one Kafka
 * transaction together with a commit record ({@code sink|run|subtask -> epoch}) on the compacted topic
 * {@value #COMMITS}. A committable is written only if its epoch is above the last committed one, so a
 * retry after a crash — Flink commits a restored checkpoint's committables again — writes nothing twice,
 * and one lost with a killed transaction is written then. Readers see the rows at the commit, as with
 * Flink's transactional Kafka sink read with {@code read_committed}.
 */
final class StreamSink implements Sink<RowData>, SupportsWriterState<RowData, Long>, SupportsCommitter<StreamSink.Batch> {
    private static final long serialVersionUID = 1L;
    static final String COMMITS = "_watershed_pipeline_commits";

    private final String topic;
    private final String bootstrapServers;
    private final String sinkId;
    private final String run;
    private final SerializationSchema<RowData> encoder;

    StreamSink(String topic, String bootstrapServers, String sinkId, String run, SerializationSchema<RowData> encoder) {
        this.topic = topic;
        this.bootstrapServers = bootstrapServers;
        this.sinkId = sinkId;
        this.run = run;
        this.encoder = encoder;
    }

    /** The rows one writer subtask produced between two checkpoints. */
    record Batch(int subtask, long epoch, List<byte[]> records) {}

    @Override
    public SinkWriter<RowData> createWriter(WriterInitContext context) throws IOException {
        return restoreWriter(context, List.of());
    }

    @Override
    public StatefulSinkWriter<RowData, Long> restoreWriter(WriterInitContext context, Collection<Long> states) throws IOException {
        try {
            encoder.open(context.asSerializationSchemaInitializationContext());
        } catch (Exception e) {
            throw new IOException("Cannot open the encoder of stream '" + topic + "': " + e.getMessage(), e);
        }
        long epoch = states.stream().mapToLong(Long::longValue).max().orElse(0);
        return new Writer(encoder, context.getTaskInfo().getIndexOfThisSubtask(), epoch);
    }

    @Override
    public SimpleVersionedSerializer<Long> getWriterStateSerializer() {
        return new SimpleVersionedSerializer<>() {
            @Override
            public int getVersion() {
                return 1;
            }

            @Override
            public byte[] serialize(Long epoch) {
                return String.valueOf(epoch).getBytes(StandardCharsets.UTF_8);
            }

            @Override
            public Long deserialize(int version, byte[] serialized) {
                return Long.parseLong(new String(serialized, StandardCharsets.UTF_8));
            }
        };
    }

    @Override
    public Committer<Batch> createCommitter(CommitterInitContext context) {
        return new StreamCommitter(topic, bootstrapServers, sinkId, run, context.getTaskInfo().getIndexOfThisSubtask());
    }

    @Override
    public SimpleVersionedSerializer<Batch> getCommittableSerializer() {
        return new BatchSerializer();
    }

    private static final class Writer implements CommittingSinkWriter<RowData, Batch>, StatefulSinkWriter<RowData, Long> {
        private final SerializationSchema<RowData> encoder;
        private final int subtask;
        private long nextEpoch;
        private List<byte[]> pending = new ArrayList<>();

        Writer(SerializationSchema<RowData> encoder, int subtask, long nextEpoch) {
            this.encoder = encoder;
            this.subtask = subtask;
            this.nextEpoch = nextEpoch;
        }

        @Override
        public void write(RowData row, Context context) {
            pending.add(encoder.serialize(row));
        }

        @Override
        public void flush(boolean endOfInput) {}

        @Override
        public Collection<Batch> prepareCommit() {
            if (pending.isEmpty()) {
                return List.of();
            }
            Batch batch = new Batch(subtask, ++nextEpoch, pending);
            pending = new ArrayList<>();
            return List.of(batch);
        }

        @Override
        public List<Long> snapshotState(long checkpointId) {
            return List.of(nextEpoch);
        }

        @Override
        public void close() {}
    }

    private static final class BatchSerializer implements SimpleVersionedSerializer<Batch> {
        @Override
        public int getVersion() {
            return 1;
        }

        @Override
        public byte[] serialize(Batch batch) throws IOException {
            DataOutputSerializer out = new DataOutputSerializer(4096);
            out.writeInt(batch.subtask());
            out.writeLong(batch.epoch());
            out.writeInt(batch.records().size());
            for (byte[] record : batch.records()) {
                out.writeInt(record.length);
                out.write(record);
            }
            return out.getCopyOfBuffer();
        }

        @Override
        public Batch deserialize(int version, byte[] serialized) throws IOException {
            if (version != 1) {
                throw new IOException("Cannot read a stream sink committable of version " + version + "; this build reads 1");
            }
            DataInputDeserializer in = new DataInputDeserializer(serialized);
            int subtask = in.readInt();
            long epoch = in.readLong();
            int count = in.readInt();
            List<byte[]> records = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                byte[] record = new byte[in.readInt()];
                in.readFully(record);
                records.add(record);
            }
            return new Batch(subtask, epoch, records);
        }
    }

    /** Writes each batch with its commit record in one transaction, unless the commit records say it is written. */
    private static final class StreamCommitter implements Committer<Batch> {
        private static final Logger LOG = LoggerFactory.getLogger(StreamCommitter.class);

        private final String topic;
        private final String bootstrapServers;
        private final String sinkId;
        private final String run;
        private final int subtask;
        private final Map<String, Long> committed = new HashMap<>();
        private KafkaProducer<byte[], byte[]> producer;

        StreamCommitter(String topic, String bootstrapServers, String sinkId, String run, int subtask) {
            this.topic = topic;
            this.bootstrapServers = bootstrapServers;
            this.sinkId = sinkId;
            this.run = run;
            this.subtask = subtask;
        }

        private String key(Batch batch) {
            return sinkId + "|" + run + "|" + batch.subtask();
        }

        @Override
        public void commit(Collection<CommitRequest<Batch>> requests) throws IOException, InterruptedException {
            List<CommitRequest<Batch>> todo = new ArrayList<>();
            try {
                if (producer == null) {
                    start();
                }
                for (CommitRequest<Batch> request : requests) {
                    Batch batch = request.getCommittable();
                    if (committed.getOrDefault(key(batch), 0L) >= batch.epoch()) {
                        request.signalAlreadyCommitted();
                    } else {
                        todo.add(request);
                    }
                }
                if (todo.isEmpty()) {
                    return;
                }
                producer.beginTransaction();
                for (CommitRequest<Batch> request : todo) {
                    Batch batch = request.getCommittable();
                    for (byte[] record : batch.records()) {
                        producer.send(new ProducerRecord<>(topic, null, record));
                    }
                    producer.send(new ProducerRecord<>(COMMITS, key(batch).getBytes(StandardCharsets.UTF_8),
                            String.valueOf(batch.epoch()).getBytes(StandardCharsets.UTF_8)));
                }
                producer.commitTransaction();
                for (CommitRequest<Batch> request : todo) {
                    committed.merge(key(request.getCommittable()), request.getCommittable().epoch(), Math::max);
                }
            } catch (InterruptedException e) {
                throw e;
            } catch (RuntimeException e) {
                // whether the transaction landed is unknown: start again from the commit records
                LOG.warn("Cannot commit {} batch(es) to stream '{}' yet, will retry: {}", todo.size(), topic, e.toString());
                closeProducer();
                for (CommitRequest<Batch> request : todo.isEmpty() ? requests : todo) {
                    request.retryLater();
                }
            }
        }

        /** Fences earlier committers of this id, clears transactions a killed process left open, reads the commit records. */
        private void start() throws InterruptedException {
            String transactionalId = "watershed-sink-" + sinkId + "-" + subtask;
            Properties admin = new Properties();
            admin.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
            try (Admin client = Admin.create(admin)) {
                createCommitsTopic(client);
                Properties p = new Properties();
                p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
                p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
                p.put(ProducerConfig.ACKS_CONFIG, "all");
                p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
                p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
                p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
                // what Kafka decided for our last transaction; initialising the id forgets it
                Optional<Short> committing = committingEpoch(client, transactionalId);
                producer = new KafkaProducer<>(p);
                producer.initTransactions();
                resolveHangingTransactions(client, transactionalId, committing);
                loadCommitted(client);
            } catch (ExecutionException e) {
                closeProducer();
                throw new IllegalStateException("Cannot prepare the commits of stream '" + topic + "': " + e.getCause().getMessage(),
                        e.getCause());
            }
        }

        private static void createCommitsTopic(Admin client) throws ExecutionException, InterruptedException {
            try {
                client.createTopics(List.of(new NewTopic(COMMITS, 1, (short) 1).configs(Map.of("cleanup.policy", "compact"))))
                        .all().get();
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
            }
        }

        private static Optional<Short> committingEpoch(Admin client, String transactionalId) throws InterruptedException {
            try {
                var description = client.describeTransactions(List.of(transactionalId)).description(transactionalId).get();
                return description.state() == org.apache.kafka.clients.admin.TransactionState.PREPARE_COMMIT
                        || description.state() == org.apache.kafka.clients.admin.TransactionState.COMPLETE_COMMIT
                        ? Optional.of((short) description.producerEpoch()) : Optional.empty();
            } catch (ExecutionException e) {
                return Optional.empty(); // no transaction yet
            }
        }

        /**
         * After a kill -9 of the single-node broker, Kafka may skip the markers of a transaction it
         * completes while partitions have no leader, leaving it open on them (see IdempotencyLog); our id
         * was just initialised, so any transaction of ours still open is such a one. If Kafka decided to
         * abort it, it is aborted: its batch is written again from the committable, as its commit record
         * went with it. If Kafka decided to commit it, its other partitions are committed, so it is
         * committed here too: a transaction of ours writes a no-op record to each such partition.
         */
        private void resolveHangingTransactions(Admin client, String transactionalId, Optional<Short> committing)
                throws ExecutionException, InterruptedException {
            List<TopicPartition> toCommit = new ArrayList<>();
            long producerId = client.describeTransactions(List.of(transactionalId)).description(transactionalId).get().producerId();
            List<TopicPartition> partitions = new ArrayList<>();
            for (var description : client.describeTopics(Set.of(topic, COMMITS)).allTopicNames().get().values()) {
                description.partitions().forEach(p -> partitions.add(new TopicPartition(description.name(), p.partition())));
            }
            for (var entry : client.describeProducers(partitions).all().get().entrySet()) {
                for (var state : entry.getValue().activeProducers()) {
                    if (state.producerId() == producerId && state.currentTransactionStartOffset().isPresent()) {
                        if (committing.isPresent() && committing.get() == state.producerEpoch()) {
                            toCommit.add(entry.getKey());
                            continue;
                        }
                        LOG.warn("Aborting a transaction left open on {} by a killed process (producer {}, epoch {}); its batch "
                                + "is written again", entry.getKey(), producerId, state.producerEpoch());
                        client.abortTransaction(new AbortTransactionSpec(entry.getKey(), producerId, (short) state.producerEpoch(),
                                state.coordinatorEpoch().orElse(0))).all().get();
                    }
                }
            }
            if (!toCommit.isEmpty()) {
                LOG.warn("Committing a transaction Kafka committed but left open on {} after a kill (its markers were "
                        + "skipped); a no-op record ({} header) marks each", toCommit, io.watershed.spi.EventBus.NOOP_HEADER);
                producer.beginTransaction();
                for (TopicPartition partition : toCommit) {
                    ProducerRecord<byte[], byte[]> noop = new ProducerRecord<>(partition.topic(), partition.partition(),
                            "_watershed_noop".getBytes(StandardCharsets.UTF_8), null);
                    noop.headers().add(io.watershed.spi.EventBus.NOOP_HEADER, new byte[] {1});
                    producer.send(noop);
                }
                producer.commitTransaction();
            }
        }

        /** Reads the commit records of this sink and run, once no transaction is open on the topic. */
        private void loadCommitted(Admin client) throws ExecutionException, InterruptedException {
            TopicPartition partition = new TopicPartition(COMMITS, 0);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            long end;
            while (true) {
                end = client.listOffsets(Map.of(partition, OffsetSpec.latest())).partitionResult(partition).get().offset();
                long stable = client.listOffsets(Map.of(partition, OffsetSpec.latest()),
                        new org.apache.kafka.clients.admin.ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
                        .partitionResult(partition).get().offset();
                if (stable >= end) {
                    break;
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(COMMITS + " has a transaction open since over 60 s (stable offset " + stable
                            + ", end " + end + ")");
                }
                Thread.sleep(100);
            }
            Properties p = new Properties();
            p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
            p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
            p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
            String prefix = sinkId + "|" + run + "|";
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
                consumer.assign(List.of(partition));
                consumer.seekToBeginning(List.of(partition));
                while (consumer.position(partition) < end) {
                    for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                        String key = new String(record.key(), StandardCharsets.UTF_8);
                        if (key.startsWith(prefix) && record.value() != null) {
                            committed.merge(key, Long.parseLong(new String(record.value(), StandardCharsets.UTF_8)), Math::max);
                        }
                    }
                }
            }
        }

        private void closeProducer() {
            if (producer != null) {
                try {
                    producer.close(Duration.ofSeconds(5));
                } catch (RuntimeException e) {
                    LOG.debug("Cannot close the producer of stream '{}': {}", topic, e.toString());
                }
                producer = null;
            }
        }

        @Override
        public void close() {
            closeProducer();
        }
    }
}
