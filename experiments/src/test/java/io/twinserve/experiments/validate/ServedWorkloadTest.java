package io.twinserve.experiments.validate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.traces.Request;
import io.twinserve.twin.sched.SchedulerConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

class ServedWorkloadTest {
    static final ServingSettings SETTINGS = new ServingSettings(8, 64, 256, 16, 2, 2, 16, 128, true, true, 1, 1);

    @Test
    void dealsUnknownAdapterIdsOntoTheGivenAdaptersInArrivalOrderAndKeepsOnlySessionsHashes() {
        List<Request> trace = List.of(
                new Request(0, 300, "s1", 0, "x", 20, 5, 16, new long[] {7}),
                Request.of(1, 100, "y", 10, 5),
                Request.of(2, 200, "a1", 10, 5),
                Request.of(3, 400, "x", 10, 5),
                Request.of(4, 500, null, 10, 5),
                new Request(5, 600, null, Request.NO_TURN, "a0", 20, 5, 16, new long[] {9}));
        ServedWorkload w = ServedWorkload.of(trace, List.of("a0", "a1"), "t.csv", SETTINGS);
        assertThat(w.requests()).extracting(Request::id).containsExactly(1L, 2L, 0L, 3L, 4L, 5L);
        assertThat(w.requests()).extracting(Request::adapterId).containsExactly("a0", "a1", "a1", "a1", null, "a0");
        // a session's turn keeps its session and hashes (the replay rebuilds its prefix); a shared prompt's do not
        Request turn = w.requests().get(2);
        assertThat(turn.sessionId()).isEqualTo("s1");
        assertThat(turn.prefixHashes()).containsExactly(7L);
        assertThat(turn.prefixBlockSize()).isEqualTo(16);
        assertThat(w.requests().get(5).hasPrefixHashes()).isFalse();
        assertThat(w.notes())
                .anyMatch(n -> n.contains("y -> a0, x -> a1"))
                .anyMatch(n -> n.contains("prefix hashes outside sessions were dropped"));
    }

    @Test
    void rejectsARequestLongerThanMaxModelLenNamingItAndTheLimit() {
        assertThatThrownBy(
                        () -> ServedWorkload.of(List.of(Request.of(9, 0, null, 120, 20)), List.of(), "t.csv", SETTINGS))
                .hasMessageContaining("t.csv")
                .hasMessageContaining("request 9")
                .hasMessageContaining("max_model_len 128");
    }

    @Test
    void rejectsAdaptersWhenNoneWereGiven() {
        assertThatThrownBy(() -> ServedWorkload.of(List.of(Request.of(0, 0, "z", 10, 2)), List.of(), "t.csv", SETTINGS))
                .hasMessageContaining("adapter 'z'")
                .hasMessageContaining("--adapter NAME=DIR");
    }

    @Test
    void namesEveryScheduleSettingInWhichTheTwoSidesDiffer() {
        SchedulerConfig twin = new SchedulerConfig(8, 64, true, 16, 256, true, 2, 2, 16, 128, false);
        assertThat(ServingSettings.differences(
                        twin, new SchedulerConfig(8, 64, true, 16, 256, true, 2, 2, 256, 128, false)))
                .isEmpty();
        assertThat(ServingSettings.differences(
                        twin, new SchedulerConfig(8, 32, true, 16, 240, true, 2, 2, 16, 128, true)))
                .containsExactly(
                        "max_num_batched_tokens: twin 64, live 32",
                        "kv_cache_len: twin 256, live 240",
                        "adapter_load (async): twin false, live true");
    }
}
