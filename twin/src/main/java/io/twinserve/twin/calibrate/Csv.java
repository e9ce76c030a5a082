package io.twinserve.twin.calibrate;

import io.twinserve.traces.format.TraceFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A small, clean CSV table of measurements read whole, with errors naming the file, line and column. */
final class Csv {
    final Path file;
    final List<String> header;
    final List<String[]> rows = new ArrayList<>();
    final List<Integer> lines = new ArrayList<>();

    Csv(Path file) throws IOException {
        this.file = file;
        List<String> all = Files.readAllLines(file);
        if (all.isEmpty()) {
            throw new TraceFormatException(file, 0, 0, "the file is empty; expected a header and rows");
        }
        header = Arrays.asList(all.get(0).trim().split(",", -1));
        for (int i = 1; i < all.size(); i++) {
            if (all.get(i).isBlank()) {
                continue;
            }
            String[] f = fields(all.get(i).trim());
            if (f.length != header.size()) {
                throw new TraceFormatException(
                        file,
                        i + 1,
                        0,
                        "expected " + header.size() + " fields (" + String.join(",", header) + "), got " + f.length);
            }
            rows.add(f);
            lines.add(i + 1);
        }
    }

    /** Splits a line at commas outside double quotes (RFC 4180 quoting, "" for a quote inside one). */
    static String[] fields(String line) {
        if (line.indexOf('"') < 0) {
            return line.split(",", -1);
        }
        List<String> out = new ArrayList<>();
        StringBuilder f = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted && c == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                f.append('"');
                i++;
            } else if (c == '"') {
                quoted = !quoted;
            } else if (c == ',' && !quoted) {
                out.add(f.toString());
                f.setLength(0);
            } else {
                f.append(c);
            }
        }
        out.add(f.toString());
        return out.toArray(new String[0]);
    }

    int column(String name) {
        int c = header.indexOf(name);
        if (c < 0) {
            throw new TraceFormatException(file, 1, 0, "no column '" + name + "'; found " + header);
        }
        return c;
    }

    String text(int row, String name) {
        return rows.get(row)[column(name)];
    }

    double number(int row, String name) {
        String t = text(row, name);
        try {
            return Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new TraceFormatException(file, lines.get(row), 0, name + ": expected a number, got '" + t + "'");
        }
    }

    int size() {
        return rows.size();
    }
}
