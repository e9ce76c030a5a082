package io.twinserve.traces.format;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Reads whole integer columns of a CSV (by header name) or JSON Lines file (by key), for empirical
 * length distributions.
 */
public final class ColumnReader {
    private ColumnReader() {}

    /** Returns one array per requested column, rows in file order. */
    public static int[][] readIntColumns(Path file, List<String> columns) throws IOException {
        try (LineScanner scanner = new LineScanner(TraceReaders.openStream(file))) {
            int[][] out = new int[columns.size()][1024];
            int rows = 0;
            CsvRow row = new CsvRow(file);
            JsonLine json = new JsonLine(file);
            int[] index = null;
            Boolean jsonl = null;
            while (scanner.nextLine()) {
                if (scanner.isBlank()) {
                    continue;
                }
                if (jsonl == null) {
                    jsonl = scanner.buffer()[scanner.start()] == '{';
                }
                if (rows == out[0].length) {
                    for (int c = 0; c < out.length; c++) {
                        out[c] = Arrays.copyOf(out[c], rows * 2);
                    }
                }
                if (jsonl) {
                    json.open(scanner);
                    boolean[] seen = new boolean[columns.size()];
                    String key;
                    while ((key = json.nextField()) != null) {
                        int c = columns.indexOf(key);
                        if (c >= 0) {
                            out[c][rows] = json.nonNegativeInt(key);
                            seen[c] = true;
                        } else {
                            json.skipValue();
                        }
                    }
                    for (int c = 0; c < seen.length; c++) {
                        if (!seen[c]) {
                            throw json.error("missing key '" + columns.get(c) + "'");
                        }
                    }
                    rows++;
                    continue;
                }
                int n = row.split(scanner.buffer(), scanner.start(), scanner.end(), scanner.lineNumber());
                if (index == null) {
                    CsvHeader header = CsvHeader.of(row);
                    index = new int[columns.size()];
                    for (int c = 0; c < columns.size(); c++) {
                        index[c] = header.indexOf(columns.get(c));
                        if (index[c] < 0) {
                            throw new TraceFormatException(
                                    file,
                                    scanner.lineNumber(),
                                    0,
                                    "no column '" + columns.get(c) + "' in the header; found " + header);
                        }
                    }
                    continue;
                }
                for (int c = 0; c < index.length; c++) {
                    if (index[c] >= n) {
                        throw row.error(n, scanner.end(), "expected a value for column '" + columns.get(c) + "'");
                    }
                    out[c][rows] = row.nonNegativeInt(index[c], columns.get(c));
                }
                rows++;
            }
            if (rows == 0) {
                throw new TraceFormatException(file, scanner.lineNumber(), 0, "no rows to sample lengths from");
            }
            for (int c = 0; c < out.length; c++) {
                out[c] = Arrays.copyOf(out[c], rows);
            }
            return out;
        }
    }
}
