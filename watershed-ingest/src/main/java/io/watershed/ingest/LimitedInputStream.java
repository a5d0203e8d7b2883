package io.watershed.ingest;

import io.watershed.spi.ErrorCode;
import io.watershed.spi.WatershedException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

/** Fails with PAYLOAD_TOO_LARGE once more than {@code limit} bytes were read (guards gzip bombs too). */
public final class LimitedInputStream extends FilterInputStream {
    private final long limit;
    private long count;

    public LimitedInputStream(InputStream in, long limit) {
        super(in);
        this.limit = limit;
    }

    @Override
    public int read() throws IOException {
        int b = super.read();
        if (b >= 0) {
            add(1);
        }
        return b;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
        int n = super.read(buffer, offset, length);
        if (n > 0) {
            add(n);
        }
        return n;
    }

    private void add(long n) {
        count += n;
        if (count > limit) {
            throw tooLarge(limit);
        }
    }

    static WatershedException tooLarge(long limit) {
        return new WatershedException(ErrorCode.PAYLOAD_TOO_LARGE,
                "Cannot accept events: the body is larger than http.max_body (" + limit
                        + " bytes, after decompression); split it into smaller requests",
                Map.of("limit_bytes", limit), null, null);
    }
}
