package io.twinserve.traces.format;

import io.twinserve.traces.Request;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipException;

/**
 * Reads a line-based trace through a format's {@link LineParser}: numbers the requests, rebases
 * external clocks so that the first request arrives at 0, rejects timestamps that go backwards, and
 * applies skip-bad.
 *
 * <p>Timestamps out of order are an error (or a skipped line with skip-bad) rather than silently
 * reordered: reordering needs the whole file in memory, which {@code trace convert --sort} does on
 * request.
 */
final class LineTraceReader implements TraceReader {
    private static final int MAX_EXAMPLES = 5;

    private final Path file;
    private final LineScanner scanner;
    private final LineParser parser;
    private final boolean rebase;
    private final boolean ordered;
    private final boolean skipBad;
    private final ParsedFields fields = new ParsedFields();
    private final List<String> examples = new ArrayList<>();
    private long originNs = Long.MIN_VALUE;
    private long lastArrivalNs = Long.MIN_VALUE;
    private long lastArrivalLine;
    private long nextId;
    private long skipped;
    private long dropped;
    private boolean sawRecord;

    LineTraceReader(
            Path file, LineScanner scanner, LineParser parser, boolean rebase, boolean ordered, boolean skipBad) {
        this.file = file;
        this.scanner = scanner;
        this.parser = parser;
        this.rebase = rebase;
        this.ordered = ordered;
        this.skipBad = skipBad;
    }

    @Override
    public Request next() throws IOException {
        while (nextLine()) {
            if (scanner.isBlank()) {
                continue;
            }
            try {
                Request r = parseCurrent();
                if (r != null) {
                    return r;
                }
            } catch (TraceFormatException e) {
                if (!skipBad) {
                    throw e;
                }
                skipped++;
                if (examples.size() < MAX_EXAMPLES) {
                    examples.add(e.getMessage());
                }
            }
        }
        if (!sawRecord && skipped == 0 && dropped == 0) {
            throw new TraceFormatException(
                    file,
                    scanner.lineNumber(),
                    0,
                    scanner.lineNumber() == 0
                            ? "the file is empty; expected a trace with at least one request"
                            : "the file has no requests, only a header or blank lines");
        }
        return null;
    }

    private boolean nextLine() throws IOException {
        try {
            return scanner.nextLine();
        } catch (ZipException | EOFException e) {
            throw TraceReaders.corruptGzip(file, scanner.lineNumber() + 1, e);
        }
    }

    private Request parseCurrent() {
        fields.clear();
        LineParser.Kind kind = parser.parse(scanner, fields);
        if (kind == LineParser.Kind.SKIP) {
            return null;
        }
        if (kind == LineParser.Kind.DROPPED) {
            dropped++;
            return null;
        }
        long t = fields.timeNs;
        if (rebase && originNs == Long.MIN_VALUE) {
            originNs = t;
        }
        long arrival = rebase ? t - originNs : t;
        if (ordered && (arrival < lastArrivalNs || arrival < 0)) {
            throw new TraceFormatException(
                    file,
                    scanner.lineNumber(),
                    fields.timeColumn,
                    "timestamps out of order: this request arrives " + describe(lastArrivalNs - arrival)
                            + " before the one on line " + lastArrivalLine
                            + "; expected non-decreasing times (sort the file with 'twinserve trace convert --sort',"
                            + " or pass --skip-bad to drop such lines)");
        }
        long id = fields.id >= 0 ? fields.id : nextId;
        Request r;
        try {
            r = new Request(
                    id,
                    arrival,
                    fields.sessionId,
                    fields.turnIndex,
                    fields.adapterId,
                    fields.promptTokens,
                    fields.outputTokens,
                    fields.prefixBlockSize,
                    fields.prefixHashes);
        } catch (IllegalArgumentException e) {
            throw new TraceFormatException(file, scanner.lineNumber(), 0, e.getMessage());
        }
        nextId = id + 1;
        lastArrivalNs = arrival;
        lastArrivalLine = scanner.lineNumber();
        sawRecord = true;
        return r;
    }

    private static String describe(long ns) {
        return ns >= 1_000_000 ? (ns / 1_000_000.0) + " ms" : ns + " ns";
    }

    @Override
    public long skippedLines() {
        return skipped;
    }

    @Override
    public List<String> skippedExamples() {
        return List.copyOf(examples);
    }

    @Override
    public long droppedRecords() {
        return dropped;
    }

    @Override
    public void close() throws IOException {
        scanner.close();
    }
}
