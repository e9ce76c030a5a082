package io.twinserve.experiments.whatif;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.traces.spec.SpecException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Sweeps over spec keys: the cartesian product in order, values with lists, and edits at key paths. */
class SpecSweepTest {

    @Test
    void expandsTheCartesianProductWithTheLastKeyVaryingFastest() {
        SpecSweep s = SpecSweep.parse(List.of("replica.max_adapters=8, 16", "workload.adapters.count=48,96"));
        assertThat(s.configurations())
                .containsExactly(
                        Map.of("replica.max_adapters", "8", "workload.adapters.count", "48"),
                        Map.of("replica.max_adapters", "8", "workload.adapters.count", "96"),
                        Map.of("replica.max_adapters", "16", "workload.adapters.count", "48"),
                        Map.of("replica.max_adapters", "16", "workload.adapters.count", "96"));
        assertThat(SpecSweep.none().configurations()).containsExactly(Map.of());
    }

    @Test
    void keepsCommasInsideBracketsInOneValue() {
        SpecSweep s = SpecSweep.parse(List.of("arrivals.rate_tiers=[0.2,0.1],[0.4,0.2]"));
        assertThat(s.axes().get(0).values()).containsExactly("[0.2,0.1]", "[0.4,0.2]");
    }

    @Test
    void refusesAnAssignmentWithoutValuesOrWithUnbalancedBrackets() {
        assertThatThrownBy(() -> SpecSweep.parse(List.of("replica.max_adapters")))
                .hasMessage("--sweep: expected KEY=V1,V2,..., got 'replica.max_adapters'");
        assertThatThrownBy(() -> SpecSweep.parse(List.of("replica.max_adapters=")))
                .hasMessageContaining("expected KEY=V1,V2");
        assertThatThrownBy(() -> SpecSweep.parse(List.of("a=[1,2")))
                .hasMessageContaining("unbalanced brackets in '[1,2'");
    }

    @Test
    void editsOnlyTheKeysOfEachDocumentOfASingleReplicaWhatIf() throws Exception {
        Map<String, String> settings = Map.of("replica.max_adapters", "32", "workload.adapters.count", "12");
        String deployment = SpecSweep.editReplicaSpec("model: m\nreplica: {max_adapters: 8}\n", settings, false);
        assertThat(deployment).contains("max_adapters: 32").doesNotContain("count");
        String workload = SpecSweep.editReplicaSpec("adapters: {count: 96}\n", settings, true);
        assertThat(workload).contains("count: 12").doesNotContain("max_adapters");
        assertThat(SpecSweep.editReplicaSpec("gpu: g\n", Map.of("deployment.gpu", "h100"), false))
                .contains("gpu: \"h100\"");
        assertThatThrownBy(() -> SpecSweep.editReplicaSpec(
                        "replica: {max_adapters: 8}\n", Map.of("replica.max_adapters.x", "1"), false))
                .isInstanceOf(SpecException.class)
                .hasMessage("--sweep replica.max_adapters.x 'max_adapters' is not a mapping in the deployment");
    }

    @Test
    void setsClusterKeyPathsThatIndexListsAndNamesAMissingIndex() throws Exception {
        String yaml = "deployments:\n  - {name: a, router: {type: round_robin}}\n";
        assertThat(SpecSweep.editCluster(yaml, Map.of("deployments[0].router.type", "cache_aware")))
                .contains("type: \"cache_aware\"")
                .doesNotContain("round_robin");
        assertThatThrownBy(() -> SpecSweep.editCluster(yaml, Map.of("deployments[2].router.type", "x")))
                .isInstanceOf(SpecException.class)
                .hasMessage("--sweep deployments[2].router.type the cluster spec has no" + " deployments[2]");
        assertThatThrownBy(() -> SpecSweep.editCluster(yaml, Map.of("deployments[x].name", "b")))
                .hasMessageContaining("'deployments[x]' should look like name[index]");
    }
}
