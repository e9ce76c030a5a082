package io.twinserve.traces.format;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The fields of one CSV line (RFC 4180 quoting, one line per record), parsed in place with typed
 * accessors whose errors name the file, line, column and field.
 *
 * <p>Hand-written for the same reason as {@link LineScanner}: per-field Strings would dominate the cost
 * of reading large traces.
 */
final class CsvRow {
    private final Path file;
    private byte[] buf;
    private int lineStart;
    private long lineNumber;
    private int count;
    private int[] starts = new int[16];
    private int[] ends = new int[16];
    private boolean[] quoted = new boolean[16];

    CsvRow(Path file) {
        this.file = file;
    }

    /** Splits the line {@code [start, end)} of {@code bytes}; returns the number of fields. */
    int split(byte[] bytes, int start, int end, long line) {
        this.buf = bytes;
        this.lineStart = start;
        this.lineNumber = line;
        count = 0;
        int i = start;
        while (true) {
            ensureCapacity(count + 1);
            if (i < end && bytes[i] == '"') {
                int fieldStart = i + 1;
                int j = fieldStart;
                while (true) {
                    if (j >= end) {
                        throw error(count, fieldStart - 1, "a quoted field that is not closed on this line");
                    }
                    if (bytes[j] == '"') {
                        if (j + 1 < end && bytes[j + 1] == '"') {
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    j++;
                }
                starts[count] = fieldStart;
                ends[count] = j;
                quoted[count] = true;
                count++;
                i = j + 1;
                if (i == end) {
                    return count;
                }
                if (bytes[i] != ',') {
                    throw error(count - 1, i, "',' after the closing quote, got '" + (char) bytes[i] + "'");
                }
                i++;
            } else {
                int j = i;
                while (j < end && bytes[j] != ',') {
                    j++;
                }
                starts[count] = i;
                ends[count] = j;
                quoted[count] = false;
                count++;
                if (j == end) {
                    return count;
                }
                i = j + 1;
            }
        }
    }

    private void ensureCapacity(int n) {
        if (n > starts.length) {
            starts = Arrays.copyOf(starts, n * 2);
            ends = Arrays.copyOf(ends, n * 2);
            quoted = Arrays.copyOf(quoted, n * 2);
        }
    }

    int count() {
        return count;
    }

    int start(int field) {
        return starts[field];
    }

    int end(int field) {
        return ends[field];
    }

    byte[] buffer() {
        return buf;
    }

    boolean isEmpty(int field) {
        return starts[field] == ends[field];
    }

    /** Whether the field was written in quotes, so that {@code ""} is an empty text rather than none. */
    boolean isQuoted(int field) {
        return quoted[field];
    }

    /** 1-based column of a field's first character. */
    int column(int field) {
        return starts[field] - lineStart + 1 - (quoted[field] ? 1 : 0);
    }

    long lineNumber() {
        return lineNumber;
    }

    String text(int field) {
        String raw = new String(buf, starts[field], ends[field] - starts[field], StandardCharsets.UTF_8);
        return quoted[field] ? raw.replace("\"\"", "\"") : raw.trim();
    }

    boolean textEquals(int field, String ascii) {
        int s = starts[field];
        int len = ends[field] - s;
        if (len != ascii.length()) {
            return false;
        }
        for (int k = 0; k < len; k++) {
            if (buf[s + k] != ascii.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    /** A non-negative decimal integer, possibly written as {@code 12.0}; spaces around it are allowed. */
    long nonNegativeLong(int field, String name) {
        int s = starts[field];
        int e = ends[field];
        while (s < e && buf[s] == ' ') {
            s++;
        }
        while (e > s && buf[e - 1] == ' ') {
            e--;
        }
        if (s == e) {
            throw error(field, starts[field], name + ": expected a non-negative integer, got an empty field");
        }
        long v = 0;
        int i = s;
        for (; i < e; i++) {
            int d = buf[i] - '0';
            if (d < 0 || d > 9) {
                break;
            }
            if (v > (Long.MAX_VALUE - d) / 10) {
                throw error(field, s, name + ": value out of range, got '" + text(field) + "'");
            }
            v = v * 10 + d;
        }
        if (i < e && buf[i] == '.' && i > s) {
            // integral values written as floats ("12.0") are accepted; anything else is not
            int j = i + 1;
            while (j < e && buf[j] == '0') {
                j++;
            }
            if (j == e) {
                return v;
            }
        }
        if (i != e) {
            throw error(field, s, name + ": expected a non-negative integer, got '" + text(field) + "'");
        }
        return v;
    }

    int nonNegativeInt(int field, String name) {
        long v = nonNegativeLong(field, name);
        if (v > Integer.MAX_VALUE) {
            throw error(field, starts[field], name + ": expected at most " + Integer.MAX_VALUE + ", got " + v);
        }
        return (int) v;
    }

    double number(int field, String name) {
        String t = text(field);
        try {
            double v = Double.parseDouble(t);
            if (!Double.isFinite(v)) {
                throw error(field, starts[field], name + ": expected a finite number, got '" + t + "'");
            }
            return v;
        } catch (NumberFormatException e) {
            throw error(field, starts[field], name + ": expected a number, got '" + t + "'");
        }
    }

    TraceFormatException error(int field, int at, String problem) {
        int col = field < count || field == count ? at - lineStart + 1 : 0;
        return new TraceFormatException(file, lineNumber, col, problem);
    }

    TraceFormatException error(int field, String problem) {
        return error(field, field < count ? starts[field] : lineStart, problem);
    }
}
