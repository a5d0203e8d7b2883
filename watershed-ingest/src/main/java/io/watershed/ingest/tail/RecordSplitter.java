package io.watershed.ingest.tail;

import io.watershed.spi.EventBus;
import io.watershed.spi.SourceSpec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Cuts the bytes read from a file into complete records and parses them. Lines end at {@code \n} (a {@code \r} before
 * it is dropped); with {@code multiline_start} a record ends where the next one starts, or at a flush (no new lines
 * for {@code multiline_flush}). A partial last line stays back. A record over {@code max_record_size} goes to the dead
 * letters with its first bytes, and the rest of it is skipped.
 */
final class RecordSplitter {
    private final SourceSpec.FileTail spec;
    private final RecordParser parser;
    private final Pattern multilineStart;

    /** A record ready to publish, or input to skip ({@code event} null): its bytes end at {@code end}. */
    record Piece(long start, long end, EventBus.Event event) {}

    RecordSplitter(SourceSpec.FileTail spec, RecordParser parser) {
        this.spec = spec;
        this.parser = parser;
        this.multilineStart = spec.multilineStart().map(Pattern::compile).orElse(null);
    }

    /** Complete records from {@code bytes}, which start at the file's offset; sets the file's {@code pendingSkip}. */
    List<Piece> split(TrackedFile t, byte[] bytes, boolean flush) {
        List<Piece> pieces = new ArrayList<>();
        long base = t.offset;
        int position = 0;
        if (t.skipToNewline) {
            int newline = indexOf(bytes, 0);
            if (newline < 0) {
                pieces.add(new Piece(base, base + bytes.length, null));
                t.pendingSkip = true;
                return pieces;
            }
            pieces.add(new Piece(base, base + newline + 1, null)); // the rest of an over-long record already dead-lettered
            position = newline + 1;
        }
        int recordStart = -1;
        int recordEnd = -1; // end of the record's last line, without its line break
        while (position < bytes.length) {
            int newline = indexOf(bytes, position);
            if (newline < 0) {
                break;
            }
            int lineEnd = newline > position && bytes[newline - 1] == '\r' ? newline - 1 : newline;
            if (multilineStart == null) {
                pieces.add(record(t, bytes, base, position, lineEnd, newline + 1));
            } else {
                boolean starts = multilineStart.matcher(new String(bytes, position, lineEnd - position, StandardCharsets.UTF_8)).find();
                if (recordStart >= 0 && starts) {
                    pieces.add(record(t, bytes, base, recordStart, recordEnd, position));
                    recordStart = -1;
                }
                if (recordStart < 0) {
                    recordStart = position;
                }
                recordEnd = lineEnd;
                if (recordEnd - recordStart > spec.maxRecordBytes()) {
                    pieces.add(record(t, bytes, base, recordStart, recordEnd, newline + 1));
                    recordStart = -1;
                }
            }
            position = newline + 1;
        }
        if (recordStart >= 0 && flush) {
            // no new lines for multiline_flush: the record is complete (a partial line after it stays back)
            pieces.add(record(t, bytes, base, recordStart, recordEnd, position));
        }
        int pending = recordStart >= 0 ? position - recordStart + (bytes.length - position) : bytes.length - position;
        if (pending > spec.maxRecordBytes() + 2) {
            // a line that does not end: keep what fits in the dead-letter table and skip to its end
            int from = recordStart >= 0 ? recordStart : position;
            pieces.add(new Piece(base + from, base + bytes.length, EventBus.Event.deadLetter(
                    Arrays.copyOfRange(bytes, from, from + spec.maxRecordBytes()), t.where(base + from)
                            + ": the record is over max_record_size (" + spec.maxRecordBytes() + " bytes); its first "
                            + spec.maxRecordBytes() + " bytes are kept here", System.currentTimeMillis())));
            t.pendingSkip = true;
        }
        return pieces;
    }

    private Piece record(TrackedFile t, byte[] bytes, long base, int from, int to, int next) {
        long acceptedAt = System.currentTimeMillis();
        if (to - from > spec.maxRecordBytes()) {
            return new Piece(base + from, base + next, EventBus.Event.deadLetter(
                    Arrays.copyOfRange(bytes, from, from + spec.maxRecordBytes()), t.where(base + from)
                            + ": the record has " + (to - from) + " bytes, over max_record_size (" + spec.maxRecordBytes()
                            + "); its first " + spec.maxRecordBytes() + " bytes are kept here", acceptedAt));
        }
        byte[] record = Arrays.copyOfRange(bytes, from, to);
        return new Piece(base + from, base + next, parser.parse(record, t.path.toString(), t.where(base + from), acceptedAt));
    }

    private static int indexOf(byte[] bytes, int from) {
        for (int i = from; i < bytes.length; i++) {
            if (bytes[i] == '\n') {
                return i;
            }
        }
        return -1;
    }
}
