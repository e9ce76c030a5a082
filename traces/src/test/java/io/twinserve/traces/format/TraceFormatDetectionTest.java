package io.twinserve.traces.format;

import static io.twinserve.traces.format.TraceFiles.readAll;
import static io.twinserve.traces.format.TraceFiles.resource;
import static io.twinserve.traces.format.TraceFiles.writeLines;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.traces.Request;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Telling a trace's format from its content, and the errors for files that have none. */
class TraceFormatDetectionTest {
    @TempDir
    Path dir;

    @Test
    void detectsAzureFromItsHeader() throws IOException {
        Path file = writeLines(
                dir, "a.txt", "TIMESTAMP,ContextTokens,GeneratedTokens", "2023-11-16 18:17:03.9799600,4808,10");

        assertThat(TraceReaders.detect(file)).isEqualTo(TraceFormat.AZURE);
        assertThat(readAll(file, ReadOptions.defaults()))
                .singleElement()
                .satisfies(r -> assertThat(r.promptTokens()).isEqualTo(4808));
    }

    @Test
    void detectsMooncakeFromInputLengthKey() throws IOException {
        Path file = writeLines(
                dir, "m.txt", "{\"timestamp\": 3, \"input_length\": 700, \"output_length\": 5, \"hash_ids\": [1, 2]}");

        assertThat(TraceReaders.detect(file)).isEqualTo(TraceFormat.MOONCAKE);
        assertThat(readAll(file, ReadOptions.defaults()))
                .singleElement()
                .satisfies(r -> assertThat(r.prefixHashes()).containsExactly(1L, 2L));
    }

    @Test
    void detectsBurstGptWithAndWithoutSessionColumns() throws IOException {
        Path six = writeLines(
                dir,
                "six.csv",
                "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type",
                "5,ChatGPT,472,18,490,Conversation log");
        Path eight = writeLines(
                dir,
                "eight.csv",
                "Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type",
                "19440110.0,s-1,43,GPT-4,906,446,1352,Conversation log");

        assertThat(TraceReaders.detect(six)).isEqualTo(TraceFormat.BURSTGPT);
        assertThat(TraceReaders.detect(eight)).isEqualTo(TraceFormat.BURSTGPT);
        assertThat(readAll(eight, ReadOptions.defaults()))
                .singleElement()
                .satisfies(r -> assertThat(r.sessionId()).isEqualTo("s-1"));
    }

    @Test
    void detectsNativeCsvAndJsonl() throws IOException {
        Path csv = writeLines(
                dir,
                "n.dat",
                "id,arrival_ns,session_id,turn,adapter,prompt_tokens,output_tokens,block_size,prefix_hashes",
                "4,100,,,lora-a,10,20,,");
        Path jsonl = writeLines(
                dir,
                "j.dat",
                "{\"id\":4,\"arrival_ns\":100,\"adapter\":\"lora-a\",\"prompt_tokens\":10,\"output_tokens\":20}");

        assertThat(TraceReaders.detect(csv)).isEqualTo(TraceFormat.CSV);
        assertThat(TraceReaders.detect(jsonl)).isEqualTo(TraceFormat.JSONL);
        Request expected = Request.of(4, 100, "lora-a", 10, 20);
        assertThat(readAll(csv, ReadOptions.defaults())).containsExactly(expected);
        assertThat(readAll(jsonl, ReadOptions.defaults())).containsExactly(expected);
    }

    @Test
    void detectsPastLeadingBlankLinesByteOrderMarkAndCrlf() throws IOException {
        Path file = dir.resolve("windows.csv");
        Files.write(
                file,
                ("\uFEFF\r\n  \r\nTIMESTAMP,ContextTokens,GeneratedTokens\r\n"
                                + "2023-11-16 18:17:03.0000000,5,6\r\n2023-11-16 18:17:04.0000000,7,8\r\n")
                        .getBytes(StandardCharsets.UTF_8));

        assertThat(TraceReaders.detect(file)).isEqualTo(TraceFormat.AZURE);
        List<Request> requests = readAll(file, ReadOptions.defaults());
        assertThat(requests).extracting(Request::outputTokens).containsExactly(6, 8);
        assertThat(requests).extracting(Request::arrivalNs).containsExactly(0L, 1_000_000_000L);
    }

