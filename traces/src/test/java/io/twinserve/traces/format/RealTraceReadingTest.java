package io.twinserve.traces.format;

import static io.twinserve.traces.format.TraceFiles.csvRows;
import static io.twinserve.traces.format.TraceFiles.read;
import static io.twinserve.traces.format.TraceFiles.readAll;
import static io.twinserve.traces.format.TraceFiles.resource;
import static io.twinserve.traces.format.TraceFiles.writeLines;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinserve.traces.Request;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The readers on real slices of the public traces (see the README beside each file for its source). */
class RealTraceReadingTest {
    private static final Path AZURE = resource("azure/AzureLLMInferenceTrace_code_head300.csv");
    private static final Path MOONCAKE = resource("mooncake/synthetic_trace_head200.jsonl");
    private static final Path BURSTGPT = resource("burstgpt/burstgpt_head.csv");
    private static final Path BURSTGPT_SESSIONS = resource("burstgpt/burstgpt_sessions_head.csv");
    private static final ReadOptions KEEP_FAILED = new ReadOptions(null, false, true, false);

    @TempDir
    Path dir;

    @Test
    void readsRealAzureTraceRebasedToFirstRequest() throws IOException {
        List<Request> requests = readAll(AZURE, ReadOptions.defaults());

        assertThat(requests).hasSize(300);
        assertThat(requests.getFirst().arrivalNs()).isZero();
        // 2023-11-16 18:20:40.8181990 - 2023-11-16 18:17:03.9799600 = 216.8382390 s
        assertThat(requests.getLast().arrivalNs()).isEqualTo(216_838_239_000L);
        assertThat(requests.getFirst().promptTokens()).isEqualTo(4808);
        assertThat(requests.getFirst().outputTokens()).isEqualTo(10);
        assertThat(requests.getLast().promptTokens()).isEqualTo(176);
        assertThat(requests.getLast().outputTokens()).isEqualTo(88);
        assertThat(requests.stream().mapToLong(Request::promptTokens).sum()).isEqualTo(627_529L);
        assertThat(requests.stream().mapToLong(Request::outputTokens).sum()).isEqualTo(7_126L);
        assertThat(requests).extracting(Request::arrivalNs).isSorted();
        assertThat(requests)
                .extracting(Request::id)
                .containsExactlyElementsOf(LongStream.range(0, 300).boxed().toList());
        assertThat(requests).allSatisfy(r -> {
            assertThat(r.hasSession()).isFalse();
            assertThat(r.adapterId()).isNull();
            assertThat(r.hasPrefixHashes()).isFalse();
        });
    }

    @Test
    void readsEveryRealAzureTimestampToTheNanosecondAsJavaTimeDoes() throws IOException {
        List<String[]> rows = csvRows(AZURE);
        Instant origin = azure2023(rows.getFirst()[0]);
        List<Long> expected = new ArrayList<>();
        for (String[] row : rows) {
            Instant t = azure2023(row[0]);
            expected.add(
                    (t.getEpochSecond() - origin.getEpochSecond()) * 1_000_000_000L + t.getNano() - origin.getNano());
        }

        List<Request> requests = readAll(AZURE, ReadOptions.defaults());

        assertThat(requests).extracting(Request::arrivalNs).containsExactlyElementsOf(expected);
    }

