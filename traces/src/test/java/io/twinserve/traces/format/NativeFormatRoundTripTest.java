package io.twinserve.traces.format;

import static io.twinserve.traces.format.TraceFiles.readAll;
import static io.twinserve.traces.format.TraceFiles.writeRequests;
import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.traces.Request;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The native CSV and JSON Lines keep every field of every request. */
class NativeFormatRoundTripTest {
    @TempDir
    Path dir;

    private static final List<Request> AWKWARD = List.of(
            new Request(0, 0, "chat-1", 0, null, 10, 20, 0, null),
            new Request(
                    1, 0, "chat-1", 1, "lora,with,commas", 30, 40, 16, new long[] {Long.MIN_VALUE, -1, 0, Long.MAX_VALUE
                    }),
            new Request(2, 5, null, Request.NO_TURN, "say \"hi\"", 1, 1, 512, new long[] {42}),
            new Request(17, 5, "session, \"quoted\"", 3, "naïve-日本語", Integer.MAX_VALUE, Integer.MAX_VALUE, 0, null),
            new Request(
                    4, 1_000_000_000_000L, "s😀", 0, "🚀-lora 👩‍💻", 7, 8, 1, new long[] {-9_000_000_000_000_000_000L
                    }),
            new Request(
                    5,
                    1_000_000_000_001L,
                    "back\\slash\ttab",
                    2,
                    "{\"json\":[1]}",
                    9,
                    10,
                    Integer.MAX_VALUE,
                    new long[] {1, 2, 3}),
            new Request(Long.MAX_VALUE, Long.MAX_VALUE, null, Request.NO_TURN, "'single'", 11, 12, 0, null));

    @ParameterizedTest
    @EnumSource(
            value = TraceFormat.class,
            names = {"CSV", "JSONL"})
    void roundTripsSessionsAwkwardAdaptersAndExtremeHashes(TraceFormat format) throws IOException {
        Path file = writeRequests(dir.resolve("awkward." + format.extension()), format, AWKWARD);

        assertThat(TraceReaders.detect(file)).isEqualTo(format);
        assertThat(readAll(file, ReadOptions.defaults())).containsExactlyElementsOf(AWKWARD);
    }

    @ParameterizedTest
    @EnumSource(
            value = TraceFormat.class,
            names = {"CSV", "JSONL"})
    void roundTripsTextWithSurroundingWhitespaceAndEmptyText(TraceFormat format) throws IOException {
        List<Request> requests = List.of(
                new Request(0, 0, " padded ", 0, "\tlead-tab", 1, 1, 0, null),
                new Request(1, 1, "", 0, "", 1, 1, 0, null),
                new Request(2, 2, "x", 0, "trailing space ", 1, 1, 0, null),
                new Request(3, 3, "\u0001ctl", 1, "   ", 1, 1, 0, null));
        Path file = writeRequests(dir.resolve("spaces." + format.extension()), format, requests);

        assertThat(readAll(file, ReadOptions.defaults())).containsExactlyElementsOf(requests);
    }

    @Test
    void writesNativeCsvWithRfc4180QuotingOnlyWhereNeeded() throws IOException {
        Path file = writeRequests(dir.resolve("quoted.csv"), TraceFormat.CSV, AWKWARD.subList(0, 4));

        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);

        assertThat(lines)
                .containsExactly(
                        "id,arrival_ns,session_id,turn,adapter,prompt_tokens,output_tokens,block_size,prefix_hashes",
                        "0,0,chat-1,0,,10,20,,",
                        "1,0,chat-1,1,\"lora,with,commas\",30,40,16,-9223372036854775808 -1 0 9223372036854775807",
                        "2,5,,,\"say \"\"hi\"\"\",1,1,512,42",
                        "17,5,\"session, \"\"quoted\"\"\",3,naïve-日本語,2147483647,2147483647,,");
    }

    @Test
    void writesNativeJsonlLeavingOutEmptyKeys() throws IOException {
        Path file = writeRequests(dir.resolve("keys.jsonl"), TraceFormat.JSONL, AWKWARD.subList(0, 3));

        assertThat(Files.readAllLines(file, StandardCharsets.UTF_8))
                .containsExactly(
                        "{\"id\":0,\"arrival_ns\":0,\"session_id\":\"chat-1\",\"turn\":0,\"prompt_tokens\":10,\"output_tokens\":20}",
                        "{\"id\":1,\"arrival_ns\":0,\"session_id\":\"chat-1\",\"turn\":1,\"adapter\":\"lora,with,commas\","
                                + "\"prompt_tokens\":30,\"output_tokens\":40,\"block_size\":16,"
                                + "\"prefix_hashes\":[-9223372036854775808,-1,0,9223372036854775807]}",
                        "{\"id\":2,\"arrival_ns\":5,\"adapter\":\"say \\\"hi\\\"\",\"prompt_tokens\":1,\"output_tokens\":1,"
                                + "\"block_size\":512,\"prefix_hashes\":[42]}");
    }

    @ParameterizedTest
    @EnumSource(
            value = TraceFormat.class,
            names = {"CSV", "JSONL"})
    void compressesWhenTheNameEndsInGzAndReadsItBack(TraceFormat format) throws IOException {
        Path file = writeRequests(dir.resolve("awkward." + format.extension() + ".gz"), format, AWKWARD);

        try (InputStream in = Files.newInputStream(file)) {
            assertThat(in.readNBytes(2)).containsExactly(0x1f, 0x8b);
        }
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).contains("🚀-lora");
        }
        assertThat(TraceWriters.formatForName(file)).isEqualTo(format);
        assertThat(readAll(file, ReadOptions.defaults())).containsExactlyElementsOf(AWKWARD);
    }

    @ParameterizedTest
    @EnumSource(
            value = TraceFormat.class,
            names = {"CSV", "JSONL"})
    void roundTripsTraceLargerThanTheReadBuffer(TraceFormat format) throws IOException {
        List<Request> requests = new ArrayList<>();
        for (int i = 0; i < 30_000; i++) {
            long[] hashes = i % 3 == 0 ? null : new long[] {i, -i, (long) i * 1_000_003L};
            requests.add(new Request(
                    i,
                    i * 1_000L,
                    i % 5 == 0 ? "s" + (i / 50) : null,
                    i % 5 == 0 ? i / 5 : -1,
                    i % 7 == 0 ? null : "adapter-" + (i % 13),
                    1 + i % 4000,
                    1 + i % 300,
                    hashes == null ? 0 : 16,
                    hashes));
        }
        // one line longer than the reader's initial 1 MiB buffer
        long[] many = new long[120_000];
        for (int k = 0; k < many.length; k++) {
            many[k] = Long.MAX_VALUE - k;
        }
        requests.add(new Request(30_000, 30_000_000L, null, -1, null, many.length * 16, 1, 16, many));
        Path file = writeRequests(dir.resolve("large." + format.extension()), format, requests);
        assertThat(Files.size(file)).isGreaterThan(3L << 20);

        assertThat(readAll(file, ReadOptions.defaults())).containsExactlyElementsOf(requests);
    }
}
