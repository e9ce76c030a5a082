package io.twinserve.traces.format;

import io.twinserve.traces.Request;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads and writes trace files for the format tests: the committed real slices and files made by a test. */
final class TraceFiles {

    /** Everything a reader gave: its requests and its counters after the last one. */
    record ReadResult(List<Request> requests, long skippedLines, List<String> skippedExamples, long droppedRecords) {}

    private TraceFiles() {}

    /** A file under {@code src/test/resources/traces/}. */
    static Path resource(String relative) {
        URL url = TraceFiles.class.getResource("/traces/" + relative);
        if (url == null) {
            throw new IllegalStateException("missing test resource traces/" + relative);
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<Request> readAll(Path file, ReadOptions options) throws IOException {
        return read(file, options).requests();
    }

    static ReadResult read(Path file, ReadOptions options) throws IOException {
        try (TraceReader reader = TraceReaders.open(file, options)) {
            return drain(reader);
        }
    }

    static ReadResult readSorted(Path file, ReadOptions options) throws IOException {
        try (TraceReader reader = TraceReaders.openSorted(file, options)) {
            return drain(reader);
        }
    }

    private static ReadResult drain(TraceReader reader) throws IOException {
        List<Request> all = new ArrayList<>();
        Request r;
        while ((r = reader.next()) != null) {
            all.add(r);
        }
        return new ReadResult(all, reader.skippedLines(), reader.skippedExamples(), reader.droppedRecords());
    }

    /** Writes the lines, each ended by {@code \n}, as UTF-8. */
    static Path writeLines(Path dir, String name, String... lines) {
        StringBuilder b = new StringBuilder();
        for (String line : lines) {
            b.append(line).append('\n');
        }
        try {
            return Files.writeString(dir.resolve(name), b, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path writeRequests(Path file, TraceFormat format, List<Request> requests) throws IOException {
        try (TraceWriter writer = TraceWriters.open(file, format)) {
            for (Request r : requests) {
                writer.write(r);
            }
        }
        return file;
    }

    /** The data lines of a committed CSV slice, header dropped, split on commas (the slices quote nothing). */
    static List<String[]> csvRows(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<String[]> rows = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            if (!line.isBlank()) {
                rows.add(line.split(",", -1));
            }
        }
        return rows;
    }
}
