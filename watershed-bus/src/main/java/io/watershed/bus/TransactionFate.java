package io.watershed.bus;

import java.util.List;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.common.TopicPartition;

/**
 * How a transaction left open on some partitions must end, from Kafka's own decision: the state its
 * coordinator describes for the transactional id, read before the id is initialised again (which erases it).
 *
 * <p>The epoch rules differ by transaction version. Under version 1 a producer keeps its epoch for all its
 * transactions; the coordinator raises it only to fence (an abort of an ongoing transaction by a new
 * {@code initTransactions}, or a timeout). Under version 2 (KIP-890, the default of the embedded broker's
 * metadata version) the coordinator also raises it when a transaction ends, so a finished transaction is
 * described with an epoch one above the one its data carries, two above when it was fenced first. An open
 * partition whose epoch fits the described end is that transaction; any other is not known to be, and is
 * never aborted on a guess.
 */
final class TransactionFate {

    enum Decision {
        /** Nothing of this id is open. */
        NONE,
        /** Kafka committed it: complete it on the open partitions. */
        COMMIT,
        /** Kafka aborted it, or will (it never reached its commit): abort it on the open partitions. */
        ABORT,
        /** Not known; nothing may be done to the open partitions. */
        UNKNOWN
    }

    /** A transaction open on one partition, as {@code DescribeProducers} shows it. */
    record Open(TopicPartition partition, long producerId, int epoch, long startOffset, int coordinatorEpoch) {
        @Override
        public String toString() {
            return partition + "@" + startOffset + " (producer " + producerId + ", epoch " + epoch + ")";
        }
    }

    /** What the coordinator said of the transactional id; {@code state} null when it could not be read. */
    record Described(TransactionState state, long producerId, int epoch, String error) {
        static Described notFound() {
            return new Described(null, -1, -1, null);
        }

        static Described failed(String error) {
            return new Described(null, -1, -1, error);
        }

        boolean found() {
            return state != null;
        }
    }

    record Outcome(Decision decision, String reason) {}

    private TransactionFate() {}

    /**
     * @param described the coordinator's description of the id, or why it could not be read
     * @param transactionVersion the cluster's finalized {@code transaction.version} (0 or 1: version 1 rules)
     * @param open the open transactions on the id's partitions, of any producer
     */
    static Outcome decide(Described described, int transactionVersion, List<Open> open) {
        if (described.error() != null) {
            return new Outcome(Decision.UNKNOWN, "cannot read the transaction's state from its coordinator: " + described.error());
        }
        if (!described.found()) {
            // the id never had a transaction: nothing open can be its
            return new Outcome(Decision.NONE, "the transactional id has no transaction yet");
        }
        List<Open> ours = open.stream().filter(o -> o.producerId() == described.producerId()).toList();
        if (ours.isEmpty()) {
            return new Outcome(Decision.NONE, "no transaction of producer " + described.producerId() + " is open");
        }
        boolean v2 = transactionVersion >= 2;
        int e = described.epoch();
        return switch (described.state()) {
            case ONGOING -> all(ours, e, e)
                    ? new Outcome(Decision.ABORT, "it never reached its commit (" + described.state() + " at epoch " + e + ")")
                    : mismatch(described, ours);
            case PREPARE_COMMIT, COMPLETE_COMMIT -> all(ours, v2 ? e - 1 : e, v2 ? e - 1 : e)
                    ? new Outcome(Decision.COMMIT, "Kafka committed it (" + described.state() + " at epoch " + e + ", transaction version "
                            + transactionVersion + ")")
                    : mismatch(described, ours);
            // aborted by its producer: one end bump (v2) or none (v1); fenced (a new init, a timeout): one more
            case PREPARE_ABORT, COMPLETE_ABORT -> all(ours, v2 ? e - 2 : e - 1, v2 ? e - 1 : e)
                    ? new Outcome(Decision.ABORT, "Kafka aborted it (" + described.state() + " at epoch " + e + ", transaction version "
                            + transactionVersion + ")")
                    : mismatch(described, ours);
            default -> new Outcome(Decision.UNKNOWN, "Kafka no longer holds its decision (the id is " + described.state() + " at epoch "
                    + e + ") and it is still open on " + list(ours));
        };
    }

    private static boolean all(List<Open> open, int lowest, int highest) {
        return open.stream().allMatch(o -> o.epoch() >= lowest && o.epoch() <= highest);
    }

    private static Outcome mismatch(Described described, List<Open> ours) {
        return new Outcome(Decision.UNKNOWN, "the open transaction on " + list(ours) + " is not the one its coordinator describes ("
                + described.state() + " at epoch " + described.epoch() + ")");
    }

    private static String list(List<Open> open) {
        return open.stream().map(Open::toString).collect(Collectors.joining(", "));
    }
}
