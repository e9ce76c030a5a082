package io.twinserve.traces.format;

import static io.twinserve.traces.format.TraceFiles.resource;
import static io.twinserve.traces.format.TraceFiles.writeLines;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link ColumnReader}: whole integer columns for empirical length distributions. */
class ColumnReaderTest {
    @TempDir
    Path dir;

    @Test
    void readsCsvColumnsByHeaderNameInTheRequestedOrder() throws IOException {
        Path azure = resource("azure/AzureLLMInferenceTrace_code_head300.csv");

        int[][] columns = ColumnReader.readIntColumns(azure, List.of("GeneratedTokens", "contexttokens"));

        assertThat(columns).hasNumberOfRows(2);
        assertThat(columns[0]).hasSize(300);
        assertThat(columns[1]).hasSize(300);
        assertThat(Arrays.stream(columns[0]).asLongStream().sum()).isEqualTo(7_126L);
        assertThat(Arrays.stream(columns[1]).asLongStream().sum()).isEqualTo(627_529L);
        assertThat(columns[1][0]).isEqualTo(4808);
        assertThat(columns[0][0]).isEqualTo(10);
        assertThat(columns[1][299]).isEqualTo(176);
        assertThat(columns[0][299]).isEqualTo(88);
    }

    @Test
    void readsJsonlColumnsByKeySkippingOtherValues() throws IOException {
        Path mooncake = resource("mooncake/synthetic_trace_head200.jsonl");

        int[][] columns = ColumnReader.readIntColumns(mooncake, List.of("input_length", "output_length"));

        assertThat(columns[0]).hasSize(200);
        assertThat(Arrays.stream(columns[0]).asLongStream().sum()).isEqualTo(2_663_480L);
        assertThat(Arrays.stream(columns[1]).asLongStream().sum()).isEqualTo(38_364L);
        assertThat(columns[0][0]).isEqualTo(40160);
        assertThat(columns[1][0]).isEqualTo(6);
    }

    @Test
    void readsGzippedColumnsBeyondTheInitialCapacity() throws IOException {
        Path file = dir.resolve("many.csv.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            StringBuilder b = new StringBuilder("a,b\n");
            for (int i = 0; i < 2500; i++) {
                b.append(i).append(',').append(2 * i).append('\n');
            }
            out.write(b.toString().getBytes(StandardCharsets.US_ASCII));
        }

        int[][] columns = ColumnReader.readIntColumns(file, List.of("b", "a"));

        assertThat(columns[0]).hasSize(2500);
        assertThat(columns[1][2499]).isEqualTo(2499);
        assertThat(columns[0][2499]).isEqualTo(4998);
        assertThat(columns[0][1024]).isEqualTo(2048);
    }

    @Test
    void rejectsMissingCsvColumnNamingTheHeader() {
        Path azure = resource("azure/AzureLLMInferenceTrace_code_head300.csv");

        assertThatThrownBy(() -> ColumnReader.readIntColumns(azure, List.of("ContextTokens", "OutputTokens")))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining("AzureLLMInferenceTrace_code_head300.csv:1")
                .hasMessageContaining(
                        "no column 'OutputTokens' in the header; found timestamp,contexttokens,generatedtokens");
    }

    @Test
    void rejectsMissingJsonlKeyOnTheLineThatLacksIt() {
        Path file = writeLines(
                dir, "lengths.jsonl", "{\"input_length\": 5, \"output_length\": 6}", "{\"input_length\": 7}");

        assertThatThrownBy(() -> ColumnReader.readIntColumns(file, List.of("input_length", "output_length")))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining("lengths.jsonl:2")
                .hasMessageContaining("missing key 'output_length'");
    }

    @Test
    void rejectsBadValueAndShortRowWithLineAndColumn() {
        Path bad = writeLines(dir, "bad.csv", "x,y", "1,2", "3,four");
        Path shortRow = writeLines(dir, "short.csv", "x,y", "1,2", "3");
        Path headerOnly = writeLines(dir, "header.csv", "x,y");

        assertThatThrownBy(() -> ColumnReader.readIntColumns(bad, List.of("x", "y")))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining("bad.csv:3:3: y: expected a non-negative integer, got 'four'");
        assertThatThrownBy(() -> ColumnReader.readIntColumns(shortRow, List.of("x", "y")))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining("short.csv:3:2: expected a value for column 'y'");
        assertThatThrownBy(() -> ColumnReader.readIntColumns(headerOnly, List.of("x")))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining("header.csv")
                .hasMessageContaining("no rows to sample lengths from");
    }
}
