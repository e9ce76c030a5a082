package io.twinserve.traces.format;

import static io.twinserve.traces.format.TraceFiles.read;
import static io.twinserve.traces.format.TraceFiles.readAll;
import static io.twinserve.traces.format.TraceFiles.writeLines;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.twinserve.traces.Request;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Malformed lines: each error names the file, the line, the column where there is one, the offending
 * value and what was expected; with skip-bad the line is counted instead.
 */
class MalformedTraceLineTest {
    private static final String AZURE_HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens";
    private static final String AZURE_GOOD = "2023-11-16 18:17:03.9799600,4808,10";
    private static final String NATIVE_HEADER =
            "id,arrival_ns,session_id,turn,adapter,prompt_tokens,output_tokens,block_size,prefix_hashes";

    @TempDir
    Path dir;

    @Test
    void rejectsTraceLineWithNonNumericTokenCount() {
        String bad = "2023-11-16 18:17:04.0319600,abc,8";
        Path file = writeLines(dir, "tokens.csv", AZURE_HEADER, AZURE_GOOD, bad);

        TraceFormatException e = readFails(file);

        assertThat(e.file()).isEqualTo(file);
        assertThat(e.line()).isEqualTo(3);
        assertThat(e.column()).isEqualTo(bad.indexOf("abc") + 1).isEqualTo(29);
        assertThat(e)
                .hasMessageContaining("tokens.csv:3:29: ContextTokens: expected a non-negative integer, got 'abc'");
    }

    @Test
    void rejectsTraceLineWithNegativeTokenCount() {
        String bad = "2023-11-16 18:17:04.0319600,3180,-5";
        Path file = writeLines(dir, "negative.csv", AZURE_HEADER, AZURE_GOOD, bad);

        TraceFormatException e = readFails(file);

        assertThat(e.line()).isEqualTo(3);
        assertThat(e.column()).isEqualTo(bad.indexOf("-5") + 1);
        assertThat(e)
                .hasMessageContaining("negative.csv:3:" + (bad.indexOf("-5") + 1))
                .hasMessageContaining("GeneratedTokens: expected a non-negative integer, got '-5'");
    }

    @Test
    void rejectsZeroTokenCountInEveryFormatButBurstGptFailures() {
        Path azure = writeLines(dir, "zero.csv", AZURE_HEADER, "2023-11-16 18:17:04.0000000,3180,0");
        Path mooncake = writeLines(
                dir, "zero.jsonl", "{\"timestamp\": 1, \"input_length\": 0, \"output_length\": 3, \"hash_ids\": []}");
        Path burst = writeLines(
                dir,
                "zero-burst.csv",
                "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type",
                "5,ChatGPT,0,18,18,Conversation log");
        Path nativeCsv = writeLines(dir, "zero-native.csv", NATIVE_HEADER, "0,0,,,,0,5,,");

        assertThat(readFails(azure))
                .hasMessageContaining("zero.csv:2:34: GeneratedTokens: expected a token count >= 1, got 0");
        assertThat(readFails(mooncake))
                .hasMessageContaining("zero.jsonl:1:")
                .hasMessageContaining("input_length: expected a token count >= 1, got 0");
        assertThat(readFails(burst))
                .hasMessageContaining("zero-burst.csv:2:11")
                .hasMessageContaining(
                        "Request tokens: expected a token count >= 1 when Response tokens is not 0, got 0");
        assertThat(readFails(nativeCsv))
                .hasMessageContaining("zero-native.csv:2")
                .hasMessageContaining("prompt_tokens must be >= 1, got 0");
    }

    @Test
    void rejectsBadAzureTimestampSayingWhatIsExpected() {
        Path layout = writeLines(dir, "layout.csv", AZURE_HEADER, AZURE_GOOD, "16/11/2023 18:17:04,3180,8");
        Path hour = writeLines(dir, "hour.csv", AZURE_HEADER, AZURE_GOOD, "2023-11-16 25:17:04.0319600,3180,8");
        Path zone = writeLines(dir, "zone.csv", AZURE_HEADER, AZURE_GOOD, "2023-11-16 18:17:04.03 UTC,3180,8");
        Path month = writeLines(dir, "month.csv", AZURE_HEADER, AZURE_GOOD, "2023-13-16 18:17:04,3180,8");

        assertThat(readFails(layout))
                .hasMessageContaining("layout.csv:3:1: TIMESTAMP: expected a time like 2023-11-16 18:17:03.9799600,"
                        + " got '16/11/2023 18:17:04'");
        assertThat(readFails(hour))
                .hasMessageContaining("hour.csv:3:1: TIMESTAMP: expected a valid time of day (HH:MM:SS),"
                        + " got '2023-11-16 25:17:04.0319600'");
        assertThat(readFails(zone))
                .hasMessageContaining("zone.csv:3:1: TIMESTAMP: expected a zone offset like +00:00 or Z after the time,"
                        + " got '2023-11-16 18:17:04.03 UTC'");
        assertThat(readFails(month))
                .hasMessageContaining(
                        "month.csv:3:1: TIMESTAMP: expected a valid date (YYYY-MM-DD), got '2023-13-16 18:17:04'");
    }

