package io.twinserve.traces.format;

import io.twinserve.traces.Request;
import java.io.Closeable;
import java.io.IOException;
import java.util.List;

/**
 * A stream of requests in arrival order, read with bounded memory.
 *
 * <p>{@link #next()} returns null at the end. Malformed input throws {@link TraceFormatException}
 * unless the reader was opened with skip-bad, in which case the line is counted in
 * {@link #skippedLines()} and reading goes on.
 */
public interface TraceReader extends Closeable {

    Request next() throws IOException;

    /** Malformed lines skipped so far (only when reading with skip-bad). */
    default long skippedLines() {
        return 0;
    }

    /** The first few skipped lines' errors, for reporting. */
    default List<String> skippedExamples() {
        return List.of();
    }

    /** Well-formed records left out on purpose, such as BurstGPT's failed requests; see the format docs. */
    default long droppedRecords() {
        return 0;
    }

    @Override
    default void close() throws IOException {}
}
