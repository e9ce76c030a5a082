package io.twinserve.twin.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PlacementTest {

    /** Pools a (2 nodes of 4 GPUs) and b (1 node of 8); deployment 'x' of tp 2 prefers a, then b. */
    private static ResolvedCluster cluster() throws IOException {
        return ClusterTestSupport.cluster("""
        pools:
          - {name: a, gpu: h100-sxm-80gb, gpus_per_node: 4, nodes: 2}
          - {name: b, gpu: a100-sxm-80gb, gpus_per_node: 8}
        deployments: [{name: x, model: llama-3.1-8b, pools: [a, b], replica: {tp: 2}}]
        """);
    }

    @Test
    void fillsNodesFirstFitInThePoolsOrderOfPreference() throws IOException {
        ResolvedCluster cluster = cluster();
        List<ResolvedCluster.PoolOption> options = cluster.deployments().get(0).options();
        Placement placement = new Placement(cluster.pools());

        assertThat(placement.room(options)).isEqualTo(8);
        List<String> where = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            Placement.Slot slot = placement.allocate(options);
            where.add(cluster.pools().get(slot.option().pool()).spec().name() + slot.node());
        }

        assertThat(where).containsExactly("a0", "a0", "a1", "a1", "b0", "b0", "b0", "b0");
        assertThat(placement.allocate(options)).as("all GPUs held").isNull();
        assertThat(placement.room(options)).isZero();
        assertThat(placement.peakGpus(0)).isEqualTo(8);
        assertThat(placement.peakGpus(1)).isEqualTo(8);
    }

    @Test
    void releasedGpusAreReusedAndThePeakRemembersTheMost() throws IOException {
        ResolvedCluster cluster = cluster();
        List<ResolvedCluster.PoolOption> options = cluster.deployments().get(0).options();
        Placement placement = new Placement(cluster.pools());
        Placement.Slot first = placement.allocate(options);
        placement.allocate(options);
        placement.allocate(options);

        placement.release(first);

        assertThat(placement.room(options)).isEqualTo(6);
        Placement.Slot again = placement.allocate(options);
        assertThat(again.option().pool()).isZero();
        assertThat(again.node()).isEqualTo(first.node());
        assertThat(placement.peakGpus(0)).isEqualTo(6);
        assertThat(placement.peakGpus(1)).isZero();
    }
}