    @Test
    void rejectsBadBurstGptTimestamp() {
        Path file = writeLines(
                dir,
                "burst-time.csv",
                "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type",
                "5,ChatGPT,472,18,490,Conversation log",
                "soon,ChatGPT,472,18,490,Conversation log",
                "-3,ChatGPT,472,18,490,Conversation log");

        assertThat(readFails(file))
                .hasMessageContaining("burst-time.csv:3:1: Timestamp: expected a number, got 'soon'");
        TraceFiles.ReadResult skipped = readSkippingBad(file);
        assertThat(skipped.requests()).hasSize(1);
        assertThat(skipped.skippedLines()).isEqualTo(2);
        assertThat(skipped.skippedExamples().get(1))
                .contains("burst-time.csv:4:1: Timestamp: expected seconds >= 0, got -3");
    }

    @Test
    void rejectsLineWithTooFewFields() {
        String bad = "2023-11-16 18:17:04.0319600,3180";
        Path file = writeLines(dir, "short.csv", AZURE_HEADER, AZURE_GOOD, bad);
        Path nativeCsv = writeLines(dir, "short-native.csv", NATIVE_HEADER, "0,0,,,,5,6,,", "1,5,,,,5,6");

        TraceFormatException e = readFails(file);

        assertThat(e.line()).isEqualTo(3);
        assertThat(e.column()).isEqualTo(bad.length() + 1);
        assertThat(e)
                .hasMessageContaining("short.csv:3:" + (bad.length() + 1)
                        + ": expected 3 fields (TIMESTAMP,ContextTokens,GeneratedTokens), got 2");
        assertThat(readFails(nativeCsv))
                .hasMessageContaining("short-native.csv:3:")
                .hasMessageContaining("expected 9 fields (" + NATIVE_HEADER + "), got 7");
    }

    @Test
    void rejectsMooncakeLineWithJsonSyntaxError() {
        String bad = "{\"timestamp\": 40, \"input_length\": 23769 \"output_length\": 3, \"hash_ids\": []}";
        Path file = writeLines(
                dir,
                "syntax.jsonl",
                "{\"timestamp\": 0, \"input_length\": 100, \"output_length\": 6, \"hash_ids\": [0]}",
                bad);

        TraceFormatException e = readFails(file);

        assertThat(e.line()).isEqualTo(2);
        // the column is counted from the start of this line, not of the reader's buffer
        assertThat(e.column()).isEqualTo(bad.indexOf("\"output_length\"") + 1);
        assertThat(e)
                .hasMessageContaining("syntax.jsonl:2:" + e.column() + ": invalid JSON: Unexpected character")
                .hasMessageContaining("expecting comma");
    }

    @Test
    void rejectsMooncakeLineThatIsNotAnObjectOrHasTrailingContent() {
        Path array = writeLines(dir, "array.jsonl", "[1, 2, 3]");
        Path twice = writeLines(
                dir, "twice.jsonl", "{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1} {\"timestamp\": 1}");

        assertThat(readFails(array, TraceFormat.MOONCAKE))
                .hasMessageContaining("array.jsonl:1:1: expected a JSON object per line, got '[1, 2, 3]'");
        assertThat(readFails(twice))
                .hasMessageContaining("twice.jsonl:1:")
                .hasMessageContaining("expected one JSON object per line, found more after it");
    }

    @Test
    void rejectsMooncakeLineWithMissingKey() {
        Path file = writeLines(
                dir,
                "missing.jsonl",
                "{\"timestamp\": 0, \"input_length\": 100, \"output_length\": 6, \"hash_ids\": [0]}",
                "{\"timestamp\": 5, \"input_length\": 100, \"hash_ids\": [0]}");

        TraceFormatException e = readFails(file);

        assertThat(e.line()).isEqualTo(2);
        assertThat(e)
                .hasMessageContaining("missing.jsonl:2")
                .hasMessageContaining(
                        "expected the keys timestamp, input_length and output_length; missing output_length");
    }

