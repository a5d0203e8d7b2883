package io.watershed.spi;

/** One partition of a topic on the bus; a stream's topic has the stream's name. */
public record BusPartition(String topic, int partition) {
    @Override
    public String toString() {
        return topic + "-" + partition;
    }
}