    @Test
    void detectsAndReadsGzipByMagicBytesWhateverTheName() throws IOException {
        Path gz = dir.resolve("azure-trace.bin");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gz))) {
            Files.copy(resource("azure/AzureLLMInferenceTrace_code_head300.csv"), out);
        }

        assertThat(TraceReaders.detect(gz)).isEqualTo(TraceFormat.AZURE);
        List<Request> requests = readAll(gz, ReadOptions.defaults());
        assertThat(requests).hasSize(300);
        assertThat(requests.getLast().arrivalNs()).isEqualTo(216_838_239_000L);
    }

    @Test
    void rejectsUnknownFormatListingTheSupportedOnes() {
        Path file = writeLines(dir, "mystery.csv", "time,tokens_in,tokens_out", "1,2,3");

        assertThatThrownBy(() -> TraceReaders.detect(file))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining("mystery.csv:1:1")
                .hasMessageContaining("unknown trace format (the extension says CSV)")
                .hasMessageContaining("'time,tokens_in,tokens_out'")
                .hasMessageContaining("Supported formats: azure, mooncake, burstgpt, csv, jsonl")
                .hasMessageContaining("--format");
        assertThatThrownBy(() -> TraceReaders.open(file, ReadOptions.defaults()))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining("unknown trace format");
    }

    @Test
    void rejectsJsonObjectOfNeitherJsonFormat() {
        Path file = writeLines(dir, "other.jsonl", "{\"ts\": 1, \"prompt\": 2}");

        assertThatThrownBy(() -> TraceReaders.detect(file))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining("other.jsonl:1:1")
                .hasMessageContaining("(the extension says JSON Lines)")
                .hasMessageContaining("neither input_length (Mooncake) nor arrival_ns (native)")
                .hasMessageContaining("azure, mooncake, burstgpt, csv, jsonl");
    }

    @Test
    void rejectsEmptyFile() throws IOException {
        Path empty = Files.createFile(dir.resolve("empty.csv"));
        Path blank = writeLines(dir, "blank.csv", "", "   ", "");

        assertThatThrownBy(() -> TraceReaders.detect(empty))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining("empty.csv")
                .hasMessageContaining("the file is empty; expected a trace with at least one request");
        assertThatThrownBy(() -> TraceReaders.open(blank, ReadOptions.defaults()))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining("the file is empty");
        // with the format given there is no detection; the reader itself must notice
        assertThatThrownBy(() -> readAll(empty, ReadOptions.defaults().withFormat(TraceFormat.AZURE)))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining("empty.csv")
                .hasMessageContaining("the file is empty");
    }

    @Test
    void rejectsHeaderOnlyFile() {
        Path azure = writeLines(dir, "header-only.csv", "TIMESTAMP,ContextTokens,GeneratedTokens", "", "");
        Path burst = writeLines(
                dir, "burst-header.csv", "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type");

        assertThatThrownBy(() -> readAll(azure, ReadOptions.defaults()))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining("header-only.csv")
                .hasMessageContaining("the file has no requests, only a header or blank lines");
        assertThatThrownBy(() -> readAll(burst, ReadOptions.defaults()))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining("burst-header.csv:1")
                .hasMessageContaining("no requests");
    }

    @Test
    void acceptsBurstGptFileWhoseRequestsAllFailedAsEmptyButCounted() throws IOException {
        Path file = writeLines(
                dir,
                "all-failed.csv",
                "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type",
                "5,ChatGPT,0,0,0,Conversation log",
                "6,ChatGPT,0,0,0,Conversation log");

        TraceFiles.ReadResult result = TraceFiles.read(file, ReadOptions.defaults());

        assertThat(result.requests()).isEmpty();
        assertThat(result.droppedRecords()).isEqualTo(2);
    }

    @Test
    void rejectsDirectoryAndMissingFile() {
        assertThatThrownBy(() -> TraceReaders.open(dir, ReadOptions.defaults()))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining("is a directory; expected a trace file");
        assertThatThrownBy(() -> TraceReaders.open(dir.resolve("nope.csv"), ReadOptions.defaults()))
                .isInstanceOf(NoSuchFileException.class)
                .hasMessageContaining("nope.csv");
    }

    @Test
    void namesEveryFormatByItsCliName() {
        for (TraceFormat f : TraceFormat.values()) {
            assertThat(TraceFormat.fromName(" " + f.cliName().toUpperCase(Locale.ROOT) + " "))
                    .isEqualTo(f);
        }
        assertThatThrownBy(() -> TraceFormat.fromName("parquet"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown trace format 'parquet'")
                .hasMessageContaining("azure, mooncake, burstgpt, csv, jsonl");
    }
}
