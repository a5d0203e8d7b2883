package io.watershed.ingest.forward;

/** Forward framing that cannot be read: the connection closes, since what follows cannot be found. */
final class Malformed extends RuntimeException {
    /** The stream the message was for, when its tag was read and routed; else null. */
    final String stream;

    Malformed(String message, String stream) {
        super(message);
        this.stream = stream;
    }
}
