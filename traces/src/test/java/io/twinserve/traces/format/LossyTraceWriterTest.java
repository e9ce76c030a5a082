package io.twinserve.traces.format;

import static io.twinserve.traces.format.TraceFiles.readAll;
import static io.twinserve.traces.format.TraceFiles.resource;
import static io.twinserve.traces.format.TraceFiles.writeRequests;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.traces.Request;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writers of the public formats: what the matching reader gives back is the same arrival times, to the
 * format's resolution, and lengths, plus whatever else the format holds.
 */
class LossyTraceWriterTest {
    private static final long SECOND_NS = 1_000_000_000L;
    private static final long DAY_NS = 86_400L * SECOND_NS;

    @TempDir
    Path dir;

    /** Starts at 0 (readers rebase to the first request); sub-100 ns parts, a tie, and several days. */
    private static List<Request> sample() {
        long[] arrivals = {
            0,
            1,
            99,
            100,
            12_345_678_901L,
            12_345_678_901L,
            DAY_NS - 1,
            DAY_NS,
            3 * DAY_NS + 1_234_567L,
            40 * DAY_NS + 999_999_999L
        };
        List<Request> requests = new ArrayList<>();
        for (int i = 0; i < arrivals.length; i++) {
            long[] hashes = i % 2 == 0 ? new long[] {i, i + 1, -5} : null;
            String session = i < 4 ? "s" + (i % 2) : null;
            requests.add(new Request(
                    i,
                    arrivals[i],
                    session,
                    session == null ? Request.NO_TURN : i / 2,
                    i % 3 == 0 ? null : "lora-" + i,
                    100 + i,
                    1 + i,
                    hashes == null ? 0 : 512,
                    hashes));
        }
        return requests;
    }

    @Test
    void azureWriterKeepsArrivalsTo100NanosecondsAndLengths() throws IOException {
        List<Request> written = sample();
        Path file = writeRequests(dir.resolve("out.csv"), TraceFormat.AZURE, written);

        assertThat(TraceReaders.detect(file)).isEqualTo(TraceFormat.AZURE);
        List<Request> read = readAll(file, ReadOptions.defaults());

        assertThat(read).hasSameSizeAs(written);
        for (int i = 0; i < written.size(); i++) {
            Request w = written.get(i);
            assertThat(read.get(i))
                    .isEqualTo(Request.of(i, w.arrivalNs() / 100 * 100, null, w.promptTokens(), w.outputTokens()));
        }
        assertThat(Files.readAllLines(file, StandardCharsets.UTF_8))
                .startsWith(
                        "TIMESTAMP,ContextTokens,GeneratedTokens",
                        "1970-01-01 00:00:00.0000000,100,1",
                        "1970-01-01 00:00:00.0000000,101,2");
        assertThat(Files.readAllLines(file, StandardCharsets.UTF_8).getLast())
                .isEqualTo("1970-02-10 00:00:00.9999999,109,10");
    }

    @Test
    void mooncakeWriterKeepsNanosecondArrivalsLengthsAndPrefixHashes() throws IOException {
        List<Request> written = sample();
        Path file = writeRequests(dir.resolve("out.jsonl"), TraceFormat.MOONCAKE, written);

        assertThat(TraceReaders.detect(file)).isEqualTo(TraceFormat.MOONCAKE);
        List<Request> read = readAll(file, ReadOptions.defaults());

        assertThat(read).hasSameSizeAs(written);
        for (int i = 0; i < written.size(); i++) {
            Request w = written.get(i);
            assertThat(read.get(i))
                    .isEqualTo(new Request(
                            i,
                            w.arrivalNs(),
                            null,
                            Request.NO_TURN,
                            null,
                            w.promptTokens(),
                            w.outputTokens(),
                            w.prefixBlockSize(),
                            w.prefixHashes()));
        }
        assertThat(Files.readAllLines(file, StandardCharsets.UTF_8).get(1))
                .isEqualTo("{\"timestamp\": 0.000001, \"input_length\": 101, \"output_length\": 2, \"hash_ids\": []}");
    }

