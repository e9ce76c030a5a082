package io.twinserve.twin.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.traces.Request;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.metrics.RequestRecord;
import io.twinserve.twin.metrics.RunSummary;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ReplicaSimulatorTest {
    private static final long S = 1_000_000_000L;

    /** 8 blocks of 16 tokens: a request needs at most 128 tokens of KV to finish. */
    private static ResolvedReplica tinyKv() throws IOException {
        return SimTestSupport.replica("""
        model: llama-3.2-1b
        gpu: h100-sxm-80gb
        replica: {kv_cache_len: 128, block_size: 16, max_model_len: 4096, max_adapters: 2}
        """);
    }

    @Test
    void aRequestLongerThanTheWholeKvCacheIsRejectedNotPreemptedForever() throws IOException {
        // prompt 16 fits, but prompt + output needs 14 blocks of the 8 there are: it could never finish
        List<Request> requests = List.of(Request.of(0, 0, null, 16, 200), Request.of(1, 0, null, 40, 20));
        RunResult r = new ReplicaSimulator(tinyKv(), Map.of())
                .run(
                        SimTestSupport.trace(requests),
                        RunOptions.defaults().withRecordRequests(true).withWindowNs(10 * S));
        RunSummary s = r.summary();
        assertThat(s.requestsArrived()).isEqualTo(2);
        assertThat(s.requestsRejected()).isEqualTo(1);
        assertThat(s.requestsFinished()).isEqualTo(1);
        assertThat(s.requestsUnfinished()).isZero();
        assertThat(r.requests())
                .extracting(RequestRecord::outcome)
                .containsExactly(RequestRecord.Outcome.REJECTED, RequestRecord.Outcome.FINISHED);
        assertThat(s.preemptions()).isZero();
    }

    @Test
    void withoutAWindowTheRunEndsWhenTheLastRequestFinishes() throws IOException {
        List<Request> requests = List.of(
                Request.of(0, 0, null, 100, 28),
                Request.of(1, S, "a", 50, 10),
                Request.of(2, 2 * S, "b", 16, 113),
                Request.of(3, 2 * S, null, 100, 1),
                Request.of(4, 3 * S, null, 5000, 1));
        RunResult r = new ReplicaSimulator(tinyKv(), Map.of())
                .run(SimTestSupport.trace(requests), RunOptions.defaults().withRecordRequests(true));
        RunSummary s = r.summary();
        assertThat(s.requestsArrived()).isEqualTo(5);
        assertThat(s.requestsFinished()).isEqualTo(4);
        assertThat(s.requestsRejected()).as("longer than max_model_len").isEqualTo(1);
        assertThat(s.requestsUnfinished()).isZero();
        assertThat(r.requests()).hasSize(5);
        // every token after a request's first is one inter-token gap, whether recorded one by one or in bulk
        assertThat(s.itl().count()).isEqualTo((28 - 1) + (10 - 1) + (113 - 1) + (1 - 1));
        assertThat(s.ttft().count()).isEqualTo(4);
        for (RequestRecord rec : r.requests()) {
            if (rec.outcome() == RequestRecord.Outcome.FINISHED) {
                assertThat(rec.generatedTokens()).isEqualTo(rec.outputTokens());
                assertThat(rec.firstTokenNs()).isBetween(rec.arrivalNs(), rec.finishNs());
            }
        }
    }

    @Test
    void anAdapterAboveTheSlotRankIsAnError() throws IOException {
        List<Request> requests = List.of(Request.of(0, 0, "big", 10, 10));
        assertThatThrownBy(() -> new ReplicaSimulator(tinyKv(), Map.of("big", 64))
                        .run(SimTestSupport.trace(requests), RunOptions.defaults()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("adapter big has rank 64, above max_adapter_rank 16");
    }
}