    @Test
    void rejectsMooncakeValueOfTheWrongType() {
        String bad = "{\"timestamp\": \"noon\", \"input_length\": 100, \"output_length\": 6}";
        Path file = writeLines(dir, "type.jsonl", bad);
        Path hashes = writeLines(
                dir,
                "hashes.jsonl",
                "{\"timestamp\": 1, \"input_length\": 100, \"output_length\": 6, \"hash_ids\": [1, \"two\"]}");
        Path negative =
                writeLines(dir, "neg.jsonl", "{\"timestamp\": 1, \"input_length\": -100, \"output_length\": 6}");

        TraceFormatException e = readFails(file);
        assertThat(e.column()).isEqualTo(bad.indexOf("\"noon\"") + 1);
        assertThat(e)
                .hasMessageContaining("type.jsonl:1:" + e.column() + ": timestamp: expected a number, got \"noon\"");
        assertThat(readFails(hashes))
                .hasMessageContaining("hashes.jsonl:1:")
                .hasMessageContaining("hash_ids[1]: expected an integer, got \"two\"");
        assertThat(readFails(negative))
                .hasMessageContaining("neg.jsonl:1:")
                .hasMessageContaining("input_length: expected a non-negative integer, got -100");
    }

    @Test
    void rejectsTimestampsOutOfOrderByDefault() {
        Path file = writeLines(
                dir,
                "unsorted.csv",
                AZURE_HEADER,
                "2023-11-16 18:17:03.0000000,10,1",
                "2023-11-16 18:17:05.0000000,20,2",
                "2023-11-16 18:17:04.9968000,30,3",
                "2023-11-16 18:17:06.0000000,40,4");

        TraceFormatException e = readFails(file);

        assertThat(e.line()).isEqualTo(4);
        assertThat(e.column()).isEqualTo(1);
        assertThat(e)
                .hasMessageContaining("unsorted.csv:4:1: timestamps out of order: this request arrives 3.2 ms"
                        + " before the one on line 3; expected non-decreasing times")
                .hasMessageContaining("--sort")
                .hasMessageContaining("--skip-bad");
    }

    @Test
    void rejectsRequestArrivingBeforeTheFirstOne() {
        Path file = writeLines(
                dir,
                "before-first.jsonl",
                "{\"timestamp\": 100, \"input_length\": 1, \"output_length\": 1}",
                "{\"timestamp\": 40, \"input_length\": 1, \"output_length\": 1}");

        assertThat(readFails(file))
                .hasMessageContaining("before-first.jsonl:2")
                .hasMessageContaining("timestamps out of order: this request arrives 60.0 ms before the one on line 1");
    }

    @Test
    void skipsAndCountsOutOfOrderLinesWithSkipBad() throws IOException {
        Path file = writeLines(
                dir,
                "unsorted.csv",
                AZURE_HEADER,
                "2023-11-16 18:17:03.0000000,10,1",
                "2023-11-16 18:17:05.0000000,20,2",
                "2023-11-16 18:17:04.0000000,30,3",
                "2023-11-16 18:17:06.0000000,40,4");

        TraceFiles.ReadResult result = readSkippingBad(file);

        assertThat(result.skippedLines()).isEqualTo(1);
        assertThat(result.skippedExamples())
                .singleElement()
                .asString()
                .contains("unsorted.csv:4:1: timestamps out of order");
        assertThat(result.requests()).extracting(Request::promptTokens).containsExactly(10, 20, 40);
        assertThat(result.requests())
                .extracting(Request::arrivalNs)
                .containsExactly(0L, 2_000_000_000L, 3_000_000_000L);
        assertThat(result.requests()).extracting(Request::id).containsExactly(0L, 1L, 2L);
    }

    @Test
    void keepsAtMostFiveExamplesOfSkippedLinesButCountsAll() throws IOException {
        String[] lines = new String[10];
        lines[0] = AZURE_HEADER;
        lines[1] = AZURE_GOOD;
        for (int i = 2; i < 9; i++) {
            lines[i] = "2023-11-16 18:17:04.0000000,x" + i + ",1";
        }
        lines[9] = "2023-11-16 18:17:05.0000000,7,1";
        Path file = writeLines(dir, "many-bad.csv", lines);

        TraceFiles.ReadResult result = readSkippingBad(file);

        assertThat(result.skippedLines()).isEqualTo(7);
        assertThat(result.skippedExamples()).hasSize(5);
        assertThat(result.skippedExamples().getFirst())
                .contains("many-bad.csv:3:29")
                .contains("got 'x2'");
        assertThat(result.requests()).extracting(Request::promptTokens).containsExactly(4808, 7);
    }

    @Test
    void rejectsUnknownKeyInNativeJsonlWithSuggestion() {
        Path file = writeLines(
                dir,
                "typo.jsonl",
                "{\"id\":0,\"arrival_ns\":0,\"prompt_tokens\":5,\"output_tokens\":6}",
                "{\"id\":1,\"arrival_ns\":7,\"promt_tokens\":5,\"output_tokens\":6}");

        TraceFormatException e = readFails(file);

        assertThat(e.line()).isEqualTo(2);
        assertThat(e.column()).isPositive();
        assertThat(e)
                .hasMessageContaining("typo.jsonl:2:")
                .hasMessageContaining("unknown key 'promt_tokens'; did you mean 'prompt_tokens'?")
                .hasMessageContaining("expected one of id, arrival_ns, session_id, turn, adapter, prompt_tokens,"
                        + " output_tokens, block_size, prefix_hashes");
    }