    @Test
    void burstGptWriterKeepsArrivalsLengthsAndSessions() throws IOException {
        List<Request> written = sample();
        Path file = writeRequests(dir.resolve("out.csv"), TraceFormat.BURSTGPT, written);

        assertThat(TraceReaders.detect(file)).isEqualTo(TraceFormat.BURSTGPT);
        List<Request> read = readAll(file, ReadOptions.defaults());

        assertThat(read).hasSameSizeAs(written);
        for (int i = 0; i < written.size(); i++) {
            Request w = written.get(i);
            assertThat(read.get(i))
                    .isEqualTo(new Request(
                            i,
                            w.arrivalNs(),
                            w.sessionId(),
                            w.turnIndex(),
                            null,
                            w.promptTokens(),
                            w.outputTokens(),
                            0,
                            null));
        }
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        assertThat(lines.get(0))
                .isEqualTo(
                        "Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type");
        assertThat(lines.get(2)).isEqualTo("0.000000001,s1,,lora-1,101,2,103,Conversation log");
        assertThat(lines.get(5)).isEqualTo("12.345678901,,,lora-4,104,5,109,API log");
        assertThat(lines.get(7)).isEqualTo("86399.999999999,,,base,106,7,113,API log");
    }

    @Test
    void lossyWritersReproduceRealTracesTheyCameFrom() throws IOException {
        Path azure = resource("azure/AzureLLMInferenceTrace_code_head300.csv");
        Path mooncake = resource("mooncake/synthetic_trace_head200.jsonl");
        Path burst = resource("burstgpt/burstgpt_sessions_head.csv");

        for (var source : List.of(
                new Object[] {azure, TraceFormat.AZURE},
                new Object[] {mooncake, TraceFormat.MOONCAKE},
                new Object[] {burst, TraceFormat.BURSTGPT})) {
            Path in = (Path) source[0];
            TraceFormat format = (TraceFormat) source[1];
            List<Request> original = readAll(in, ReadOptions.defaults());
            Path out = writeRequests(dir.resolve("again-" + format + "." + format.extension()), format, original);

            assertThat(readAll(out, ReadOptions.defaults()))
                    .as("%s rewritten", format)
                    .containsExactlyElementsOf(original);
        }
    }

    @Test
    void mooncakeWriterRejectsPrefixHashesOfOtherBlockSizesKeepingEarlierLinesWhole() throws IOException {
        Path file = dir.resolve("blocks.jsonl");
        Request fine = new Request(0, 0, null, Request.NO_TURN, null, 1024, 4, 512, new long[] {1, 2});
        Request bad = new Request(7, 10, null, Request.NO_TURN, null, 64, 4, 16, new long[] {3, 4, 5, 6});

        try (TraceWriter writer = TraceWriters.open(file, TraceFormat.MOONCAKE)) {
            writer.write(fine);
            assertThatThrownBy(() -> writer.write(bad))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("request 7 has prefix hashes of 16-token blocks, but Mooncake's hash_ids are of"
                            + " 512-token blocks; convert to csv or jsonl instead");
        }

        assertThat(Files.readAllLines(file, StandardCharsets.UTF_8))
                .containsExactly(
                        "{\"timestamp\": 0, \"input_length\": 1024, \"output_length\": 4, \"hash_ids\": [1, 2]}");
        assertThat(readAll(file, ReadOptions.defaults())).containsExactly(fine);
    }

    @Test
    void mooncakeWriterAcceptsRequestsWithoutPrefixHashesWhateverTheBlockSize() throws IOException {
        Request none = Request.of(0, 0, "lora", 64, 4);
        Path file = writeRequests(dir.resolve("none.jsonl"), TraceFormat.MOONCAKE, List.of(none));

        assertThat(readAll(file, ReadOptions.defaults())).containsExactly(Request.of(0, 0, null, 64, 4));
    }

    @Test
    void picksNativeFormatFromOutputName() {
        assertThat(TraceWriters.formatForName(Path.of("out.jsonl"))).isEqualTo(TraceFormat.JSONL);
        assertThat(TraceWriters.formatForName(Path.of("OUT.JSON.GZ"))).isEqualTo(TraceFormat.JSONL);
        assertThat(TraceWriters.formatForName(Path.of("out.csv.gz"))).isEqualTo(TraceFormat.CSV);
        assertThat(TraceWriters.formatForName(Path.of("out.txt"))).isEqualTo(TraceFormat.CSV);
    }
}
