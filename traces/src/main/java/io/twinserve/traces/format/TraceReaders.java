package io.twinserve.traces.format;

import io.twinserve.traces.Request;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/** Opens trace files of any supported format, detecting the format from content when not given. */
public final class TraceReaders {
    private static final int DETECT_BYTES = 1 << 16;
    private static final int STREAM_BUFFER_BYTES = 1 << 16;

    private TraceReaders() {}

    public static TraceReader open(Path file, ReadOptions options) throws IOException {
        TraceFormat format = options.format() != null ? options.format() : detect(file);
        LineScanner scanner = new LineScanner(openStream(file));
        LineParser parser = switch (format) {
            case AZURE -> new AzureLineParser(file);
            case MOONCAKE -> new MooncakeLineParser(file);
            case BURSTGPT -> new BurstGptLineParser(file, options.keepFailed());
            case CSV -> new NativeCsvLineParser(file);
            case JSONL -> new NativeJsonlLineParser(file);
        };
        return new LineTraceReader(
                file,
                scanner,
                parser,
                !format.isLossless() && !options.unordered(),
                !options.unordered(),
                options.skipBad());
    }

    /**
     * Reads a whole trace into memory and returns its requests sorted by arrival (stable, so equal times
     * keep their file order). External formats are rebased to the earliest request and renumbered in
     * arrival order; native formats keep their times and ids. For traces whose timestamps are out of order.
     */
    public static TraceReader openSorted(Path file, ReadOptions options) throws IOException {
        TraceFormat format = options.format() != null ? options.format() : detect(file);
        List<Request> all = new ArrayList<>();
        long skipped;
        long dropped;
        List<String> examples;
        try (TraceReader reader = open(file, options.withFormat(format).withUnordered(true))) {
            Request r;
            while ((r = reader.next()) != null) {
                all.add(r);
            }
            skipped = reader.skippedLines();
            dropped = reader.droppedRecords();
            examples = reader.skippedExamples();
        }
        all.sort(Comparator.comparingLong(Request::arrivalNs));
        if (!format.isLossless() && !all.isEmpty()) {
            long origin = all.get(0).arrivalNs();
            for (int i = 0; i < all.size(); i++) {
                Request r = all.get(i);
                all.set(i, r.withArrivalNs(r.arrivalNs() - origin).withId(i));
            }
        }
        Iterator<Request> it = all.iterator();
        return new TraceReader() {
            @Override
            public Request next() {
                return it.hasNext() ? it.next() : null;
            }

            @Override
            public long skippedLines() {
                return skipped;
            }

            @Override
            public List<String> skippedExamples() {
                return examples;
            }

            @Override
            public long droppedRecords() {
                return dropped;
            }
        };
    }

    /** Opens a file, transparently decompressing gzip (by magic bytes, whatever the extension). */
    static InputStream openStream(Path file) throws IOException {
        if (!Files.exists(file)) {
            throw new NoSuchFileException(file.toString(), null, "no such trace file");
        }
        if (Files.isDirectory(file)) {
            throw new TraceFormatException(file, 0, 0, "is a directory; expected a trace file");
        }
        InputStream raw = new BufferedInputStream(Files.newInputStream(file), STREAM_BUFFER_BYTES);
        raw.mark(2);
        int b1 = raw.read();
        int b2 = raw.read();
        raw.reset();
        if (b1 == 0x1f && b2 == 0x8b) {
            try {
                return new GZIPInputStream(raw, STREAM_BUFFER_BYTES);
            } catch (ZipException | EOFException e) {
                raw.close();
                throw corruptGzip(file, 0, e);
            }
        }
        return raw;
    }

    /**
     * Tells a file's format from its first non-blank line: a JSON object with {@code input_length} is
     * Mooncake, one with {@code arrival_ns} the native JSONL; a CSV header with Azure's, BurstGPT's or the
     * native columns is that format. The extension only improves the error message.
     */
    public static TraceFormat detect(Path file) throws IOException {
        String first = firstNonBlankLine(file);
        if (first == null) {
            throw new TraceFormatException(file, 0, 0, "the file is empty; expected a trace with at least one request");
        }
        String trimmed = first.strip();
        if (trimmed.startsWith("{")) {
            if (trimmed.contains("\"input_length\"")) {
                return TraceFormat.MOONCAKE;
            }
            if (trimmed.contains("\"arrival_ns\"")) {
                return TraceFormat.JSONL;
            }
            throw unknown(file, first, "a JSON object with neither input_length (Mooncake) nor arrival_ns (native)");
        }
        String lower = "," + trimmed.replace("\"", "").replace(", ", ",").toLowerCase(Locale.ROOT) + ",";
        if (lower.contains(",timestamp,") && lower.contains(",contexttokens,") && lower.contains(",generatedtokens,")) {
            return TraceFormat.AZURE;
        }
        if (lower.contains(",timestamp,")
                && lower.contains(",request tokens,")
                && lower.contains(",response tokens,")) {
            return TraceFormat.BURSTGPT;
        }
        if (lower.startsWith("," + NativeFields.CSV_HEADER + ",")) {
            return TraceFormat.CSV;
        }
        throw unknown(file, first, "a header line this reader does not know");
    }

    private static TraceFormatException unknown(Path file, String firstLine, String what) {
        String name =
                file.getFileName() == null ? "" : file.getFileName().toString().toLowerCase(Locale.ROOT);
        String hint = name.endsWith(".jsonl") || name.endsWith(".json") || name.endsWith(".jsonl.gz")
                ? " (the extension says JSON Lines)"
                : name.endsWith(".csv") || name.endsWith(".csv.gz") ? " (the extension says CSV)" : "";
        String shown = firstLine.length() > 80 ? firstLine.substring(0, 77) + "..." : firstLine;
        return new TraceFormatException(
                file,
                1,
                1,
                "unknown trace format" + hint + ": the first line is '"
                        + shown + "', " + what + ". Supported formats: " + TraceFormat.names()
                        + " (see docs/trace-formats.md); pass --format to choose one");
    }

    /**
     * A gzip stream that breaks off or holds invalid data, as a format error naming the file and the line
     * being read (the JDK's own message names neither).
     */
    static TraceFormatException corruptGzip(Path file, long line, IOException e) {
        return new TraceFormatException(
                file,
                line,
                0,
                "is gzip-compressed but cannot be decompressed here (" + e.getMessage()
                        + "); expected a complete gzip file (check it with 'gzip -t')");
    }

    private static String firstNonBlankLine(Path file) throws IOException {
        try (InputStream in = openStream(file)) {
            byte[] buf;
            try {
                buf = in.readNBytes(DETECT_BYTES);
            } catch (ZipException | EOFException e) {
                throw corruptGzip(file, 1, e);
            }
            int start = 0;
            if (buf.length >= 3 && (buf[0] & 0xff) == 0xEF && (buf[1] & 0xff) == 0xBB && (buf[2] & 0xff) == 0xBF) {
                start = 3;
            }
            int i = start;
            while (i < buf.length) {
                int end = i;
                while (end < buf.length && buf[end] != '\n') {
                    end++;
                }
                String line = new String(buf, i, end - i, StandardCharsets.UTF_8);
                if (!line.isBlank()) {
                    return line;
                }
                i = end + 1;
            }
            return null;
        }
    }
}
