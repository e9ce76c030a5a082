package io.twinserve.twin.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.api.Assertions.withinPercentage;

import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.metrics.RequestRecord;
import io.twinserve.twin.profile.Profiles;
import io.twinserve.twin.sim.ReferenceReplicaLoop;
import io.twinserve.twin.sim.RunOptions;
import io.twinserve.twin.sim.RunResult;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * How long a run lasts: without a window until its last request ends (the makespan), with a drained
 * window until the last request after the window ends, as a single-replica run. Pending timers (TTFT
 * deadlines of requests answered long ago, autoscaler ticks) do not stretch it.
 */
class ClusterRunLengthTest {
    private static final String REPLICA = "{max_adapters: 4, max_cpu_adapters: 8, max_num_seqs: 64}";

    private static ResolvedReplica single() throws IOException {
        return Deployments.resolve(Deployments.parse("""
        model: llama-3.1-8b
        gpu: h100-sxm-80gb
        replica: %s
        """.formatted(REPLICA), Path.of("d.yaml")), Profiles.builtIn());
    }

    private static ResolvedCluster oneReplica(String maxTtftMs) throws IOException {
        return ClusterTestSupport.cluster("""
        pools: [{name: p, gpu: h100-sxm-80gb, gpus_per_node: 1}]
        deployments:
          - {name: d, model: llama-3.1-8b, pools: [p], router: {type: round_robin}, max_ttft_ms: %s, replica: %s}
        """.formatted(maxTtftMs, REPLICA));
    }

    // what one replica serves without a queue building up: no request comes near a 60 s TTFT limit
    private static final String LIGHT = """
      seed: 5
      duration_s: 200
      arrivals: {type: poisson, rate: 0.5}
      adapters: {count: 4, ranks: [8, 16], popularity: {type: zipf, exponent: 1.0}, base_share: 0.2}
      lengths:
        prompt: {type: lognormal, mean: 400, std: 300}
        output: {type: lognormal, mean: 200, std: 150}
        max_prompt: 4096
        max_output: 1024
      sessions:
        turns: {type: uniform, min: 2, max: 6}
        think_time_s: {type: exponential, mean: 10}
        block_size: 16
      """;

    private static RunResult singleRun(String workload, RunOptions options) throws IOException {
        WorkloadGenerator g = ClusterTestSupport.workload(workload);
        return new ReferenceReplicaLoop(single(), ClusterTestSupport.ranks(g)).run(g, options);
    }

    @Test
    void withoutAWindowARunLastsUntilItsLastRequestEndsWhateverTheTtftLimit() throws IOException {
        RunOptions options = RunOptions.defaults().withRecordRequests(true);
        RunResult expected = singleRun(LIGHT, options);
        long makespanNs = expected.requests().stream()
                .mapToLong(RequestRecord::finishNs)
                .max()
                .orElseThrow();

        // 60 s is the default limit; 1e9 ms is about 11 days
        for (String maxTtftMs : List.of("60000", "1.0e9")) {
            ClusterResult actual =
                    ClusterTestSupport.run(oneReplica(maxTtftMs), ClusterTestSupport.workload(LIGHT), options);
            ClusterSummary.DeploymentSummary d = actual.summary().deployments().get(0);

            assertThat(d.requestsTimedOut()).isZero();
            assertThat(actual.requests().get("d")).isEqualTo(expected.requests());
            assertThat(actual.summary().windowS())
                    .as("window with max_ttft_ms %s", maxTtftMs)
                    .isEqualTo(expected.summary().windowS())
                    .isCloseTo(makespanNs / 1e9, within(1e-6));
            assertThat(d.achieved()).isEqualTo(expected.summary().achieved());
            assertThat(d.offered()).isEqualTo(expected.summary().offered());
            assertThat(d.meanRunning()).isEqualTo(expected.summary().meanRunning());
            assertThat(d.gpuHours()).isCloseTo(makespanNs / 3.6e12, within(1e-6));
        }
    }