    @Test
    void readsAzure2024TimestampsWithOffsetsAndZ() throws IOException {
        // Written here, not real data: they check the timestamp syntax the docs promise for the 2024 release
        // beyond what its real rows show (always +00:00): other and negative offsets, +HHMM and +HH, Z, the
        // T separator and more than 9 fractional digits. Real 2024 rows: Azure2024RealRowsTest.
        Path file = writeLines(
                dir,
                "azure2024.csv",
                "TIMESTAMP,ContextTokens,GeneratedTokens",
                "2024-05-10 00:00:00.009930+00:00,100,10",
                "2024-05-10 00:00:01.5+00:00,101,11",
                "2024-05-10T00:00:02Z,102,12",
                "2024-05-10 02:00:03.000000001+02:00,103,13",
                "2024-05-09 23:00:04.25-01:00,104,14",
                "2024-05-10 00:00:05.1234567891+0000,105,15",
                "2024-05-10 05:30:06+05:30,106,16",
                "2024-05-10 01:00:07+01,107,17");
        Instant origin = Instant.parse("2024-05-10T00:00:00.009930Z");

        List<Request> requests = readAll(file, ReadOptions.defaults());

        assertThat(requests)
                .extracting(Request::arrivalNs)
                .containsExactly(
                        sinceNs(origin, "2024-05-10T00:00:00.009930Z"),
                        sinceNs(origin, "2024-05-10T00:00:01.5Z"),
                        sinceNs(origin, "2024-05-10T00:00:02Z"),
                        sinceNs(origin, "2024-05-10T00:00:03.000000001Z"),
                        sinceNs(origin, "2024-05-10T00:00:04.25Z"),
                        // digits past the ninth are below a nanosecond and dropped
                        sinceNs(origin, "2024-05-10T00:00:05.123456789Z"),
                        sinceNs(origin, "2024-05-10T00:00:06Z"),
                        sinceNs(origin, "2024-05-10T00:00:07Z"));
        assertThat(requests.get(3).arrivalNs()).isEqualTo(2_990_070_001L);
        assertThat(requests).extracting(Request::promptTokens).containsExactly(100, 101, 102, 103, 104, 105, 106, 107);
    }

    @Test
    void readsAzureTimestampsAcrossMidnightAndLeapDay() throws IOException {
        Path file = writeLines(
                dir,
                "midnight.csv",
                "TIMESTAMP,ContextTokens,GeneratedTokens",
                "2024-02-28 23:59:59.9000000,1,1",
                "2024-02-29 00:00:00.1000000,1,1",
                "2024-02-29 23:59:59.0000000,1,1",
                "2024-03-01 00:00:00.0000000,1,1",
                "2024-12-31 23:59:59.0000000,1,1",
                "2025-01-01 00:00:00.0000000,1,1");
        Instant origin = Instant.parse("2024-02-28T23:59:59.9Z");

        assertThat(readAll(file, ReadOptions.defaults()))
                .extracting(Request::arrivalNs)
                .containsExactly(
                        0L,
                        sinceNs(origin, "2024-02-29T00:00:00.1Z"),
                        sinceNs(origin, "2024-02-29T23:59:59Z"),
                        sinceNs(origin, "2024-03-01T00:00:00Z"),
                        sinceNs(origin, "2024-12-31T23:59:59Z"),
                        sinceNs(origin, "2025-01-01T00:00:00Z"));
    }

    @Test
    void findsAzureColumnsByNameInAnyOrder() throws IOException {
        Path file = writeLines(
                dir,
                "reordered.csv",
                "GeneratedTokens,TIMESTAMP,ContextTokens",
                "7,2023-11-16 18:17:03.0000000,300",
                "8,2023-11-16 18:17:04.0000000,400");

        List<Request> requests = readAll(file, ReadOptions.defaults());

        assertThat(requests).extracting(Request::promptTokens).containsExactly(300, 400);
        assertThat(requests).extracting(Request::outputTokens).containsExactly(7, 8);
        assertThat(requests).extracting(Request::arrivalNs).containsExactly(0L, 1_000_000_000L);
    }

    @Test
    void readsRealMooncakeTraceWithItsPrefixHashesInNanoseconds() throws IOException {
        List<JsonNode> lines = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        for (String line : Files.readAllLines(MOONCAKE, StandardCharsets.UTF_8)) {
            lines.add(json.readTree(line));
        }

        List<Request> requests = readAll(MOONCAKE, ReadOptions.defaults());

        assertThat(requests).hasSize(200);
        assertThat(requests.getFirst().arrivalNs()).isZero();
        assertThat(requests.getLast().arrivalNs()).isEqualTo(58_501L * 1_000_000L);
        assertThat(requests).extracting(Request::arrivalNs).isSorted();
        assertThat(requests.stream().mapToLong(Request::promptTokens).sum()).isEqualTo(2_663_480L);
        assertThat(requests.stream().mapToLong(Request::outputTokens).sum()).isEqualTo(38_364L);
        assertThat(requests.stream().mapToLong(r -> r.prefixHashes().length).sum())
                .isEqualTo(5_330L);
        for (int i = 0; i < requests.size(); i++) {
            Request r = requests.get(i);
            JsonNode line = lines.get(i);
            long[] hashes = new long[line.get("hash_ids").size()];
            for (int k = 0; k < hashes.length; k++) {
                hashes[k] = line.get("hash_ids").get(k).asLong();
            }
            assertThat(r.id()).isEqualTo(i);
            assertThat(r.arrivalNs()).isEqualTo(line.get("timestamp").asLong() * 1_000_000L);
            assertThat(r.promptTokens()).isEqualTo(line.get("input_length").asInt());
            assertThat(r.outputTokens()).isEqualTo(line.get("output_length").asInt());
            assertThat(r.prefixHashes()).as("hash_ids of line %d", i + 1).containsExactly(hashes);
            assertThat(r.prefixBlockSize()).isEqualTo(hashes.length > 0 ? 512 : 0);
        }
    }

