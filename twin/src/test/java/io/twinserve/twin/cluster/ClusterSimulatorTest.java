package io.twinserve.twin.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.metrics.RequestRecord;
import io.twinserve.twin.profile.Profiles;
import io.twinserve.twin.sim.ReferenceReplicaLoop;
import io.twinserve.twin.sim.RunOptions;
import io.twinserve.twin.sim.RunResult;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClusterSimulatorTest {

    @Test
    void oneReplicaClusterReproducesTheSingleReplicaRunRequestForRequest() throws Exception {
        String replica = "{max_adapters: 4, max_cpu_adapters: 8, max_num_seqs: 64}";
        ResolvedReplica single =
                Deployments.resolve(Deployments.parse("""
        model: llama-3.1-8b
        gpu: h100-sxm-80gb
        replica: %s
        """.formatted(replica), Path.of("d.yaml")), Profiles.builtIn());
        ResolvedCluster cluster = ClusterTestSupport.cluster("""
        pools: [{name: p, gpu: h100-sxm-80gb, gpus_per_node: 1, nodes: 1}]
        deployments:
          - {name: d, model: llama-3.1-8b, pools: [p], router: {type: round_robin}, max_ttft_ms: 1.0e12,
             replica: %s}
        """.formatted(replica));
        RunOptions options =
                RunOptions.defaults().withRecordRequests(true).withDrain(true).withWindowNs(200_000_000_000L);
        WorkloadGenerator g1 = ClusterTestSupport.workload(ClusterTestSupport.CHAT);
        RunResult expected = new ReferenceReplicaLoop(single, ClusterTestSupport.ranks(g1)).run(g1, options);
        ClusterResult actual =
                ClusterTestSupport.run(cluster, ClusterTestSupport.workload(ClusterTestSupport.CHAT), options);

        List<RequestRecord> records = actual.requests().get("d");
        assertThat(records).hasSizeGreaterThan(500);
        assertThat(records).isEqualTo(expected.requests());
        ClusterSummary.DeploymentSummary d = actual.summary().deployments().get(0);
        assertThat(d.ttft()).isEqualTo(expected.summary().ttft());
        assertThat(d.itl()).isEqualTo(expected.summary().itl());
        assertThat(d.achieved()).isEqualTo(expected.summary().achieved());
        assertThat(d.kvHitRate()).isEqualTo(expected.summary().kvHitRate());
        assertThat(d.steps()).isEqualTo(expected.summary().steps());
    }
}
