package io.twinserve.traces.gen;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.traces.Request;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Multi-turn sessions: growing prompts that repeat the earlier turns' prefix blocks. */
class SessionsTest {
    private static final String SPEC = """
      seed: 3
      duration_s: 300
      arrivals: {type: poisson, rate: 1}
      adapters: {count: 10, base_share: 0.2}
      lengths:
        prompt: {type: lognormal, mean: 100, std: 80}
        output: {type: lognormal, mean: 150, std: 100}
        max_total: 6000
      sessions:
        turns: {type: uniform, min: 1, max: 6}
        think_time_s: {type: exponential, mean: 10}
        block_size: 16
      """;

    private static Map<String, List<Request>> bySession(List<Request> rs) {
        Map<String, List<Request>> m = new LinkedHashMap<>();
        for (Request r : rs) {
            m.computeIfAbsent(r.sessionId(), k -> new ArrayList<>()).add(r);
        }
        return m;
    }

    @Test
    void aLengthsWarningOnSessionsSaysWhatHappensToLaterTurns() {
        // most prompts above the cap: the first turns draw again (resample), the later ones are clipped
        WorkloadSpec spec = WorkloadSpecs.parse(
                SPEC.replace("max_total: 6000", "max_total: 6000\n  max_prompt: 64\n  caps: resample"),
                java.nio.file.Path.of("s.yaml"));
        List<String> w = WorkloadGenerator.warnings(spec, java.nio.file.Path.of("."));
        assertThat(w).hasSize(1);
        assertThat(w.getFirst())
                .contains("are drawn again")
                .endsWith("; in sessions this is each first turn: later messages and answers are clipped to the caps,"
                        + " and a session ends when its context outgrows them");
        // the same lengths without sessions say nothing of turns
        WorkloadSpec single = WorkloadSpecs.parse(
                SPEC.replace("max_total: 6000", "max_total: 6000\n  max_prompt: 64\n  caps: resample")
                        .substring(0, SPEC.indexOf("sessions:") + "\n  max_prompt: 64\n  caps: resample".length()),
                java.nio.file.Path.of("s.yaml"));
        assertThat(WorkloadGenerator.warnings(single, java.nio.file.Path.of(".")))
                .singleElement()
                .asString()
                .doesNotContain("sessions");
    }

    @Test
    void everyTurnRepeatsTheFullBlocksOfTheConversationSoFar() {
        List<Request> rs = Generated.all(SPEC);
        Map<String, List<Request>> sessions = bySession(rs);
        assertThat(sessions.size()).isGreaterThan(200);
        int multiTurn = 0;
        for (List<Request> turns : sessions.values()) {
            for (int k = 0; k < turns.size(); k++) {
                Request t = turns.get(k);
                assertThat(t.turnIndex()).isEqualTo(k);
                assertThat(t.prefixBlockSize()).isEqualTo(16);
                assertThat(t.prefixHashes())
                        .as("the prompt's blocks and its answer's")
                        .hasSize((t.promptTokens() + t.outputTokens() + 15) / 16);
                if (k > 0) {
                    Request prev = turns.get(k - 1);
                    multiTurn++;
                    // the new prompt holds the previous prompt, its answer and a new message of >= 1 token
                    assertThat(t.promptTokens()).isGreaterThan(prev.promptTokens() + prev.outputTokens());
                    int sharedFull = (prev.promptTokens() + prev.outputTokens()) / 16;
                    assertThat(Arrays.copyOf(t.prefixHashes(), sharedFull))
                            .containsExactly(Arrays.copyOf(expectedFullBlocks(turns, k), sharedFull));
                    assertThat(t.adapterId()).isEqualTo(prev.adapterId());
                    assertThat(t.arrivalNs()).isGreaterThanOrEqualTo(prev.arrivalNs());
                }
            }
        }
        assertThat(multiTurn).isGreaterThan(300);
    }

    /** The full-block hashes of a session come from its longest prompt, which covers all others. */
    private static long[] expectedFullBlocks(List<Request> turns, int k) {
        Request longest = turns.get(turns.size() - 1);
        return Arrays.copyOf(longest.prefixHashes(), (longest.promptTokens() + longest.outputTokens()) / 16);
    }

    @Test
    void aPartialLastBlockNeverMatchesTheFullBlockItBecomes() {
        List<Request> rs = Generated.all(SPEC);
        for (List<Request> turns : bySession(rs).values()) {
            for (int k = 1; k < turns.size(); k++) {
                Request prev = turns.get(k - 1);
                if (prev.totalTokens() % 16 != 0) {
                    int partialIndex = prev.totalTokens() / 16;
                    long partial = prev.prefixHashes()[partialIndex];
                    assertThat(turns.get(k).prefixHashes()[partialIndex]).isNotEqualTo(partial);
                }
            }
        }
    }

    @Test
    void differentSessionsShareNoBlocks() {
        List<Request> rs = Generated.all(SPEC);
        Map<Long, String> owner = new HashMap<>();
        for (Request r : rs) {
            for (long h : r.prefixHashes()) {
                String previous = owner.putIfAbsent(h, r.sessionId());
                assertThat(previous == null || previous.equals(r.sessionId())).isTrue();
            }
        }
    }

    @Test
    void turnsArriveInTimeOrderAcrossInterleavedSessions() {
        List<Request> rs = Generated.all(SPEC);
        for (int i = 1; i < rs.size(); i++) {
            assertThat(rs.get(i).arrivalNs())
                    .isGreaterThanOrEqualTo(rs.get(i - 1).arrivalNs());
            assertThat(rs.get(i).id()).isEqualTo(i);
        }
        assertThat(rs.getLast().arrivalNs()).isLessThan(300_000_000_000L);
    }

    @Test
    void sessionsEndBeforeTheirContextPassesTheCaps() {
        List<Request> rs = Generated.all("""
        seed: 1
        duration_s: 200
        arrivals: {type: poisson, rate: 2}
        lengths:
          prompt: {type: fixed, value: 300}
          output: {type: fixed, value: 200}
          max_total: 1600
        sessions:
          turns: {type: fixed, value: 10}
          think_time_s: {type: fixed, value: 1}
        """);
        // turn 0: 300+200, turn 1: 800+200, turn 2 would be 1300+200 = 1500 <= 1600, turn 3 would pass
        Map<String, List<Request>> sessions = bySession(rs);
        assertThat(sessions.values())
                .allSatisfy(turns -> assertThat(turns.size()).isLessThanOrEqualTo(3));
        assertThat(rs).allSatisfy(r -> assertThat(r.totalTokens()).isLessThanOrEqualTo(1600));
        assertThat(rs).extracting(Request::promptTokens).contains(300, 800, 1300);
    }
}
