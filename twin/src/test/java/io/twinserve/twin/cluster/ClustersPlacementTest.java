package io.twinserve.twin.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.traces.spec.SpecException;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** Clusters that cannot be placed are refused at resolve, naming the deployment and the reason. */
class ClustersPlacementTest {

    @Test
    void refusesATpLargerThanTheNodesOfEveryPool() {
        assertThatThrownBy(() -> ClusterTestSupport.cluster("""
        pools: [{name: small, gpu: h100-sxm-80gb, gpus_per_node: 4, nodes: 4}]
        deployments: [{name: big, model: llama-3.1-8b, pools: [small], replica: {tp: 8}}]
        """))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("deployments[0]")
                .hasMessageContaining("'big'")
                .hasMessageContaining("tp 8 needs 8 GPUs in one node, but its nodes have 4");
    }

    @Test
    void placesOnTheNextPoolWhenTheFirstHasTooSmallNodes() throws IOException {
        ResolvedCluster cluster = ClusterTestSupport.cluster("""
        pools:
          - {name: small, gpu: h100-sxm-80gb, gpus_per_node: 2}
          - {name: large, gpu: h100-sxm-80gb, gpus_per_node: 8}
        deployments: [{name: big, model: llama-3.1-8b, pools: [small, large], replica: {tp: 4}}]
        """);

        assertThat(cluster.deployments().get(0).options())
                .extracting(ResolvedCluster.PoolOption::pool)
                .containsExactly(1);
    }

    @Test
    void refusesMoreInitialReplicasThanThePoolsHold() {
        assertThatThrownBy(() -> ClusterTestSupport.cluster("""
        pools: [{name: p, gpu: h100-sxm-80gb, gpus_per_node: 4, nodes: 2}]
        deployments: [{name: chat, model: llama-3.1-8b, pools: [p], replicas: {initial: 5}, replica: {tp: 2}}]
        """))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("deployments[0].replicas")
                .hasMessageContaining("'chat'")
                .hasMessageContaining("5 replicas of tp 2")
                .hasMessageContaining("hold at most 4");
    }

    @Test
    void refusesInitialReplicasThatDoNotFitBesideAnotherDeploymentOfTheSamePool() {
        assertThatThrownBy(() -> ClusterTestSupport.cluster("""
        pools: [{name: p, gpu: h100-sxm-80gb, gpus_per_node: 8}]
        deployments:
          - {name: first, model: llama-3.1-8b, pools: [p], replicas: {initial: 5}}
          - {name: second, model: llama-3.1-8b, pools: [p], replicas: {initial: 2}, replica: {tp: 2}}
        """))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("deployments[1].replicas")
                .hasMessageContaining("'second' starts 2 replicas of tp 2, but only 1 fit")
                .hasMessageContaining("beside the deployments before it");
    }

    @Test
    void acceptsDeploymentsThatShareAPoolExactly() throws IOException {
        ResolvedCluster cluster = ClusterTestSupport.cluster("""
        pools: [{name: p, gpu: h100-sxm-80gb, gpus_per_node: 8}]
        deployments:
          - {name: first, model: llama-3.1-8b, pools: [p], replicas: {initial: 4}}
          - {name: second, model: llama-3.1-8b, pools: [p], replicas: {initial: 2}, replica: {tp: 2}}
        """);

        assertThat(cluster.deployments()).hasSize(2);
    }

    @Test
    void refusesAReplicasMaxAboveWhatThePoolsHold() {
        assertThatThrownBy(() -> ClusterTestSupport.cluster("""
        pools:
          - {name: a, gpu: h100-sxm-80gb, gpus_per_node: 8}
          - {name: b, gpu: h100-sxm-80gb, gpus_per_node: 4}
        deployments:
          - {name: elastic, model: llama-3.1-8b, pools: [a, b], replicas: {min: 1, max: 7},
             replica: {tp: 2}, autoscaler: {type: reactive}}
        """))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("deployments[0].replicas")
                .hasMessageContaining("'elastic' asks for up to 7 replicas of tp 2")
                .hasMessageContaining("(a, b) hold at most 6");
    }

    @Test
    void refusesAModelThatDoesNotFitEvenAtTheHighestTpANodeAllows() {
        assertThatThrownBy(() -> ClusterTestSupport.cluster("""
        pools: [{name: l4s, gpu: l4, gpus_per_node: 2, nodes: 4}]
        deployments: [{name: large, model: llama-3.1-70b, pools: [l4s]}]
        """))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("deployments[0]")
                .hasMessageContaining("'large' cannot be placed on any of its pools")
                .hasMessageContaining("pool l4s (l4)")
                .hasMessageContaining("it does not fit even at tp 2, the highest a node of 2 GPUs allows");
    }

    @Test
    void saysAModelThatDoesNotFitWouldFitAtAHigherTp() {
        assertThatThrownBy(() -> ClusterTestSupport.cluster("""
        pools: [{name: h100, gpu: h100-sxm-80gb, gpus_per_node: 8}]
        deployments: [{name: large, model: llama-3.1-70b, pools: [h100]}]
        """))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("'large' cannot be placed on any of its pools")
                .hasMessageContaining("pool h100 (h100-sxm-80gb)")
                .hasMessageContaining("it fits at tp 8");
    }

    @Test
    void refusesAnUnknownPoolInADeploymentsPools() {
        assertThatThrownBy(() -> ClusterTestSupport.cluster("""
        pools: [{name: h100, gpu: h100-sxm-80gb}]
        deployments: [{name: chat, model: llama-3.1-8b, pools: [h100, h200]}]
        """))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("deployments[0].pools[1]")
                .hasMessageContaining("'h200' is not a pool of this cluster; pools: h100");
    }

    @Test
    void refusesTwoDeploymentsOfTheSameName() {
        assertThatThrownBy(() -> ClusterTestSupport.cluster("""
        pools: [{name: h100, gpu: h100-sxm-80gb}]
        deployments:
          - {name: chat, model: llama-3.1-8b, pools: [h100]}
          - {name: chat, model: llama-3.2-1b, pools: [h100]}
        """))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("deployments[1].name")
                .hasMessageContaining("'chat' names two deployments");
    }

    @Test
    void refusesTwoPoolsOfTheSameName() {
        assertThatThrownBy(() -> ClusterTestSupport.cluster("""
        pools:
          - {name: gpus, gpu: h100-sxm-80gb}
          - {name: gpus, gpu: a100-sxm-80gb}
        deployments: [{name: chat, model: llama-3.1-8b, pools: [gpus]}]
        """))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("pools[1].name")
                .hasMessageContaining("'gpus' names two pools");
    }

    @Test
    void refusesAnUnknownGpuInAPool() {
        assertThatThrownBy(() -> ClusterTestSupport.cluster("""
        pools: [{name: p, gpu: h900}]
        deployments: [{name: chat, model: llama-3.1-8b, pools: [p]}]
        """))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("pools[0].gpu")
                .hasMessageContaining("h900");
    }
}
