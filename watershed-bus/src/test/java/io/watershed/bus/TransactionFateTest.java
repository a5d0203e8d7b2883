package io.watershed.bus;

import static org.assertj.core.api.Assertions.assertThat;

import io.watershed.bus.TransactionFate.Decision;
import io.watershed.bus.TransactionFate.Described;
import io.watershed.bus.TransactionFate.Open;
import java.util.List;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The epoch rules of both transaction versions, as a table: what the coordinator describes for the id (state,
 * epoch), the transaction version, and the epoch of the transaction open on a partition, to the decision.
 * The torn-transaction tests check the same rules against a real two-node cluster.
 */
class TransactionFateTest {
    private static final long PID = 4;

    @ParameterizedTest(name = "TV{1} {0} at epoch {2}, open at {3} -> {4}")
    @CsvSource({
        // committed: TV2 raises the epoch when the transaction ends, so its data is one below; TV1 keeps it
        "COMPLETE_COMMIT, 2, 1, 0, COMMIT",
        "PREPARE_COMMIT,  2, 1, 0, COMMIT",
        "COMPLETE_COMMIT, 1, 3, 3, COMMIT",
        "PREPARE_COMMIT,  1, 3, 3, COMMIT",
        // an older transaction than the one described is not known to be committed
        "COMPLETE_COMMIT, 2, 5, 3, UNKNOWN",
        "COMPLETE_COMMIT, 2, 1, 1, UNKNOWN",
        "COMPLETE_COMMIT, 1, 3, 2, UNKNOWN",
        // never reached its commit: its data carries the described epoch in both versions
        "ONGOING,         2, 7, 7, ABORT",
        "ONGOING,         1, 7, 7, ABORT",
        "ONGOING,         2, 7, 6, UNKNOWN",
        // aborted by its producer (one end bump in TV2), or fenced first (one bump more)
        "COMPLETE_ABORT,  2, 5, 4, ABORT",
        "COMPLETE_ABORT,  2, 5, 3, ABORT",
        "PREPARE_ABORT,   2, 5, 4, ABORT",
        "COMPLETE_ABORT,  2, 5, 2, UNKNOWN",
        "COMPLETE_ABORT,  1, 5, 5, ABORT",
        "COMPLETE_ABORT,  1, 5, 4, ABORT",
        "COMPLETE_ABORT,  1, 5, 3, UNKNOWN",
        // the decision lost (the id initialised again since) or in passing: never a guess
        "EMPTY,           2, 3, 1, UNKNOWN",
        "EMPTY,           1, 3, 3, UNKNOWN",
        "PREPARE_EPOCH_FENCE, 2, 3, 2, UNKNOWN",
    })
    void decidesFromKafkasDecision(TransactionState state, int version, int describedEpoch, int openEpoch, Decision expected) {
        var outcome = TransactionFate.decide(new Described(state, PID, describedEpoch, null), version, List.of(open(PID, openEpoch)));
        assertThat(outcome.decision()).as(outcome.reason()).isEqualTo(expected);
    }

    @ParameterizedTest(name = "TV{0}: nothing open -> NONE")
    @CsvSource({"1", "2"})
    void nothingOpenIsNothingToDo(int version) {
        assertThat(TransactionFate.decide(new Described(TransactionState.COMPLETE_COMMIT, PID, 1, null), version, List.of()).decision())
                .isEqualTo(Decision.NONE);
        // another producer's open transaction is not ours to end
        assertThat(TransactionFate.decide(new Described(TransactionState.ONGOING, PID, 1, null), version, List.of(open(9, 1))).decision())
                .isEqualTo(Decision.NONE);
        assertThat(TransactionFate.decide(Described.notFound(), version, List.of(open(PID, 0))).decision()).isEqualTo(Decision.NONE);
    }

    @ParameterizedTest(name = "TV{0}: describe failed -> UNKNOWN")
    @CsvSource({"1", "2"})
    void aFailedDescribeIsNeverAnAbort(int version) {
        var outcome = TransactionFate.decide(Described.failed("COORDINATOR_NOT_AVAILABLE"), version, List.of(open(PID, 0)));
        assertThat(outcome.decision()).isEqualTo(Decision.UNKNOWN);
        assertThat(outcome.reason()).contains("COORDINATOR_NOT_AVAILABLE");
    }

    @ParameterizedTest(name = "TV2 commit with one partition of another epoch -> UNKNOWN")
    @CsvSource({"2"})
    void everyOpenPartitionMustFit(int version) {
        var outcome = TransactionFate.decide(new Described(TransactionState.COMPLETE_COMMIT, PID, 4, null), version,
                List.of(open(PID, 3), new Open(new TopicPartition("t", 1), PID, 1, 50, 0)));
        assertThat(outcome.decision()).isEqualTo(Decision.UNKNOWN);
        assertThat(outcome.reason()).contains("t-1@50");
    }

    /** A recorded decision reads back as written, topic names with dots, dashes and slashes' neighbours included. */
    @org.junit.jupiter.api.Test
    void aRecordedDecisionReadsBack() {
        var intent = new RecordedDecisions.Intent(Decision.COMMIT, "Kafka committed it (CompleteCommit at epoch 5)",
                List.of(new Open(new TopicPartition("big_orders", 1), 4, 4, 147, 2),
                        new Open(new TopicPartition("app.logs-v2", 0), 4, 4, 0, 2)));
        assertThat(RecordedDecisions.Intent.decode(intent.encode())).isEqualTo(intent);
    }

    private static Open open(long producerId, int epoch) {
        return new Open(new TopicPartition("t", 0), producerId, epoch, 10, 0);
    }
}
