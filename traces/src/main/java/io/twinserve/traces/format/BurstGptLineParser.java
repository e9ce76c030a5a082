package io.twinserve.traces.format;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * BurstGPT CSV, with or without the newer {@code Session ID} and {@code Elapsed time} columns.
 *
 * <p>Failed requests (0 response tokens) are dropped and counted by default, since they produced no
 * output and a twin replay would otherwise serve them as successes; with keep-failed they become
 * requests with one output token and at least one prompt token (the real trace logs failures with 0 request tokens). Requests of one {@code Session ID}
 * become one session, numbered in file order.
 */
final class BurstGptLineParser implements LineParser {
    static final String TIMESTAMP = "Timestamp";
    static final String REQUEST = "Request tokens";
    static final String RESPONSE = "Response tokens";
    static final String SESSION = "Session ID";

    private final Path file;
    private final boolean keepFailed;
    private final CsvRow row;
    private final Map<String, int[]> turnsBySession = new HashMap<>();
    private boolean headerRead;
    private int timeColumn;
    private int requestColumn;
    private int responseColumn;
    private int sessionColumn;
    private int minFields;

    BurstGptLineParser(Path file, boolean keepFailed) {
        this.file = file;
        this.keepFailed = keepFailed;
        this.row = new CsvRow(file);
    }

    @Override
    public Kind parse(LineScanner line, ParsedFields out) {
        int n = row.split(line.buffer(), line.start(), line.end(), line.lineNumber());
        if (!headerRead) {
            CsvHeader h = CsvHeader.of(row);
            timeColumn = h.require(TIMESTAMP, file, line.lineNumber(), "BurstGPT");
            requestColumn = h.require(REQUEST, file, line.lineNumber(), "BurstGPT");
            responseColumn = h.require(RESPONSE, file, line.lineNumber(), "BurstGPT");
            sessionColumn = h.indexOf(SESSION);
            minFields = Math.max(Math.max(timeColumn, sessionColumn), Math.max(requestColumn, responseColumn)) + 1;
            headerRead = true;
            return Kind.SKIP;
        }
        if (n < minFields) {
            throw row.error(n, line.end(), "expected at least " + minFields + " fields, got " + n);
        }
        double seconds = row.number(timeColumn, TIMESTAMP);
        if (seconds < 0) {
            throw row.error(timeColumn, TIMESTAMP + ": expected seconds >= 0, got " + row.text(timeColumn));
        }
        out.timeNs = Math.round(seconds * 1e9);
        out.timeColumn = row.column(timeColumn);
        int prompt = row.nonNegativeInt(requestColumn, REQUEST);
        int output = row.nonNegativeInt(responseColumn, RESPONSE);
        if (output == 0) {
            // a failed request: in the real trace its request tokens are 0 as well
            if (!keepFailed) {
                return Kind.DROPPED;
            }
            prompt = Math.max(prompt, 1);
            output = 1;
        }
        if (prompt < 1) {
            throw row.error(
                    requestColumn, REQUEST + ": expected a token count >= 1 when " + RESPONSE + " is not 0, got 0");
        }
        out.promptTokens = prompt;
        out.outputTokens = output;
        if (sessionColumn >= 0 && !row.isEmpty(sessionColumn)) {
            String session = row.text(sessionColumn);
            int[] turns = turnsBySession.computeIfAbsent(session, k -> new int[1]);
            out.sessionId = session;
            out.turnIndex = turns[0]++;
        }
        return Kind.REQUEST;
    }
}
