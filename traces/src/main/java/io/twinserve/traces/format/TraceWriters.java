package io.twinserve.traces.format;

import io.twinserve.traces.Request;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.Locale;
import java.util.zip.GZIPOutputStream;

/**
 * Writers for every format. The native CSV and JSONL keep every field; the others keep what their
 * format can hold (see docs/trace-formats.md).
 */
public final class TraceWriters {
    private TraceWriters() {}

    /** Opens a writer; a name ending in {@code .gz} is gzip-compressed. */
    public static TraceWriter open(Path file, TraceFormat format) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        OutputStream raw = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
        if (file.getFileName().toString().endsWith(".gz")) {
            raw = new GZIPOutputStream(raw, 1 << 16);
        }
        return open(raw, format);
    }

    public static TraceWriter open(OutputStream out, TraceFormat format) throws IOException {
        AsciiOut a = new AsciiOut(out);
        return switch (format) {
            case CSV -> new NativeCsv(a);
            case JSONL -> new NativeJsonl(a);
            case AZURE -> new Azure(a);
            case MOONCAKE -> new Mooncake(a);
            case BURSTGPT -> new BurstGpt(a);
        };
    }

    /** Picks a format from a file name: {@code .jsonl} is native JSONL, anything else native CSV. */
    public static TraceFormat formatForName(Path file) {
        String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (n.endsWith(".gz")) {
            n = n.substring(0, n.length() - 3);
        }
        return n.endsWith(".jsonl") || n.endsWith(".json") ? TraceFormat.JSONL : TraceFormat.CSV;
    }

    private record NativeCsv(AsciiOut out) implements TraceWriter {
        NativeCsv {
            try {
                out.text(NativeFields.CSV_HEADER).ch('\n');
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void write(Request r) throws IOException {
            out.num(r.id()).ch(',').num(r.arrivalNs()).ch(',');
            if (r.sessionId() != null) {
                out.csvField(r.sessionId()).ch(',').num(r.turnIndex());
            } else {
                out.ch(',');
            }
            out.ch(',');
            if (r.adapterId() != null) {
                out.csvField(r.adapterId());
            }
            out.ch(',').num(r.promptTokens()).ch(',').num(r.outputTokens()).ch(',');
            long[] h = r.prefixHashes();
            if (h.length > 0) {
                out.num(r.prefixBlockSize()).ch(',');
                for (int i = 0; i < h.length; i++) {
                    if (i > 0) {
                        out.ch(' ');
                    }
                    out.num(h[i]);
                }
            } else {
                out.ch(',');
            }
            out.ch('\n');
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }

    private record NativeJsonl(AsciiOut out) implements TraceWriter {
        @Override
        public void write(Request r) throws IOException {
            out.text("{\"id\":").num(r.id()).text(",\"arrival_ns\":").num(r.arrivalNs());
            if (r.sessionId() != null) {
                out.text(",\"session_id\":")
                        .jsonString(r.sessionId())
                        .text(",\"turn\":")
                        .num(r.turnIndex());
            }
            if (r.adapterId() != null) {
                out.text(",\"adapter\":").jsonString(r.adapterId());
            }
            out.text(",\"prompt_tokens\":")
                    .num(r.promptTokens())
                    .text(",\"output_tokens\":")
                    .num(r.outputTokens());
            long[] h = r.prefixHashes();
            if (h.length > 0) {
                out.text(",\"block_size\":").num(r.prefixBlockSize()).text(",\"prefix_hashes\":[");
                for (int i = 0; i < h.length; i++) {
                    if (i > 0) {
                        out.ch(',');
                    }
                    out.num(h[i]);
                }
                out.ch(']');
            }
            out.text("}\n");
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }

    /** Azure 2023 layout; times are written from 1970-01-01 00:00:00 at 100 ns resolution (7 digits). */
    private static final class Azure implements TraceWriter {
        private final AsciiOut out;
        private long cachedDay = Long.MIN_VALUE;
        private byte[] cachedDate;

        Azure(AsciiOut out) throws IOException {
            this.out = out;
            out.text("TIMESTAMP,ContextTokens,GeneratedTokens\n");
        }

        @Override
        public void write(Request r) throws IOException {
            long ns = r.arrivalNs();
            long seconds = ns / 1_000_000_000L;
            long day = seconds / 86_400L;
            if (day != cachedDay) {
                cachedDay = day;
                cachedDate = LocalDate.ofEpochDay(day).toString().getBytes(StandardCharsets.US_ASCII);
            }
            long secondOfDay = seconds % 86_400L;
            out.bytes(cachedDate)
                    .ch(' ')
                    .padded(secondOfDay / 3600, 2)
                    .ch(':')
                    .padded(secondOfDay / 60 % 60, 2)
                    .ch(':')
                    .padded(secondOfDay % 60, 2)
                    .ch('.')
                    .padded(ns % 1_000_000_000L / 100, 7)
                    .ch(',')
                    .num(r.promptTokens())
                    .ch(',')
                    .num(r.outputTokens())
                    .ch('\n');
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }

    /** Mooncake JSONL; its hash_ids are defined for 512-token blocks only. */
    private record Mooncake(AsciiOut out) implements TraceWriter {
        @Override
        public void write(Request r) throws IOException {
            long[] h = r.prefixHashes();
            // checked before writing anything, so that a refused request leaves no partial line behind
            if (h.length > 0 && r.prefixBlockSize() != MooncakeLineParser.BLOCK_TOKENS) {
                throw new IllegalArgumentException("request " + r.id() + " has prefix hashes of "
                        + r.prefixBlockSize() + "-token blocks, but Mooncake's hash_ids are of "
                        + MooncakeLineParser.BLOCK_TOKENS + "-token blocks; convert to csv or jsonl instead");
            }
            long ns = r.arrivalNs();
            out.text("{\"timestamp\": ").num(ns / 1_000_000L);
            long subMs = ns % 1_000_000L;
            if (subMs != 0) {
                out.ch('.').padded(subMs, 6);
            }
            out.text(", \"input_length\": ")
                    .num(r.promptTokens())
                    .text(", \"output_length\": ")
                    .num(r.outputTokens())
                    .text(", \"hash_ids\": [");
            for (int i = 0; i < h.length; i++) {
                if (i > 0) {
                    out.text(", ");
                }
                out.num(h[i]);
            }
            out.text("]}\n");
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }

    /** BurstGPT's newer 8-column layout; the Model column holds the adapter (or "base"). */
    private static final class BurstGpt implements TraceWriter {
        private final AsciiOut out;

        BurstGpt(AsciiOut out) throws IOException {
            this.out = out;
            out.text("Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type\n");
        }

        @Override
        public void write(Request r) throws IOException {
            long ns = r.arrivalNs();
            out.num(ns / 1_000_000_000L).ch('.').padded(ns % 1_000_000_000L, 9).ch(',');
            if (r.sessionId() != null) {
                out.csvField(r.sessionId());
            }
            out.text(",,")
                    .csvField(r.adapterId() == null ? "base" : r.adapterId())
                    .ch(',')
                    .num(r.promptTokens())
                    .ch(',')
                    .num(r.outputTokens())
                    .ch(',')
                    .num(r.totalTokens())
                    .text(r.sessionId() != null ? ",Conversation log\n" : ",API log\n");
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }
}
