package io.twinserve.twin.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.traces.Request;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.metrics.RequestRecord;
import io.twinserve.twin.perf.DecodeStretch;
import io.twinserve.twin.perf.PerfModel;
import io.twinserve.twin.perf.StepShape;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A request's latency outside the engine ({@code request_latency_ns}): the server sees every request that
 * long after its send, so the whole run shifts by it, and TTFT and E2E, counted from the send, grow by it.
 */
class RequestLatencyTest {
    private static final long LATENCY_NS = 7_250_000;

    private static final String DEPLOYMENT = """
      model: llama-3.1-8b
      gpu: h100-64gb
      replica: {max_adapters: 4, max_adapter_rank: 16, max_num_seqs: 8, max_num_batched_tokens: 512}
      perf_model: {type: roofline, calibration: vllm-0.8.5-h100-64gb/llama-3.1-8b}
      """;

    @Test
    void everyRequestIsServedALatencyLaterAndItsTtftAndE2eGrowByIt() throws Exception {
        ResolvedReplica base = SimTestSupport.replica(DEPLOYMENT);
        List<RequestRecord> without = run(withLatency(base, 0));
        List<RequestRecord> with = run(withLatency(base, LATENCY_NS));
        assertThat(with).hasSameSizeAs(without).hasSize(40);
        for (int i = 0; i < with.size(); i++) {
            RequestRecord a = without.get(i);
            RequestRecord b = with.get(i);
            assertThat(b.arrivalNs()).as("the send, as the client made it").isEqualTo(a.arrivalNs());
            assertThat(b.firstScheduledNs()).isEqualTo(a.firstScheduledNs() + LATENCY_NS);
            assertThat(b.firstTokenNs()).isEqualTo(a.firstTokenNs() + LATENCY_NS);
            assertThat(b.finishNs()).isEqualTo(a.finishNs() + LATENCY_NS);
            assertThat(b.firstTokenNs() - b.arrivalNs())
                    .as("TTFT")
                    .isEqualTo(a.firstTokenNs() - a.arrivalNs() + LATENCY_NS);
            assertThat(b.generatedTokens()).isEqualTo(a.generatedTokens());
        }
    }

    private static List<RequestRecord> run(ResolvedReplica replica) throws Exception {
        // a queue builds (8 sequences at most) and drains: ordering and batching must shift as a whole
        List<Request> requests = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            long at = i < 20 ? i * 3_000_000L : 2_000_000_000L + i * 40_000_000L;
            requests.add(Request.of(i, at, i % 3 == 0 ? null : "a" + (i % 5), 100 + 37 * (i % 7), 20 + 11 * (i % 4)));
        }
        RunResult r = new ReplicaSimulator(replica, Map.of("a1", 8, "a2", 8, "a3", 16, "a4", 16))
                .run(SimTestSupport.trace(requests), RunOptions.defaults().withRecordRequests(true));
        return r.requests();
    }

    /** The replica with its perf model's request latency set (everything else delegated). */
    private static ResolvedReplica withLatency(ResolvedReplica r, long latencyNs) {
        PerfModel p = r.perf();
        PerfModel shifted = new PerfModel() {
            @Override
            public long stepNs(StepShape step) {
                return p.stepNs(step);
            }

            @Override
            public DecodeStretch decodeStretch(StepShape first) {
                return p.decodeStretch(first);
            }

            @Override
            public long adapterLoadFromCpuNs(int rank, int slotRank) {
                return p.adapterLoadFromCpuNs(rank, slotRank);
            }

            @Override
            public long adapterLoadFromStorageNs(int rank) {
                return p.adapterLoadFromStorageNs(rank);
            }

            @Override
            public long requestLatencyNs() {
                return latencyNs;
            }
        };
        return new ResolvedReplica(r.spec(), r.model(), r.gpu(), r.calibration(), r.memory(), shifted, r.scheduler());
    }
}
