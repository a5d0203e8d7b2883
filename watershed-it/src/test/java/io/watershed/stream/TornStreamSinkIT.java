package io.watershed.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.bus.KafkaTransactionalPublisher;
import io.watershed.testing.KafkaNodes;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.flink.api.connector.sink2.Committer.CommitRequest;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pipelines' stream sink against transactions Kafka tears, on a real two-node cluster with no kill timing
 * ({@code ../shared/notes/torn-transactions.md} §8, variants V1 to V8). A torn commit is made as a killed first life
 * of the committer makes it: its transactional id writes batch #1 (10 rows to partition 0, 147 to partition 1) and
 * its commit record, node 2 stops so that its partitions lose their leader, the commit goes through (the coordinator
 * on node 1 skips the markers of those partitions), and node 2 comes back. Then the real committer runs with the
 * committables Flink would restore. Every variant must end with each row exactly once and nothing left open.
 */
class TornStreamSinkIT {
    private static final int BATCH1_P0 = 10;
    private static final int BATCH1_P1 = 147;
    private static final String RUN = "run1";

    @TempDir
    static Path directory;
    private static KafkaNodes kafka;

    @BeforeAll
    static void startCluster() {
        kafka = new KafkaNodes(directory);
        // the publisher's decisions stay reachable while node 2 is down
        kafka.createTopic(KafkaTransactionalPublisher.DECISIONS, Map.of("cleanup.policy", "compact"), 1);
    }

    @AfterAll
    static void stopCluster() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @AfterEach
    void removeHooks() {
        KafkaTransactionalPublisher.onTestPoint(null);
        if (!kafka.node2Running()) {
            kafka.startNode2();
        }
    }

    /** V1, the observed loss: batch #1 committed by Kafka but open on partition 1 and the commit record; chk-7 holds only #2. */
    @Test
    void v1CommittedButOpenWithoutItsCommittable() throws Exception {
        Sink sink = tear("v1", 1, 2, 2, false);
        sink.commitAll(batch(2));
        sink.assertExactlyOnce(true);
    }

    /** V2: the same, with #1 still among the committables: it is recognised as written, not written twice. */
    @Test
    void v2CommittedButOpenWithItsCommittable() throws Exception {
        Sink sink = tear("v2", 1, 2, 2, false);
        sink.commitAll(batch(1), batch(2));
        sink.assertExactlyOnce(true);
    }

    /** V3: the commit record committed, partition 1 open: completing it is what makes the skip of #1 right. */
    @Test
    void v3CommitRecordCommittedDataOpen() throws Exception {
        Sink sink = tear("v3", 1, 2, 1, false);
        sink.commitAll(batch(1), batch(2));
        sink.assertExactlyOnce(true);
    }

    /** V4: everything on node 2, so nothing of #1 got a marker. */
    @Test
    void v4AllOpen() throws Exception {
        Sink sink = tear("v4", 2, 2, 2, false);
        sink.commitAll(batch(2));
        sink.assertExactlyOnce(true);
    }

    /** V5: Kafka aborted #1 (and tore the abort); it is aborted everywhere and written again from its committable. */
    @Test
    void v5KafkaAborted() throws Exception {
        Sink sink = tear("v5", 1, 2, 2, true);
        sink.commitAll(batch(1), batch(2));
        sink.assertExactlyOnce(true);
    }

    /**
     * V6, the decision lost: the first recovery fails right after it initialised the id (which erases Kafka's
     * decision); Flink's retry must still commit #1, from the decision recorded before the init.
     */
    @Test
    void v6DecisionLostByAFailureAfterInit() throws Exception {
        Sink sink = tear("v6", 1, 2, 2, false);
        AtomicBoolean failed = new AtomicBoolean();
        KafkaTransactionalPublisher.onTestPoint((id, point) -> {
            if (id.equals(sink.transactionalId()) && point.equals("after-init") && failed.compareAndSet(false, true)) {
                throw new IllegalStateException("a failure just after initTransactions (test)");
            }
        });
        List<Request> requests = List.of(new Request(batch(2)));
        commitOnce(sink.committer, requests);
        assertThat(failed).isTrue();
        assertThat(requests.get(0).outcome).isEqualTo("retry");
        assertThat(kafka.admin().describeTransactions(List.of(sink.transactionalId())).description(sink.transactionalId()).get().state())
                .as("the id was initialised: Kafka's decision is gone").isEqualTo(TransactionState.EMPTY);
        sink.commitAll(requests);
        sink.assertExactlyOnce(true);
    }

