package io.twinserve.traces.format;

import static io.twinserve.traces.format.TraceFiles.readAll;
import static io.twinserve.traces.format.TraceFiles.readSorted;
import static io.twinserve.traces.format.TraceFiles.resource;
import static io.twinserve.traces.format.TraceFiles.writeLines;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.traces.Request;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link TraceReaders#openSorted}: whole-file reading for traces whose timestamps are out of order. */
class SortedTraceReadingTest {
    @TempDir
    Path dir;

    @Test
    void sortsOutOfOrderAzureFileStablyAndRebasesToEarliestRequest() throws IOException {
        Path file = writeLines(
                dir,
                "unsorted.csv",
                "TIMESTAMP,ContextTokens,GeneratedTokens",
                "2023-11-16 18:17:02.0000000,10,1",
                "2023-11-16 18:17:01.0000000,20,2",
                "2023-11-16 18:17:03.0000000,30,3",
                "2023-11-16 18:17:01.0000000,40,4",
                "2023-11-16 18:17:00.5000000,50,5");
        assertThatThrownBy(() -> readAll(file, ReadOptions.defaults()))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining("unsorted.csv:3:1: timestamps out of order");

        TraceFiles.ReadResult result = readSorted(file, ReadOptions.defaults());

        assertThat(result.skippedLines()).isZero();
        List<Request> requests = result.requests();
        // the two requests at 18:17:01 keep their file order (20 before 40)
        assertThat(requests).extracting(Request::promptTokens).containsExactly(50, 20, 40, 10, 30);
        assertThat(requests).extracting(Request::outputTokens).containsExactly(5, 2, 4, 1, 3);
        assertThat(requests)
                .extracting(Request::arrivalNs)
                .containsExactly(0L, 500_000_000L, 500_000_000L, 1_500_000_000L, 2_500_000_000L);
        assertThat(requests).extracting(Request::id).containsExactly(0L, 1L, 2L, 3L, 4L);
    }

    @Test
    void sortedReadOfSortedRealTraceEqualsStreamingRead() throws IOException {
        Path azure = resource("azure/AzureLLMInferenceTrace_code_head300.csv");
        Path sessions = resource("burstgpt/burstgpt_sessions_head.csv");

        assertThat(readSorted(azure, ReadOptions.defaults()).requests())
                .containsExactlyElementsOf(readAll(azure, ReadOptions.defaults()));
        TraceFiles.ReadResult sorted = readSorted(sessions, ReadOptions.defaults());
        assertThat(sorted.requests()).containsExactlyElementsOf(readAll(sessions, ReadOptions.defaults()));
        assertThat(sorted.droppedRecords()).isEqualTo(1);
    }

    @Test
    void sortsNativeFileKeepingItsTimesAndIds() throws IOException {
        Path file = writeLines(
                dir,
                "native.jsonl",
                "{\"id\":7,\"arrival_ns\":900,\"prompt_tokens\":1,\"output_tokens\":1}",
                "{\"id\":3,\"arrival_ns\":500,\"prompt_tokens\":2,\"output_tokens\":2}",
                "{\"id\":9,\"arrival_ns\":700,\"prompt_tokens\":3,\"output_tokens\":3}");

        List<Request> requests = readSorted(file, ReadOptions.defaults()).requests();

        assertThat(requests)
                .containsExactly(
                        Request.of(3, 500, null, 2, 2), Request.of(9, 700, null, 3, 3), Request.of(7, 900, null, 1, 1));
    }

    @Test
    void sortedReadStillCountsSkippedLines() throws IOException {
        Path file = writeLines(
                dir,
                "bad.csv",
                "TIMESTAMP,ContextTokens,GeneratedTokens",
                "2023-11-16 18:17:02.0000000,10,1",
                "2023-11-16 18:17:01.0000000,oops,2",
                "2023-11-16 18:17:01.0000000,40,4");

        TraceFiles.ReadResult result = readSorted(file, ReadOptions.defaults().withSkipBad(true));

        assertThat(result.skippedLines()).isEqualTo(1);
        assertThat(result.skippedExamples())
                .singleElement()
                .asString()
                .contains("bad.csv:3:29")
                .contains("'oops'");
        assertThat(result.requests()).extracting(Request::promptTokens).containsExactly(40, 10);
        assertThat(result.requests()).extracting(Request::arrivalNs).containsExactly(0L, 1_000_000_000L);
    }
}
