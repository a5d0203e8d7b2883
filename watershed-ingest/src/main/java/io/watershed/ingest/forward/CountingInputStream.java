package io.watershed.ingest.forward;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/** Counts bytes read since the message began, so one message cannot hold more than {@link ForwardServer#MAX_MESSAGE_BYTES}. */
final class CountingInputStream extends FilterInputStream {
    private long count;
    private long mark;

    CountingInputStream(InputStream in) {
        super(in);
    }

    /** A message begins here. */
    void mark() {
        mark = count;
    }

    /** Called between entries; the unpacker reads ahead, so this bounds memory, it is not exact. */
    void check(String stream) {
        if (count - mark > ForwardServer.MAX_MESSAGE_BYTES + (1 << 20)) {
            throw new Malformed("a message is over the limit of " + ForwardServer.MAX_MESSAGE_BYTES + " bytes", stream);
        }
    }

    @Override
    public int read() throws IOException {
        int b = super.read();
        if (b >= 0) {
            count++;
        }
        return b;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
        int n = super.read(buffer, offset, length);
        if (n > 0) {
            count += n;
        }
        return n;
    }
}
