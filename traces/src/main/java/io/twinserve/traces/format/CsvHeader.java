package io.twinserve.traces.format;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Column positions found by name in a CSV header line. */
final class CsvHeader {
    private final List<String> names;

    private CsvHeader(List<String> names) {
        this.names = names;
    }

    static CsvHeader of(CsvRow row) {
        List<String> names = new ArrayList<>(row.count());
        for (int i = 0; i < row.count(); i++) {
            names.add(row.text(i));
        }
        return new CsvHeader(names);
    }

    /** Index of a column (case-insensitive), or -1. */
    int indexOf(String name) {
        for (int i = 0; i < names.size(); i++) {
            if (names.get(i).equalsIgnoreCase(name)) {
                return i;
            }
        }
        return -1;
    }

    int require(String name, Path file, long line, String format) {
        int i = indexOf(name);
        if (i < 0) {
            throw new TraceFormatException(
                    file, line, 0, "the " + format + " header has no column '" + name + "'; found " + names);
        }
        return i;
    }

    int size() {
        return names.size();
    }

    String name(int i) {
        return names.get(i);
    }

    boolean containsAll(String... required) {
        for (String r : required) {
            if (indexOf(r) < 0) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return String.join(",", names).toLowerCase(Locale.ROOT);
    }
}
