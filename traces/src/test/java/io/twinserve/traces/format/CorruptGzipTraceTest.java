package io.twinserve.traces.format;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A broken gzip trace is a format error naming the file, not a bare ZipException (found by fuzzing). */
class CorruptGzipTraceTest {
    @TempDir
    Path dir;

    private static byte[] gzip(String text) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(out)) {
            z.write(text.getBytes(StandardCharsets.UTF_8));
        }
        return out.toByteArray();
    }

    @Test
    void refusesTruncatedGzipTraceNamingTheFile() throws IOException {
        byte[] whole =
                gzip("TIMESTAMP,ContextTokens,GeneratedTokens\n" + "2023-11-16 18:17:03.9799600,4808,10\n".repeat(50));
        Path file = dir.resolve("azure.csv.gz");
        Files.write(file, Arrays.copyOf(whole, whole.length / 2));
        assertThatThrownBy(() -> {
                    try (TraceReader r =
                            TraceReaders.open(file, ReadOptions.defaults().withFormat(TraceFormat.AZURE))) {
                        while (r.next() != null) {
                            // read to the end
                        }
                    }
                })
                .isInstanceOf(TraceFormatException.class)
                .hasMessageStartingWith(file.toString())
                .hasMessageContaining("is gzip-compressed but cannot be decompressed")
                .hasMessageContaining("gzip -t");
    }

    @Test
    void refusesGzipMagicWithoutHeaderWhenDetectingTheFormat() throws IOException {
        Path file = dir.resolve("trace.jsonl");
        Files.write(file, new byte[] {0x1f, (byte) 0x8b, 0x08});
        assertThatThrownBy(() -> TraceReaders.detect(file))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageStartingWith(file.toString())
                .hasMessageContaining("expected a complete gzip file");
    }
}