    @Test
    void readsFractionalMooncakeMillisecondsAndIgnoresExtraKeys() throws IOException {
        Path file = writeLines(
                dir,
                "conversation.jsonl",
                "{\"timestamp\": 10.5, \"input_length\": 600, \"output_length\": 3, \"hash_ids\": [7],"
                        + " \"session\": {\"turn\": [1, 2]}, \"note\": \"x\"}",
                "{\"timestamp\": 12.000001, \"input_length\": 5, \"output_length\": 4, \"hash_ids\": []}");

        List<Request> requests = readAll(file, ReadOptions.defaults());

        assertThat(requests).extracting(Request::arrivalNs).containsExactly(0L, 1_500_001L);
        assertThat(requests.getFirst().prefixHashes()).containsExactly(7L);
        assertThat(requests.getFirst().prefixBlockSize()).isEqualTo(512);
        assertThat(requests.getLast().hasPrefixHashes()).isFalse();
        assertThat(requests.getLast().prefixBlockSize()).isZero();
    }

    @Test
    void dropsRealBurstGptFailedRequestsByDefaultAndCountsThem() throws IOException {
        TraceFiles.ReadResult result = read(BURSTGPT, ReadOptions.defaults());
        List<Request> requests = result.requests();

        assertThat(result.droppedRecords()).isEqualTo(17);
        assertThat(result.skippedLines()).isZero();
        assertThat(requests).hasSize(383);
        assertThat(requests.stream().mapToLong(Request::promptTokens).sum()).isEqualTo(208_189L);
        assertThat(requests.stream().mapToLong(Request::outputTokens).sum()).isEqualTo(110_612L);
        assertThat(requests.getFirst().arrivalNs()).isZero();
        // first row at 5 s, last at 37274 s; the failed rows are none of these
        assertThat(requests.getLast().arrivalNs()).isEqualTo(37_269L * 1_000_000_000L);
        assertThat(requests).extracting(Request::arrivalNs).isSorted();
        assertThat(requests)
                .extracting(Request::id)
                .containsExactlyElementsOf(LongStream.range(0, 383).boxed().toList());
        assertThat(requests).noneMatch(Request::hasSession);
    }

    @Test
    void keepsRealBurstGptFailedRequestsAsOneTokenRequestsWhenAsked() throws IOException {
        List<String[]> rows = csvRows(BURSTGPT);

        TraceFiles.ReadResult result = read(BURSTGPT, KEEP_FAILED);
        List<Request> requests = result.requests();

        assertThat(result.droppedRecords()).isZero();
        assertThat(requests).hasSize(400);
        for (int i = 0; i < rows.size(); i++) {
            String[] row = rows.get(i);
            Request r = requests.get(i);
            assertThat(r.arrivalNs()).isEqualTo((Long.parseLong(row[0]) - 5) * 1_000_000_000L);
            if (row[3].equals("0")) {
                assertThat(r.outputTokens()).as("failed row %d", i + 2).isEqualTo(1);
                assertThat(r.promptTokens()).as("failed row %d", i + 2).isGreaterThanOrEqualTo(1);
            } else {
                assertThat(r.promptTokens()).isEqualTo(Integer.parseInt(row[2]));
                assertThat(r.outputTokens()).isEqualTo(Integer.parseInt(row[3]));
            }
        }
        assertThat(requests.stream().filter(r -> r.outputTokens() == 1 && r.promptTokens() == 1))
                .hasSize(17);
        // the README: the first failed row is data row 21 (file line 22)
        assertThat(requests.get(20).outputTokens()).isEqualTo(1);
        assertThat(requests.get(20).arrivalNs()).isEqualTo((1106L - 5) * 1_000_000_000L);
    }