    @Test
    void aDrainedRunEndsWithItsLastRequestAfterTheWindowWhateverTheTtftLimit() throws IOException {
        RunOptions options =
                RunOptions.defaults().withRecordRequests(true).withDrain(true).withWindowNs(200_000_000_000L);
        RunResult expected = singleRun(ClusterTestSupport.CHAT, options);

        ClusterResult actual = ClusterTestSupport.run(
                oneReplica("1.0e9"), ClusterTestSupport.workload(ClusterTestSupport.CHAT), options);
        ClusterSummary.DeploymentSummary d = actual.summary().deployments().get(0);

        assertThat(actual.summary().windowS()).isEqualTo(200);
        // time-weighted figures average over the run's real length: the replica is busy to the end
        assertThat(d.meanRunning()).isEqualTo(expected.summary().meanRunning());
        assertThat(d.meanWaiting()).isCloseTo(expected.summary().meanWaiting(), withinPercentage(1));
        assertThat(d.replicas().mean()).isEqualTo(1.0);
        assertThat(d.replicaDetails().get(0).busyFraction()).isGreaterThan(0.9);
    }

    // more than the replica serves, through a client that keeps at most 8 requests outstanding: at the window's end
    // requests meant for before it are still held back at the client
    private static final String CAPPED = """
      seed: 9
      duration_s: 200
      arrivals: {type: poisson, rate: 20}
      adapters: {count: 4, ranks: [8, 16]}
      lengths:
        prompt: {type: lognormal, mean: 400, std: 300}
        output: {type: lognormal, mean: 300, std: 150}
        max_prompt: 4096
        max_output: 1024
      client: {max_outstanding: 8}
      """;

    @Test
    void aDrainedRunOfACappedClientEndsWithItsLastRequestAfterTheWindow() throws IOException {
        RunOptions options =
                RunOptions.defaults().withRecordRequests(true).withDrain(true).withWindowNs(200_000_000_000L);
        ClusterSummary.DeploymentSummary sixty = ClusterTestSupport.run(
                        oneReplica("60000"), ClusterTestSupport.workload(CAPPED), options)
                .summary()
                .deployments()
                .get(0);
        ClusterSummary.DeploymentSummary days = ClusterTestSupport.run(
                        oneReplica("1.0e9"), ClusterTestSupport.workload(CAPPED), options)
                .summary()
                .deployments()
                .get(0);
        // the held-back requests are never sent after the window, so the run ends with the last one in flight,
        // not with the deadlines of requests answered long before (which a one-minute or an 11-day limit leaves)
        assertThat(sixty.replicaDetails().get(0).busyFraction()).isGreaterThan(0.9);
        assertThat(days.replicaDetails().get(0).busyFraction()).isGreaterThan(0.9);
        assertThat(days.meanRunning()).isEqualTo(sixty.meanRunning());
    }

    /**
     * A replica busy from its first request to the window's end has a step under way when the run stops; that step
     * counts up to the end, so its busy fraction is at most 1 (it was above 1 by the step's tail).
     */
    @Test
    void aReplicaBusyToTheEndOfTheWindowIsBusyAtMostAllOfIt() throws IOException {
        List<io.twinserve.traces.Request> burst = new java.util.ArrayList<>();
        for (int i = 0; i < 300; i++) {
            burst.add(new io.twinserve.traces.Request(
                    i, 0, null, io.twinserve.traces.Request.NO_TURN, null, 1000, 1500, 0, null));
        }
        ClusterSummary.DeploymentSummary d = ClusterTestSupport.run(
                        oneReplica("1.0e9"), burst, RunOptions.defaults().withWindowNs(20_000_000_000L))
                .summary()
                .deployments()
                .get(0);
        assertThat(d.requestsUnfinished()).as("still busy at the end").isPositive();
        assertThat(d.replicaDetails().get(0).busyFraction()).isEqualTo(1.0);
    }
}
