package io.watershed.stream;

import io.watershed.spi.TransactionalPublisher;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
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
 * and one lost with a killed transaction is written then. The transaction goes through the bus's
 * {@link TransactionalPublisher}, which keeps it whole across crashes and broker restarts (a Kafka transaction
 * can otherwise be left committed on some partitions and open on others). Readers see the rows at the commit, as with
 * Flink's transactional Kafka sink read with {@code read_committed}.
 */
final class StreamSink implements Sink<RowData>, SupportsWriterState<RowData, Long>, SupportsCommitter<StreamSink.Batch> {
    private static final long serialVersionUID = 1L;
    static final String COMMITS = "_watershed_pipeline_commits";

    private final String topic;
    private final io.watershed.spi.BusConnection bus;
    private final String sinkId;
    private final String run;
    private final SerializationSchema<RowData> encoder;

    StreamSink(String topic, io.watershed.spi.BusConnection bus, String sinkId, String run, SerializationSchema<RowData> encoder) {
        this.topic = topic;
        this.bus = bus;
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
        return new StreamCommitter(topic, bus, sinkId, run, context.getTaskInfo().getIndexOfThisSubtask());
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

    /**
     * Writes each batch with its commit record in one transaction, unless the commit records say it is written. The
     * bus's {@link TransactionalPublisher} returns only once the transaction is committed on every partition it wrote,
     * so Flink drops a committable only when its rows are visible everywhere; and it ends what a killed committer left
     * open the way Kafka decided it, before the commit records are read.
     */
    static final class StreamCommitter implements Committer<Batch> {
        private static final Logger LOG = LoggerFactory.getLogger(StreamCommitter.class);

        private final String topic;
        private final io.watershed.spi.BusConnection bus;
        private final String sinkId;
        private final String run;
        private final int subtask;
        private final String commits;
        private final Map<String, Long> committed = new HashMap<>();
        private TransactionalPublisher publisher;
        /** Whether {@link #committed} holds what the commit records say (after the publisher recovered). */
        private boolean loaded;

        StreamCommitter(String topic, io.watershed.spi.BusConnection bus, String sinkId, String run, int subtask) {
            this(topic, bus, sinkId, run, subtask, COMMITS);
        }

        /** @param commits the topic of the commit records ({@value #COMMITS}; tests place their own) */
        StreamCommitter(String topic, io.watershed.spi.BusConnection bus, String sinkId, String run, int subtask, String commits) {
            this.commits = commits;
            this.topic = topic;
            this.bus = bus;
            this.sinkId = sinkId;
            this.run = run;
            this.subtask = subtask;
        }

        String transactionalId() {
            return "watershed-sink-" + sinkId + "-" + subtask;
        }

        private String key(Batch batch) {
            return sinkId + "|" + run + "|" + batch.subtask();
        }

        @Override
        public void commit(Collection<CommitRequest<Batch>> requests) throws IOException, InterruptedException {
            List<CommitRequest<Batch>> todo = new ArrayList<>();
            try {
                if (!loaded) {
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
                List<TransactionalPublisher.Record> records = new ArrayList<>();
                for (CommitRequest<Batch> request : todo) {
                    Batch batch = request.getCommittable();
                    for (byte[] record : batch.records()) {
                        records.add(new TransactionalPublisher.Record(topic, null, record));
                    }
                    records.add(new TransactionalPublisher.Record(commits, 0, key(batch).getBytes(StandardCharsets.UTF_8),
                            String.valueOf(batch.epoch()).getBytes(StandardCharsets.UTF_8), System.currentTimeMillis(), Map.of()));
                }
                publisher.publish(records);
                for (CommitRequest<Batch> request : todo) {
                    committed.merge(key(request.getCommittable()), request.getCommittable().epoch(), Math::max);
                }
            } catch (RuntimeException e) {
                // whether the transaction landed is known once the publisher recovered: read the commit records again then
                LOG.warn("Cannot commit {} batch(es) to stream '{}' yet, will retry: {}", todo.size(), topic, e.getMessage());
                loaded = false;
                for (CommitRequest<Batch> request : todo.isEmpty() ? requests : todo) {
                    request.retryLater();
                }
            }
        }

        /** Ends what this committer's id left open as Kafka decided it, then reads the commit records. */
        private void start() throws InterruptedException {
            Properties admin = bus.properties();
            try (Admin client = Admin.create(admin)) {
                createCommitsTopic(client);
                if (publisher == null) {
                    publisher = TransactionalPublisher.create(bus, Map.of(ProducerConfig.LINGER_MS_CONFIG, "5"), transactionalId(),
                            Set.of(topic, commits));
                }
                publisher.recover();
                loadCommitted(client);
                loaded = true;
            } catch (ExecutionException e) {
                throw new IllegalStateException("Cannot prepare the commits of stream '" + topic + "': " + e.getCause().getMessage(),
                        e.getCause());
            }
        }

        private void createCommitsTopic(Admin client) throws ExecutionException, InterruptedException {
            try {
                client.createTopics(List.of(new NewTopic(commits, java.util.Optional.of(1), bus.placement().replicas())
                        .configs(bus.placement().topicConfigs(Map.of("cleanup.policy", "compact"))))).all().get();
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
            }
        }

        /**
         * Reads the commit records of this sink and run. None of ours is open any more (the publisher recovered); another
         * sink's transaction on the topic may be, for a moment, so the read waits until the last stable offset passes the
         * end as it was.
         */
        private void loadCommitted(Admin client) throws ExecutionException, InterruptedException {
            TopicPartition partition = new TopicPartition(commits, 0);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            long end = client.listOffsets(Map.of(partition, OffsetSpec.latest())).partitionResult(partition).get().offset();
            while (true) {
                long stable = client.listOffsets(Map.of(partition, OffsetSpec.latest()),
                        new org.apache.kafka.clients.admin.ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
                        .partitionResult(partition).get().offset();
                if (stable >= end) {
                    break;
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(commits + " has a transaction open since over 60 s (stable offset " + stable
                            + ", end " + end + ")");
                }
                Thread.sleep(20);
            }
            Properties p = bus.properties();
            p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
            p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
            String prefix = sinkId + "|" + run + "|";
            committed.clear();
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
                consumer.assign(List.of(partition));
                consumer.seekToBeginning(List.of(partition));
                while (consumer.position(partition) < end) {
                    for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                        String key = record.key() == null ? "" : new String(record.key(), StandardCharsets.UTF_8);
                        if (key.startsWith(prefix) && record.value() != null) {
                            committed.merge(key, Long.parseLong(new String(record.value(), StandardCharsets.UTF_8)), Math::max);
                        }
                    }
                }
            }
        }

        @Override
        public void close() {
            if (publisher != null) {
                publisher.close();
                publisher = null;
            }
        }
    }
}
