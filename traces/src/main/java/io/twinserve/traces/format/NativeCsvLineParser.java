package io.twinserve.traces.format;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * twinserve's own CSV: the columns of {@link NativeFields} in that order; empty session, turn and adapter
 * mean none; prefix hashes are space-separated signed decimal integers.
 */
final class NativeCsvLineParser implements LineParser {
    private final Path file;
    private final CsvRow row;
    private boolean headerRead;

    NativeCsvLineParser(Path file) {
        this.file = file;
        this.row = new CsvRow(file);
    }

    @Override
    public Kind parse(LineScanner line, ParsedFields out) {
        int n = row.split(line.buffer(), line.start(), line.end(), line.lineNumber());
        if (!headerRead) {
            CsvHeader h = CsvHeader.of(row);
            for (int i = 0; i < NativeFields.ALL.length; i++) {
                if (i >= h.size() || !h.name(i).equals(NativeFields.ALL[i])) {
                    throw new TraceFormatException(
                            file,
                            line.lineNumber(),
                            0,
                            "expected the native CSV header '" + NativeFields.CSV_HEADER + "', got '" + line.lineText()
                                    + "'");
                }
            }
            headerRead = true;
            return Kind.SKIP;
        }
        if (n != NativeFields.ALL.length) {
            throw row.error(
                    Math.min(n, NativeFields.ALL.length),
                    line.end(),
                    "expected " + NativeFields.ALL.length + " fields (" + NativeFields.CSV_HEADER + "), got " + n);
        }
        out.id = row.nonNegativeLong(0, NativeFields.ID);
        out.timeNs = row.nonNegativeLong(1, NativeFields.ARRIVAL_NS);
        out.timeColumn = row.column(1);
        if (!row.isEmpty(2) || row.isQuoted(2)) {
            out.sessionId = row.text(2);
        }
        if (!row.isEmpty(3)) {
            out.turnIndex = row.nonNegativeInt(3, NativeFields.TURN);
        }
        if (!row.isEmpty(4) || row.isQuoted(4)) {
            out.adapterId = row.text(4);
        }
        out.promptTokens = row.nonNegativeInt(5, NativeFields.PROMPT_TOKENS);
        out.outputTokens = row.nonNegativeInt(6, NativeFields.OUTPUT_TOKENS);
        if (!row.isEmpty(7)) {
            out.prefixBlockSize = row.nonNegativeInt(7, NativeFields.BLOCK_SIZE);
        }
        if (!row.isEmpty(8)) {
            out.prefixHashes = parseHashes(row.buffer(), row.start(8), row.end(8));
        }
        return Kind.REQUEST;
    }

    private long[] parseHashes(byte[] b, int start, int end) {
        int count = 0;
        boolean inToken = false;
        for (int i = start; i < end; i++) {
            boolean space = b[i] == ' ';
            if (!space && !inToken) {
                count++;
            }
            inToken = !space;
        }
        long[] out = new long[count];
        int k = 0;
        int i = start;
        while (i < end) {
            while (i < end && b[i] == ' ') {
                i++;
            }
            if (i == end) {
                break;
            }
            int tokenStart = i;
            while (i < end && b[i] != ' ') {
                i++;
            }
            String token = new String(b, tokenStart, i - tokenStart, StandardCharsets.US_ASCII);
            try {
                out[k++] = Long.parseLong(token);
            } catch (NumberFormatException e) {
                throw row.error(
                        8,
                        tokenStart,
                        NativeFields.PREFIX_HASHES + ": expected space-separated 64-bit integers, got '" + token + "'");
            }
        }
        return out;
    }
}
