package io.twinserve.traces.format;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Splits a byte stream into lines without creating a String per line.
 *
 * <p>Hand-written rather than a {@code BufferedReader}: {@code trace stats} must read ten million lines
 * in a few seconds with a small heap, and decoding every line into a String costs more than parsing it.
 * A line is the bytes between {@link #start()} and {@link #end()} of {@link #buffer()}, without its
 * line terminator ({@code \n} or {@code \r\n}); a UTF-8 byte-order mark at the start of the stream is
 * skipped.
 */
final class LineScanner implements Closeable {
    private static final int INITIAL_BUFFER_BYTES = 1 << 20;

    private final InputStream in;
    private byte[] buf = new byte[INITIAL_BUFFER_BYTES];
    private int limit;
    private int pos;
    private boolean eof;
    private int start;
    private int end;
    private long lineNumber;

    LineScanner(InputStream in) {
        this.in = in;
    }

    /** Advances to the next line; false at the end of the stream. */
    boolean nextLine() throws IOException {
        while (true) {
            int newline = indexOfNewline(pos, limit);
            if (newline >= 0) {
                start = pos;
                end = newline > start && buf[newline - 1] == '\r' ? newline - 1 : newline;
                pos = newline + 1;
                lineNumber++;
                skipBomOnFirstLine();
                return true;
            }
            if (eof) {
                if (pos < limit) {
                    start = pos;
                    end = buf[limit - 1] == '\r' ? limit - 1 : limit;
                    pos = limit;
                    lineNumber++;
                    skipBomOnFirstLine();
                    return true;
                }
                return false;
            }
            fill();
        }
    }

    private void skipBomOnFirstLine() {
        if (lineNumber == 1
                && end - start >= 3
                && (buf[start] & 0xff) == 0xEF
                && (buf[start + 1] & 0xff) == 0xBB
                && (buf[start + 2] & 0xff) == 0xBF) {
            start += 3;
        }
    }

    private int indexOfNewline(int from, int to) {
        byte[] b = buf;
        for (int i = from; i < to; i++) {
            if (b[i] == '\n') {
                return i;
            }
        }
        return -1;
    }

    private void fill() throws IOException {
        if (pos > 0) {
            System.arraycopy(buf, pos, buf, 0, limit - pos);
            limit -= pos;
            pos = 0;
        }
        if (limit == buf.length) {
            buf = Arrays.copyOf(buf, buf.length * 2);
        }
        int n = in.read(buf, limit, buf.length - limit);
        if (n < 0) {
            eof = true;
        } else {
            limit += n;
        }
    }

    byte[] buffer() {
        return buf;
    }

    int start() {
        return start;
    }

    int end() {
        return end;
    }

    long lineNumber() {
        return lineNumber;
    }

    boolean isBlank() {
        for (int i = start; i < end; i++) {
            byte c = buf[i];
            if (c != ' ' && c != '\t') {
                return false;
            }
        }
        return true;
    }

    String lineText() {
        return new String(buf, start, end - start, StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