    /**
     * V7, in the same run: node 2 stops between the flush and the commit, so the live committer's own transaction is
     * torn. Its commit must not be reported until the transaction is closed on every partition.
     */
    @Test
    void v7TornWhileRunning() throws Exception {
        Sink sink = new Sink("v7", 1, 2, 2);
        TopicPartition[] onNode2 = sink.onNode2();
        KafkaTransactionalPublisher.onTestPoint((id, point) -> {
            if (id.equals(sink.transactionalId()) && point.equals("before-commit") && kafka.node2Running()) {
                kafka.stopNode2(onNode2);
                Thread restart = new Thread(() -> {
                    awaitState(sink.transactionalId(), TransactionState.COMPLETE_COMMIT);
                    kafka.startNode2(onNode2);
                }, "restart-node-2");
                restart.start();
            }
        });
        List<Request> requests = List.of(new Request(batch(1)));
        commitOnce(sink.committer, requests);
        assertThat(requests.get(0).outcome).isEqualTo("committed");
        assertThat(sink.openPartitions()).as("open when the commit was reported").isEmpty();
        sink.committer.close();
        sink.assertExactlyOnce(false);
    }

    /**
     * V8: V7, but the committer dies after the commit, before it could complete it. Both data partitions are on node 2
     * (the committer's partitioner picks one of them) and the commit record on node 1, so the record says #1 is written
     * while its rows are open: they must be committed, not aborted, and the restored #1 not written twice.
     */
    @Test
    void v8TornWhileRunningThenCrash() throws Exception {
        Sink sink = new Sink("v8", 2, 2, 1);
        TopicPartition[] onNode2 = sink.onNode2();
        KafkaTransactionalPublisher.onTestPoint((id, point) -> {
            if (!id.equals(sink.transactionalId())) {
                return;
            }
            if (point.equals("before-commit") && kafka.node2Running()) {
                kafka.stopNode2(onNode2);
            } else if (point.equals("after-commit")) {
                throw new IllegalStateException("the committer dies here (test)");
            }
        });
        List<Request> requests = List.of(new Request(batch(1)));
        commitOnce(sink.committer, requests);
        assertThat(requests.get(0).outcome).isEqualTo("retry");
        KafkaTransactionalPublisher.onTestPoint(null);
        sink.committer.close();
        awaitState(sink.transactionalId(), TransactionState.COMPLETE_COMMIT);
        kafka.startNode2(onNode2);
        assertThat(sink.openPartitions()).as("the torn state").isNotEmpty();
        sink.committer = sink.newCommitter();
        sink.commitAll(batch(1));
        sink.assertExactlyOnce(false);
    }

    // ------------------------------------------------------------------------------------------------------