    @Test
    void rejectsNativeJsonlMissingRequiredKeyAndTurnWithoutSession() {
        Path missing = writeLines(dir, "missing.jsonl", "{\"id\":0,\"arrival_ns\":0,\"output_tokens\":6}");
        Path turn = writeLines(
                dir, "turn.jsonl", "{\"id\":0,\"arrival_ns\":0,\"turn\":2,\"prompt_tokens\":5,\"output_tokens\":6}");

        assertThat(readFails(missing))
                .hasMessageContaining("missing.jsonl:1")
                .hasMessageContaining(
                        "expected the keys arrival_ns, prompt_tokens and output_tokens; missing prompt_tokens");
        assertThat(readFails(turn))
                .hasMessageContaining("turn.jsonl:1")
                .hasMessageContaining("turn must be empty when session_id is, got 2");
    }

    @Test
    void rejectsQuotedCsvFieldThatIsNotClosed() {
        String bad = "1,5,\"chat-1,0,,5,6,,";
        Path file = writeLines(dir, "quote.csv", NATIVE_HEADER, "0,0,,,,5,6,,", bad);

        TraceFormatException e = readFails(file);

        assertThat(e.line()).isEqualTo(3);
        assertThat(e.column()).isEqualTo(bad.indexOf('"') + 1).isEqualTo(5);
        assertThat(e).hasMessageContaining("quote.csv:3:5: a quoted field that is not closed on this line");
    }

    @Test
    void rejectsTextAfterClosingQuote() {
        String bad = "1,5,\"chat\"x,0,,5,6,,";
        Path file = writeLines(dir, "after-quote.csv", NATIVE_HEADER, bad);

        assertThat(readFails(file))
                .hasMessageContaining(
                        "after-quote.csv:2:" + (bad.indexOf('x') + 1) + ": ',' after the closing quote, got 'x'");
    }

    @Test
    void rejectsNativeCsvWithWrongHeaderOrBadPrefixHash() {
        Path header = writeLines(
                dir,
                "header.csv",
                "id,arrival_ns,session_id,turn,adapter,prompt_tokens,output_tokens,prefix_hashes",
                "0,0,,,,5,6,");
        String bad = "0,0,,,,5,6,16,12 x3 4";
        Path hashes = writeLines(dir, "hashes.csv", NATIVE_HEADER, bad);

        assertThat(readFails(header, TraceFormat.CSV))
                .hasMessageContaining("header.csv:1")
                .hasMessageContaining("expected the native CSV header '" + NATIVE_HEADER + "'");
        assertThat(readFails(hashes))
                .hasMessageContaining("hashes.csv:2:" + (bad.indexOf("x3") + 1)
                        + ": prefix_hashes: expected space-separated 64-bit integers, got 'x3'");
    }

    @Test
    void rejectsMissingAzureColumnNamingWhatWasFound() {
        Path file = writeLines(dir, "columns.csv", "TIMESTAMP,ContextTokens,OutputTokens", "2023-11-16 18:17:03,1,1");

        assertThat(readFails(file, TraceFormat.AZURE))
                .hasMessageContaining("columns.csv:1")
                .hasMessageContaining(
                        "the Azure header has no column 'GeneratedTokens'; found [TIMESTAMP, ContextTokens, OutputTokens]");
    }

    @Test
    void reportsNumberOverflowInsteadOfWrappingAround() {
        Path file = writeLines(
                dir, "overflow.csv", NATIVE_HEADER, "0,9223372036854775808,,,,5,6,,", "1,5,,,,3000000000,6,,");

        TraceFormatException e = readFails(file);
        assertThat(e)
                .hasMessageContaining("overflow.csv:2:3: arrival_ns: value out of range, got '9223372036854775808'");
        TraceFiles.ReadResult result = readSkippingBad(file);
        assertThat(result.skippedExamples().get(1))
                .contains("overflow.csv:3:")
                .contains("prompt_tokens: expected at most 2147483647, got 3000000000");
    }

    private static TraceFormatException readFails(Path file) {
        return readFails(file, null);
    }

    private static TraceFormatException readFails(Path file, TraceFormat format) {
        Throwable thrown =
                catchThrowable(() -> readAll(file, ReadOptions.defaults().withFormat(format)));
        assertThat(thrown).isInstanceOf(TraceFormatException.class);
        return (TraceFormatException) thrown;
    }

    private static TraceFiles.ReadResult readSkippingBad(Path file) {
        try {
            return read(file, ReadOptions.defaults().withSkipBad(true));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
