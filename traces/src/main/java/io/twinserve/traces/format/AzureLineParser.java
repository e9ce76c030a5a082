package io.twinserve.traces.format;

import java.nio.file.Path;

/** Azure LLM inference traces (2023 and 2024): {@code TIMESTAMP,ContextTokens,GeneratedTokens}. */
final class AzureLineParser implements LineParser {
    static final String TIMESTAMP = "TIMESTAMP";
    static final String CONTEXT = "ContextTokens";
    static final String GENERATED = "GeneratedTokens";

    private final Path file;
    private final CsvRow row;
    private final AzureTimestamps timestamps = new AzureTimestamps();
    private boolean headerRead;
    private int timeColumn;
    private int contextColumn;
    private int generatedColumn;
    private int minFields;

    AzureLineParser(Path file) {
        this.file = file;
        this.row = new CsvRow(file);
    }

    @Override
    public Kind parse(LineScanner line, ParsedFields out) {
        int n = row.split(line.buffer(), line.start(), line.end(), line.lineNumber());
        if (!headerRead) {
            CsvHeader h = CsvHeader.of(row);
            timeColumn = h.require(TIMESTAMP, file, line.lineNumber(), "Azure");
            contextColumn = h.require(CONTEXT, file, line.lineNumber(), "Azure");
            generatedColumn = h.require(GENERATED, file, line.lineNumber(), "Azure");
            minFields = Math.max(timeColumn, Math.max(contextColumn, generatedColumn)) + 1;
            headerRead = true;
            return Kind.SKIP;
        }
        if (n < minFields) {
            throw row.error(
                    n,
                    line.end(),
                    "expected " + minFields + " fields (" + TIMESTAMP + "," + CONTEXT + "," + GENERATED + "), got "
                            + n);
        }
        try {
            out.timeNs = timestamps.parse(row.buffer(), row.start(timeColumn), row.end(timeColumn));
        } catch (IllegalArgumentException e) {
            throw row.error(timeColumn, TIMESTAMP + ": " + e.getMessage() + ", got '" + row.text(timeColumn) + "'");
        }
        out.timeColumn = row.column(timeColumn);
        out.promptTokens = positive(contextColumn, CONTEXT);
        out.outputTokens = positive(generatedColumn, GENERATED);
        return Kind.REQUEST;
    }

    private int positive(int column, String name) {
        int v = row.nonNegativeInt(column, name);
        if (v < 1) {
            throw row.error(column, name + ": expected a token count >= 1, got 0");
        }
        return v;
    }
}