    /** Makes the torn first life of a committer: batch #1 and its commit record, node 2 stopped, then the commit (or abort). */
    private static Sink tear(String name, int p0Node, int p1Node, int commitsNode, boolean kafkaAborts) throws Exception {
        Sink sink = new Sink(name, p0Node, p1Node, commitsNode);
        sink.committer.close();
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, sink.transactionalId());
        KafkaProducer<byte[], byte[]> first = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
        first.initTransactions();
        first.beginTransaction();
        List<byte[]> rows = batch(1).records();
        for (int i = 0; i < rows.size(); i++) {
            first.send(new ProducerRecord<>(sink.topic, i < BATCH1_P0 ? 0 : 1, null, rows.get(i)));
        }
        first.send(new ProducerRecord<>(sink.commits, 0, sink.commitKey().getBytes(StandardCharsets.UTF_8),
                "1".getBytes(StandardCharsets.UTF_8)));
        first.flush();
        TopicPartition[] onNode2 = sink.onNode2();
        kafka.stopNode2(onNode2);
        if (kafkaAborts) {
            first.abortTransaction();
        } else {
            first.commitTransaction();
        }
        first.close(Duration.ZERO);
        awaitState(sink.transactionalId(), kafkaAborts ? TransactionState.COMPLETE_ABORT : TransactionState.COMPLETE_COMMIT);
        kafka.startNode2(onNode2);
        // the state the killed first life leaves: decided by Kafka, still open where the markers were skipped
        assertThat(sink.openPartitions()).containsExactlyInAnyOrder(onNode2);
        sink.committer = sink.newCommitter();
        return sink;
    }

    private static void awaitState(String transactionalId, TransactionState state) {
        kafka.awaitTransactionState(transactionalId, state);
    }

    /** Batch n of subtask 0: #1 has 157 rows (10 to partition 0, 147 to partition 1 when written by hand), #2 has 20. */
    private static StreamSink.Batch batch(int n) {
        int count = n == 1 ? BATCH1_P0 + BATCH1_P1 : 20;
        List<byte[]> rows = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            rows.add(("{\"batch\":" + n + ",\"row\":" + i + "}").getBytes(StandardCharsets.UTF_8));
        }
        return new StreamSink.Batch(0, n, rows);
    }

    /** One sink under test: its topic (two partitions), its commit-record topic, and a committer. */
    private static final class Sink {
        final String name;
        final String topic;
        final String commits;
        final int p0Node;
        final int p1Node;
        final int commitsNode;
        StreamSink.StreamCommitter committer;

        Sink(String name, int p0Node, int p1Node, int commitsNode) {
            this.name = name;
            this.topic = "big_orders_" + name;
            this.commits = "commits_" + name;
            this.p0Node = p0Node;
            this.p1Node = p1Node;
            this.commitsNode = commitsNode;
            kafka.createTopic(topic, Map.of(), p0Node, p1Node);
            kafka.createTopic(commits, Map.of("cleanup.policy", "compact"), commitsNode);
            committer = newCommitter();
        }

        StreamSink.StreamCommitter newCommitter() {
            return new StreamSink.StreamCommitter(topic, io.watershed.spi.BusConnection.plain(kafka.bootstrapServers()), name, RUN, 0, commits);
        }

        String transactionalId() {
            return committer.transactionalId();
        }

        String commitKey() {
            return name + "|" + RUN + "|0";
        }

        TopicPartition[] onNode2() {
            List<TopicPartition> partitions = new ArrayList<>();
            if (p0Node == 2) {
                partitions.add(new TopicPartition(topic, 0));
            }
            if (p1Node == 2) {
                partitions.add(new TopicPartition(topic, 1));
            }
            if (commitsNode == 2) {
                partitions.add(new TopicPartition(commits, 0));
            }
            return partitions.toArray(TopicPartition[]::new);
        }

        /** Partitions of the sink's two topics with a transaction open, of any producer. */
        List<TopicPartition> openPartitions() {
            return kafka.openTransactions(List.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1),
                    new TopicPartition(commits, 0)));
        }

        void commitAll(StreamSink.Batch... batches) throws Exception {
            List<Request> requests = new ArrayList<>();
            for (StreamSink.Batch batch : batches) {
                requests.add(new Request(batch));
            }
            commitAll(requests);
        }

        /** Commits as Flink's committer operator does: requests that ask for a retry are committed again, up to 10 times. */
        void commitAll(List<Request> requests) throws Exception {
            for (int attempt = 0; attempt < 10; attempt++) {
                List<CommitRequest<StreamSink.Batch>> pending = new ArrayList<>();
                for (Request request : requests) {
                    if (request.outcome == null || request.outcome.equals("retry")) {
                        request.outcome = null;
                        pending.add(request);
                    }
                }
                if (pending.isEmpty()) {
                    break;
                }
                commitOnce(committer, pending);
            }
            for (Request request : requests) {
                assertThat(request.outcome).as("batch #" + request.batch.epoch()).isIn("committed", "already committed");
            }
            committer.close();
        }

        /** Each row of #1 (and of #2 when {@code withSecond}) exactly once, nothing else, nothing open, the last commit record. */
        void assertExactlyOnce(boolean withSecond) {
            List<String> expected = new ArrayList<>();
            batch(1).records().forEach(row -> expected.add(new String(row, StandardCharsets.UTF_8)));
            if (withSecond) {
                batch(2).records().forEach(row -> expected.add(new String(row, StandardCharsets.UTF_8)));
            }
            assertThat(openPartitions()).as("partitions left open").isEmpty();
            KafkaNodes.assertEachOnce(expected, kafka.committedValues(topic), "rows");
            String last = null;
            for (ConsumerRecord<byte[], byte[]> record : kafka.readCommitted(commits)) {
                if (record.key() != null && new String(record.key(), StandardCharsets.UTF_8).equals(commitKey()) && record.value() != null) {
                    last = new String(record.value(), StandardCharsets.UTF_8);
                }
            }
            assertThat(last).as("the last commit record").isEqualTo(withSecond ? "2" : "1");
        }
    }

    /** One call of the committer; a request it did not signal is committed (Flink's reading). */
    private static void commitOnce(StreamSink.StreamCommitter committer, List<? extends CommitRequest<StreamSink.Batch>> requests)
            throws Exception {
        committer.commit(new ArrayList<>(requests));
        for (CommitRequest<StreamSink.Batch> request : requests) {
            if (request instanceof Request r && r.outcome == null) {
                r.outcome = "committed";
            }
        }
    }

    /** A commit request that records what the committer said of it. */
    private static final class Request implements CommitRequest<StreamSink.Batch> {
        final StreamSink.Batch batch;
        String outcome;

        Request(StreamSink.Batch batch) {
            this.batch = batch;
        }

        @Override
        public StreamSink.Batch getCommittable() {
            return batch;
        }

        @Override
        public int getNumberOfRetries() {
            return 0;
        }

        @Override
        public void signalFailedWithKnownReason(Throwable t) {
            outcome = "failed: " + t;
        }

        @Override
        public void signalFailedWithUnknownReason(Throwable t) {
            outcome = "failed: " + t;
        }

        @Override
        public void retryLater() {
            outcome = "retry";
        }

        @Override
        public void updateAndRetryLater(StreamSink.Batch committable) {
            outcome = "retry";
        }

        @Override
        public void signalAlreadyCommitted() {
            outcome = "already committed";
        }
    }
}
