package io.watershed.ingest;

/** The answer to an ingest request: how many events are durable, and whether this was a replay of an earlier request. */
public record IngestResult(int accepted, boolean replayed) {}
