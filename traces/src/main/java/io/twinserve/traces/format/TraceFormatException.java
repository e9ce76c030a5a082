package io.twinserve.traces.format;

import java.nio.file.Path;

/**
 * A trace file that cannot be read as its format says: names the file, the line and column (1-based,
 * 0 when unknown), the offending value and what was expected.
 */
public final class TraceFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final long line;
    private final int column;

    public TraceFormatException(Path file, long line, int column, String problem) {
        super(location(file, line, column) + ": " + problem);
        this.file = file;
        this.line = line;
        this.column = column;
    }

    public Path file() {
        return file;
    }

    public long line() {
        return line;
    }

    public int column() {
        return column;
    }

    private static String location(Path file, long line, int column) {
        StringBuilder b = new StringBuilder(file == null ? "<input>" : file.toString());
        if (line > 0) {
            b.append(':').append(line);
            if (column > 0) {
                b.append(':').append(column);
            }
        }
        return b.toString();
    }
}
