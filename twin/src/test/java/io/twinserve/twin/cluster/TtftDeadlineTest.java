package io.twinserve.twin.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.traces.Request;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.twin.metrics.RequestRecord;
import io.twinserve.twin.metrics.RequestRecord.Outcome;
import io.twinserve.twin.sim.RunOptions;
import java.io.IOException;
import java.util.List;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;

/** Requests without a first token within max_ttft_ms leave with 408 and are counted once. */
class TtftDeadlineTest {
    private static final long WINDOW_NS = 60_000_000_000L;

    // far more than one small replica serves: the queue grows for the whole run
    private static final String OVERLOAD = """
      seed: 3
      duration_s: 60
      arrivals: {type: poisson, rate: 12}
      lengths:
        prompt: {type: lognormal, mean: 1500, std: 800}
        output: {type: lognormal, mean: 300, std: 200}
        max_prompt: 6000
        max_output: 1500
      """;

    private static ResolvedCluster cluster(double maxTtftMs) throws IOException {
        return ClusterTestSupport.cluster("""
        pools: [{name: p, gpu: a100-sxm-80gb, gpus_per_node: 8}]
        deployments:
          - {name: d, model: llama-3.1-8b, pools: [p], replicas: {initial: 2}, router: {type: least_loaded},
             max_ttft_ms: %s, replica: {max_num_seqs: 32, max_model_len: 8192}}
        """.formatted(maxTtftMs));
    }

    private static ClusterResult run(double maxTtftMs, boolean drain) throws IOException {
        WorkloadGenerator g = ClusterTestSupport.workload(OVERLOAD);
        return ClusterTestSupport.run(
                cluster(maxTtftMs),
                g,
                RunOptions.defaults()
                        .withRecordRequests(true)
                        .withWindowNs(WINDOW_NS)
                        .withDrain(drain));
    }

    private static void assertAccounted(ClusterSummary.DeploymentSummary d, List<RequestRecord> records) {
        assertThat(d.requestsFinished() + d.requestsRejected() + d.requestsTimedOut() + d.requestsUnfinished())
                .as("arrived == finished + rejected + timed_out + unfinished")
                .isEqualTo(d.requestsArrived());
        assertThat(d.requestsUnfinished()).isNotNegative();
        assertThat(records).hasSize((int) d.requestsArrived());
        assertThat(records.stream().filter(r -> r.outcome() == Outcome.FINISHED).count())
                .isEqualTo(d.requestsFinished());
        assertThat(records.stream()
                        .filter(r -> r.outcome() == Outcome.TIMED_OUT)
                        .count())
                .isEqualTo(d.requestsTimedOut());
        assertThat(records.stream().filter(r -> r.outcome() == Outcome.REJECTED).count())
                .isEqualTo(d.requestsRejected());
        assertThat(records.stream()
                        .filter(r -> r.outcome() == Outcome.UNFINISHED)
                        .count())
                .isEqualTo(d.requestsUnfinished());
    }

    @Test
    void overloadedDeploymentTimesOutRequestsAndCountsEveryRequestOnce() throws IOException {
        ClusterResult result = run(2_000, false);
        ClusterSummary.DeploymentSummary d = result.summary().deployments().get(0);
        List<RequestRecord> records = result.requests().get("d");

        assertThat(d.requestsTimedOut()).isPositive();
        assertThat(d.requestsFinished()).isPositive();
        assertThat(d.timedOutFraction())
                .isCloseTo((double) d.requestsTimedOut() / d.requestsArrived(), Assertions.within(1e-6));
        assertAccounted(d, records);
    }

    @Test
    void timedOutRequestsHaveNoFirstTokenAndFinishedOnesMetTheirDeadline() throws IOException {
        double maxTtftMs = 2_000;
        for (boolean drain : List.of(false, true)) {
            ClusterResult result = run(maxTtftMs, drain);
            List<RequestRecord> records = result.requests().get("d");

            assertThat(records)
                    .filteredOn(r -> r.outcome() == Outcome.TIMED_OUT)
                    .isNotEmpty()
                    .allSatisfy(r -> {
                        assertThat(r.firstTokenNs())
                                .as("request %d timed out", r.id())
                                .isEqualTo(-1);
                        assertThat(r.finishNs())
                                .as("request %d timed out", r.id())
                                .isEqualTo(-1);
                    });
            assertThat(records)
                    .filteredOn(r -> r.outcome() == Outcome.FINISHED)
                    .isNotEmpty()
                    .allSatisfy(r -> assertThat(r.firstTokenNs() - r.arrivalNs())
                            .as("TTFT of request %d", r.id())
                            .isLessThanOrEqualTo((long) (maxTtftMs * 1e6)));
            assertThat(records)
                    .filteredOn(r -> r.firstTokenNs() >= 0)
                    .allSatisfy(r -> assertThat(r.firstTokenNs() - r.arrivalNs())
                            .as("TTFT of request %d", r.id())
                            .isLessThanOrEqualTo((long) (maxTtftMs * 1e6)));
            assertAccounted(result.summary().deployments().get(0), records);
            if (drain) {
                assertThat(result.summary().deployments().get(0).requestsUnfinished())
                        .as("a drained run leaves nothing unfinished")
                        .isZero();
            }
        }
    }

    @Test
    void aHugeTtftLimitTimesNothingOut() throws IOException {
        ClusterResult result = run(1e12, true);
        ClusterSummary.DeploymentSummary d = result.summary().deployments().get(0);

        assertThat(d.requestsTimedOut()).isZero();
        assertThat(result.requests().get("d")).noneMatch(r -> r.outcome() == Outcome.TIMED_OUT);
        assertThat(d.requestsFinished() + d.requestsRejected()).isEqualTo(d.requestsArrived());
    }

    @Test
    void aRequestWhoseDeadlinePassesDuringAChunkOfItsPrefillLeavesAtThatStepsEnd() throws IOException {
        ResolvedCluster cluster = ClusterTestSupport.cluster("""
        pools: [{name: p, gpu: h100-sxm-80gb, gpus_per_node: 1}]
        deployments:
          - {name: d, model: llama-3.1-8b, pools: [p], max_ttft_ms: 300,
             replica: {max_num_batched_tokens: 512, max_model_len: 32768}}
        """);
        // a prompt of 60 chunks: its prefill takes far longer than 300 ms, so it times out in one of them;
        // the short request after it must not wait for the rest of that prefill
        List<Request> requests =
                List.of(Request.of(0, 0, null, 30_000, 10), Request.of(1, 500_000_000L, null, 100, 10));

        ClusterResult result =
                ClusterTestSupport.run(cluster, requests, RunOptions.defaults().withRecordRequests(true));
        List<RequestRecord> records = result.requests().get("d");

        assertThat(records.get(0).outcome()).isEqualTo(Outcome.TIMED_OUT);
        assertThat(records.get(1).outcome()).isEqualTo(Outcome.FINISHED);
        assertThat(records.get(1).firstTokenNs() - records.get(1).arrivalNs()).isLessThan(300_000_000L);
        ClusterSummary.DeploymentSummary d = result.summary().deployments().get(0);
        assertThat(d.steps())
                .as("no step after the timed-out request's deadline works on its prompt")
                .isLessThan(30_000 / 512);
    }
}