    @Test
    void readsRealBurstGptSessionsWithTurnsInFileOrder() throws IOException {
        List<String[]> rows = csvRows(BURSTGPT_SESSIONS);
        List<String> expectedSessions = new ArrayList<>();
        List<Integer> expectedTurns = new ArrayList<>();
        Map<String, Integer> turns = new HashMap<>();
        for (String[] row : rows) {
            if (row[5].equals("0")) {
                continue;
            }
            String session = row[1].isEmpty() ? null : row[1];
            expectedSessions.add(session);
            expectedTurns.add(session == null ? Request.NO_TURN : turns.merge(session, 1, Integer::sum) - 1);
        }

        TraceFiles.ReadResult result = read(BURSTGPT_SESSIONS, ReadOptions.defaults());
        List<Request> requests = result.requests();

        assertThat(result.droppedRecords()).isEqualTo(1);
        assertThat(requests).hasSize(399);
        assertThat(requests).extracting(Request::sessionId).containsExactlyElementsOf(expectedSessions);
        assertThat(requests).extracting(Request::turnIndex).containsExactlyElementsOf(expectedTurns);
        assertThat(requests.stream().filter(r -> !r.hasSession())).hasSize(6);
        // 135 sessions in the file; the only row of 5433ddce-... is the failed one, dropped
        Set<String> sessions = new HashSet<>();
        requests.stream().filter(Request::hasSession).forEach(r -> sessions.add(r.sessionId()));
        assertThat(sessions).hasSize(134).doesNotContain("5433ddce-0bb7-4ffc-ab98-14fa1aaec544");
        assertThat(requests.stream().filter(r -> "313b905a-2252-45ca-bf14-46e87f6233dd".equals(r.sessionId())))
                .extracting(Request::turnIndex)
                .containsExactlyElementsOf(IntStream.range(0, 24).boxed().toList());
        assertThat(requests.getFirst().sessionId()).isEqualTo("1722ac82-0a46-4bf0-aa08-89794e7a2b3f");
        assertThat(requests.getFirst().turnIndex()).isZero();
        assertThat(requests.getFirst().arrivalNs()).isZero();
        assertThat(requests.getLast().arrivalNs()).isEqualTo((19_481_563L - 19_440_110L) * 1_000_000_000L);
        assertThat(requests).extracting(Request::arrivalNs).isSorted();
    }

    @Test
    void keepsTheFailedRowsSessionWhenKeepingFailedBurstGptRequests() throws IOException {
        List<Request> requests = readAll(BURSTGPT_SESSIONS, KEEP_FAILED);

        assertThat(requests).hasSize(400);
        Set<String> sessions = new HashSet<>();
        requests.stream().filter(Request::hasSession).forEach(r -> sessions.add(r.sessionId()));
        assertThat(sessions).hasSize(135);
        Request failed = requests.stream()
                .filter(r -> "5433ddce-0bb7-4ffc-ab98-14fa1aaec544".equals(r.sessionId()))
                .findFirst()
                .orElseThrow();
        assertThat(failed.turnIndex()).isZero();
        assertThat(failed.promptTokens()).isEqualTo(1);
        assertThat(failed.outputTokens()).isEqualTo(1);
        assertThat(failed.arrivalNs()).isEqualTo((19_473_253L - 19_440_110L) * 1_000_000_000L);
    }

    private static Instant azure2023(String timestamp) {
        return LocalDateTime.parse(timestamp.replace(' ', 'T')).toInstant(ZoneOffset.UTC);
    }

    private static long sinceNs(Instant origin, String iso) {
        Instant t = Instant.parse(iso);
        return (t.getEpochSecond() - origin.getEpochSecond()) * 1_000_000_000L + t.getNano() - origin.getNano();
    }
}
