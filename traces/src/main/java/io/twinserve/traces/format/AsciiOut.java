package io.twinserve.traces.format;

import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A buffered writer of ASCII numbers and UTF-8 text straight to bytes.
 *
 * <p>Hand-written because the generator must write millions of lines per second; formatting through
 * {@code Writer} and {@code Long.toString} allocates per field.
 */
final class AsciiOut implements Closeable {
    private final OutputStream out;
    private final byte[] buf = new byte[1 << 16];
    private final byte[] digits = new byte[20];
    private int pos;

    AsciiOut(OutputStream out) {
        this.out = out;
    }

    AsciiOut ch(char c) throws IOException {
        if (pos == buf.length) {
            flushBuffer();
        }
        buf[pos++] = (byte) c;
        return this;
    }

    AsciiOut num(long v) throws IOException {
        if (pos + 20 > buf.length) {
            flushBuffer();
        }
        if (v == Long.MIN_VALUE) {
            return text("-9223372036854775808");
        }
        if (v < 0) {
            buf[pos++] = '-';
            v = -v;
        }
        int n = 0;
        do {
            digits[n++] = (byte) ('0' + (v % 10));
            v /= 10;
        } while (v != 0);
        while (n > 0) {
            buf[pos++] = digits[--n];
        }
        return this;
    }

    /** Writes {@code v} zero-padded to {@code width} digits; v must be non-negative. */
    AsciiOut padded(long v, int width) throws IOException {
        if (pos + width + 20 > buf.length) {
            flushBuffer();
        }
        int n = 0;
        do {
            digits[n++] = (byte) ('0' + (v % 10));
            v /= 10;
        } while (v != 0);
        for (int k = n; k < width; k++) {
            buf[pos++] = '0';
        }
        while (n > 0) {
            buf[pos++] = digits[--n];
        }
        return this;
    }

    AsciiOut text(String s) throws IOException {
        int len = s.length();
        boolean ascii = true;
        for (int i = 0; i < len && ascii; i++) {
            ascii = s.charAt(i) < 0x80;
        }
        if (!ascii) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            return bytes(b);
        }
        if (pos + len > buf.length) {
            flushBuffer();
            if (len > buf.length) {
                out.write(s.getBytes(StandardCharsets.US_ASCII));
                return this;
            }
        }
        for (int i = 0; i < len; i++) {
            buf[pos++] = (byte) s.charAt(i);
        }
        return this;
    }

    AsciiOut bytes(byte[] b) throws IOException {
        if (pos + b.length > buf.length) {
            flushBuffer();
            if (b.length > buf.length) {
                out.write(b);
                return this;
            }
        }
        System.arraycopy(b, 0, buf, pos, b.length);
        pos += b.length;
        return this;
    }

    /**
     * A CSV field: quoted (RFC 4180) when it holds a comma, quote or line break, and also when it is empty
     * or starts or ends with whitespace or a control character, since readers trim unquoted fields and
     * read an unquoted empty field as absent.
     */
    AsciiOut csvField(String s) throws IOException {
        boolean needsQuotes = s.isEmpty() || s.charAt(0) <= ' ' || s.charAt(s.length() - 1) <= ' ';
        for (int i = 0; i < s.length() && !needsQuotes; i++) {
            char c = s.charAt(i);
            needsQuotes = c == ',' || c == '"' || c == '\n' || c == '\r';
        }
        if (!needsQuotes) {
            return text(s);
        }
        return ch('"').text(s.replace("\"", "\"\"")).ch('"');
    }

    /** A JSON string literal with the escapes JSON requires. */
    AsciiOut jsonString(String s) throws IOException {
        ch('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> text("\\\"");
                case '\\' -> text("\\\\");
                case '\n' -> text("\\n");
                case '\r' -> text("\\r");
                case '\t' -> text("\\t");
                default -> {
                    if (c < 0x20) {
                        text(String.format("\\u%04x", (int) c));
                    } else if (c < 0x80) {
                        ch(c);
                    } else {
                        int runEnd = i + 1;
                        while (runEnd < s.length() && s.charAt(runEnd) >= 0x80) {
                            runEnd++;
                        }
                        text(s.substring(i, runEnd));
                        i = runEnd - 1;
                    }
                }
            }
        }
        return ch('"');
    }

    private void flushBuffer() throws IOException {
        out.write(buf, 0, pos);
        pos = 0;
    }

    void flush() throws IOException {
        flushBuffer();
        out.flush();
    }

    @Override
    public void close() throws IOException {
        try {
            flushBuffer();
        } finally {
            out.close();
        }
    }
}
