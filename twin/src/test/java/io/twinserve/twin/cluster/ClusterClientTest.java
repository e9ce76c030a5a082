package io.twinserve.twin.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.metrics.ClientSummary;
import io.twinserve.twin.metrics.RequestRecord;
import io.twinserve.twin.metrics.RequestRecord.Outcome;
import io.twinserve.twin.profile.Profiles;
import io.twinserve.twin.sim.ReferenceReplicaLoop;
import io.twinserve.twin.sim.RunOptions;
import io.twinserve.twin.sim.RunResult;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Cluster runs behind a benchmark client: the same client as a single replica's, and 408s from the send. */
class ClusterClientTest {
    private static final String REPLICA = "{max_adapters: 4, max_cpu_adapters: 8, max_num_seqs: 32}";

    private static final String OVERLOAD = """
      seed: 21
      duration_s: 60
      arrivals: {type: poisson, rate: 12}
      adapters: {count: 8, ranks: [8, 16], popularity: {type: zipf, exponent: 1.0}, base_share: 0.2}
      lengths:
        prompt: {type: lognormal, mean: 1500, std: 800}
        output: {type: lognormal, mean: 300, std: 200}
        max_prompt: 6000
        max_output: 1500
      %s
      """;

    private static ResolvedCluster oneReplica(double maxTtftMs) throws IOException {
        return ClusterTestSupport.cluster("""
        pools: [{name: p, gpu: h100-sxm-80gb, gpus_per_node: 1, nodes: 1}]
        deployments:
          - {name: d, model: llama-3.1-8b, pools: [p], router: {type: round_robin}, max_ttft_ms: %s,
             replica: %s}
        """.formatted(maxTtftMs, REPLICA));
    }

    private static void assertSameAsSingleReplica(String client) throws IOException {
        ResolvedReplica single =
                Deployments.resolve(Deployments.parse("""
        model: llama-3.1-8b
        gpu: h100-sxm-80gb
        replica: %s
        """.formatted(REPLICA), Path.of("d.yaml")), Profiles.builtIn());
        RunOptions options =
                RunOptions.defaults().withRecordRequests(true).withDrain(true).withWindowNs(40_000_000_000L);
        String workload = OVERLOAD.formatted(client);
        WorkloadGenerator g1 = ClusterTestSupport.workload(workload);
        RunResult expected = new ReferenceReplicaLoop(single, ClusterTestSupport.ranks(g1)).run(g1, options);
        ClusterResult actual =
                ClusterTestSupport.run(oneReplica(1.0e12), ClusterTestSupport.workload(workload), options);

        assertThat(expected.summary().client().waited())
                .as("the client holds requests back")
                .isPositive();
        List<RequestRecord> records = actual.requests().get("d");
        assertThat(records).hasSizeGreaterThan(40).isEqualTo(expected.requests());
        ClusterSummary.DeploymentSummary d = actual.summary().deployments().get(0);
        assertThat(d.ttft()).isEqualTo(expected.summary().ttft());
        assertThat(d.ttftFromIntended()).isEqualTo(expected.summary().ttftFromIntended());
        assertThat(d.steps()).isEqualTo(expected.summary().steps());
        assertThat(actual.summary().clients()).singleElement().satisfies(c -> {
            assertThat(c.traffic()).isZero();
            assertThat(c.deployment()).isEqualTo("d");
            assertThat(c.client()).isEqualTo(expected.summary().client());
        });
    }

    @Test
    void oneReplicaClusterWithACapMatchesTheSingleReplicaRun() throws IOException {
        assertSameAsSingleReplica("client: {max_outstanding: 12}");
    }

    @Test
    void oneReplicaClusterWithClosedLoopUsersMatchesTheSingleReplicaRun() throws IOException {
        assertSameAsSingleReplica(
                "client: {users: 40, think_time_s: {type: exponential, mean: 1}, max_outstanding: 30}");
    }

    @Test
    void withoutAClientTheClusterReportsNoClientFigures() throws IOException {
        ClusterResult r = ClusterTestSupport.run(
                oneReplica(1.0e12),
                ClusterTestSupport.workload(OVERLOAD.formatted("")),
                RunOptions.defaults().withWindowNs(10_000_000_000L));
        assertThat(r.summary().clients()).isNull();
        assertThat(r.summary().deployments().get(0).ttftFromIntended()).isNull();
    }

    /**
     * The server knows only when a request arrived, so max_ttft_ms counts from the send: requests that
     * waited at the client longer than the deadline are still served, and a 408 frees the client's slot.
     */
    @Test
    void ttftDeadlineCountsFromTheSendNotFromTheIntendedTime() throws IOException {
        double maxTtftMs = 3_000;
        ClusterResult result = ClusterTestSupport.run(
                oneReplica(maxTtftMs),
                ClusterTestSupport.workload(OVERLOAD.formatted("client: {max_outstanding: 48}")),
                RunOptions.defaults()
                        .withRecordRequests(true)
                        .withWindowNs(60_000_000_000L)
                        .withDrain(true));
        List<RequestRecord> records = result.requests().get("d");
        long servedDespiteLongClientWait = 0;
        for (RequestRecord r : records) {
            if (r.outcome() == Outcome.FINISHED) {
                assertThat(r.firstTokenNs() - r.arrivalNs())
                        .as("request %d", r.id())
                        .isLessThanOrEqualTo((long) (maxTtftMs * 1e6));
                if (r.firstTokenNs() - r.intendedNs() > maxTtftMs * 1e6) {
                    servedDespiteLongClientWait++;
                }
            }
        }
        assertThat(servedDespiteLongClientWait).isPositive();
        ClusterSummary.DeploymentSummary d = result.summary().deployments().get(0);
        assertThat(d.requestsTimedOut())
                .as("the server is overloaded even behind the cap")
                .isPositive();
        assertThat(d.requestsFinished() + d.requestsTimedOut() + d.requestsRejected())
                .isEqualTo(d.requestsArrived());
        ClientSummary c = result.summary().clients().get(0).client();
        assertThat(c.sent()).isEqualTo(d.requestsArrived());
        assertThat(c.peakOutstanding()).isLessThanOrEqualTo(48);
    }
}
