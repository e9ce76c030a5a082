package io.twinserve.traces.format;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.twinserve.traces.Request;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Coverage-guided fuzzing of every trace reader (Azure, Mooncake, BurstGPT, native CSV and JSONL, plus
 * format detection and gzip through a real file): a trace either reads into valid requests, or fails with
 * a {@link TraceFormatException} that names the file. Anything else is a crash.
 *
 * <p>Input layout: byte 0 picks the format ({@code % 6}, 5 = detect from a file), byte 1 holds the
 * options (bit 0 skip-bad, bit 1 keep-failed, bit 2 through a file with {@link TraceReaders}), the rest
 * is the file. Regression inputs: {@code src/test/resources/io/twinserve/traces/format/
 * TraceReadersFuzzTestInputs/readsOrRefusesNamingTheFile/}.
 */
class TraceReadersFuzzTest {
    private static final Path NAME = Path.of("fuzzed-trace");
    private static Path dir;

    @BeforeAll
    static void makeDirectory() throws IOException {
        dir = Files.createTempDirectory("trace-fuzz");
    }

    @AfterAll
    static void removeDirectory() throws IOException {
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(dir);
    }

    @FuzzTest(maxDuration = "10s")
    void readsOrRefusesNamingTheFile(byte[] input) throws IOException {
        if (input.length < 2) {
            return;
        }
        TraceFormat[] formats = TraceFormat.values();
        int choice = Math.floorMod(input[0], formats.length + 1);
        TraceFormat format = choice == formats.length ? null : formats[choice];
        boolean skipBad = (input[1] & 1) != 0;
        boolean keepFailed = (input[1] & 2) != 0;
        boolean throughFile = format == null || (input[1] & 4) != 0;
        byte[] content = Arrays.copyOfRange(input, 2, input.length);
        Path file = throughFile ? dir.resolve("trace." + (format == null ? "txt" : format.extension())) : NAME;
        try (TraceReader reader = throughFile
                ? openFile(file, content, new ReadOptions(format, skipBad, keepFailed, false))
                : openBytes(content, format, skipBad, keepFailed)) {
            Request r;
            while ((r = reader.next()) != null) {
                assertThat(r.promptTokens()).isPositive();
                assertThat(r.outputTokens()).isPositive();
                assertThat(r.arrivalNs()).isNotNegative();
            }
        } catch (TraceFormatException e) {
            assertThat(e.getMessage())
                    .startsWith(file.toString())
                    .hasSizeGreaterThan(file.toString().length() + 2);
        }
    }

    private static TraceReader openFile(Path file, byte[] content, ReadOptions options) throws IOException {
        Files.write(file, content);
        return TraceReaders.open(file, options);
    }

    private static TraceReader openBytes(byte[] content, TraceFormat format, boolean skipBad, boolean keepFailed) {
        LineParser parser = switch (format) {
            case AZURE -> new AzureLineParser(NAME);
            case MOONCAKE -> new MooncakeLineParser(NAME);
            case BURSTGPT -> new BurstGptLineParser(NAME, keepFailed);
            case CSV -> new NativeCsvLineParser(NAME);
            case JSONL -> new NativeJsonlLineParser(NAME);
        };
        return new LineTraceReader(
                NAME, new LineScanner(new ByteArrayInputStream(content)), parser, !format.isLossless(), true, skipBad);
    }
}
