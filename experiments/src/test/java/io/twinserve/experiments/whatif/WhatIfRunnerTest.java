package io.twinserve.experiments.whatif;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.twin.memory.InsufficientGpuMemoryException;
import io.twinserve.twin.profile.Profiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The what-if library as the command line and the server's jobs call it: typed runs, sweeps, checks, progress. */
class WhatIfRunnerTest {
    private static final String WORKLOAD = """
      name: small
      seed: 4
      duration_s: 60
      arrivals: {type: poisson, rate_tiers: [0.3, 0.1]}
      adapters: {count: 12, ranks: [8, 16]}
      lengths: {prompt: {type: lognormal, mean: 200, std: 150}, output: {type: lognormal, mean: 150, std: 100}}
      """;
    private static final String DEPLOYMENT = """
      model: llama-3.1-8b
      gpu: h100-64gb
      replica: {max_adapters: 8}
      """;

    private static ReplicaWhatIf whatIf(List<String> sweep) {
        return new ReplicaWhatIf(
                new SpecText(WORKLOAD, Path.of("w.yaml"), null),
                null,
                new SpecText(DEPLOYMENT, Path.of("d.yaml"), null),
                SpecSweep.parse(sweep),
                WhatIfOptions.defaults());
    }

    @Test
    void aSingleRunCarriesItsSummaryVerdictAndDocument() throws Exception {
        ReplicaOutcome o = new WhatIfRunner(Profiles.builtIn()).replica(whatIf(List.of()), Progress.NONE);
        assertThat(o.single()).isTrue();
        ReplicaRun run = o.only();
        assertThat(run.workloadName()).isEqualTo("small");
        assertThat(run.result().summary().requestsArrived()).isPositive();
        @SuppressWarnings("unchecked")
        Map<String, Object> doc = (Map<String, Object>) o.document();
        assertThat(doc)
                .containsKeys("settings", "workload", "deployment", "model", "gpu", "calibration", "slo", "summary")
                .containsEntry("model", "llama-3.1-8b");
    }

    @Test
    void aSweepRunsEveryConfigurationReportsProgressAndMarksTheOnesThatDoNotFit() throws Exception {
        List<Double> fractions = new ArrayList<>();
        ReplicaOutcome o = new WhatIfRunner(Profiles.builtIn())
                .replica(whatIf(List.of("replica.max_adapters=2,8,400")), (f, stage) -> fractions.add(f));
        assertThat(o.runs()).hasSize(3);
        assertThat(o.runs().get(2).error()).isInstanceOf(InsufficientGpuMemoryException.class);
        assertThat(o.best()).isBetween(0, 1);
        assertThat(fractions).containsExactly(1 / 3.0, 2 / 3.0, 1.0);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> docs = (List<Map<String, Object>>) o.document();
        assertThat(docs.get(2)).containsOnlyKeys("settings", "error", "best", "closest");
        assertThat(docs.stream().filter(d -> (Boolean) d.get("best") || (Boolean) d.get("closest")))
                .hasSize(1);
    }

    @Test
    void aSweepValueThatBreaksTheSpecNamesItsConfiguration() {
        assertThatThrownBy(() -> new WhatIfRunner(Profiles.builtIn())
                        .replica(whatIf(List.of("replica.max_adaptrs=2,8")), Progress.NONE))
                .isInstanceOf(SweepConfigurationException.class)
                .hasMessageStartingWith("configuration {replica.max_adaptrs=2}: --sweep replica.max_adaptrs=2:"
                        + " replica.max_adaptrs is not a known key; did you mean 'max_adapters'?")
                // the deployment file's line holds the original key, not the swept one
                .hasMessageNotContaining("d.yaml:");
        // a workload key swept without its prefix lands in the deployment: said so
        assertThatThrownBy(() -> new WhatIfRunner(Profiles.builtIn())
                        .replica(whatIf(List.of("lengths.prompt.mean=100,200")), Progress.NONE))
                .hasMessageContaining("--sweep lengths.prompt.mean=100: lengths is not a known key")
                .hasMessageContaining("'lengths' is a workload key: sweep it as workload.lengths.prompt.mean");
    }

    @Test
    void checkSweepRefusesUnknownKeysAndBadValuesBeforeAnythingRuns() {
        assertThatThrownBy(() -> WhatIfRunner.checkSweep(whatIf(List.of("replica.max_adaptrs=2,8"))))
                .isInstanceOfSatisfying(InvalidSweepException.class, e -> {
                    assertThat(e.key()).isEqualTo("replica.max_adaptrs");
                    assertThat(e.problem())
                            .startsWith("replica.max_adaptrs is not a known key; did you mean 'max_adapters'?");
                });
        assertThatThrownBy(() -> WhatIfRunner.checkSweep(whatIf(List.of("workload.adapters.count=12,lots"))))
                .isInstanceOfSatisfying(
                        InvalidSweepException.class, e -> assertThat(e.key()).isEqualTo("workload.adapters.count"));
        WhatIfRunner.checkSweep(whatIf(List.of("replica.max_adapters=2,8", "workload.adapters.count=6,12")));
    }

    @Test
    void checkSweepOfAClusterNamesAListIndexItLacks() {
        SpecText cluster = new SpecText("""
        pools: [{name: h100, gpu: h100-sxm-80gb, gpus_per_node: 2, nodes: 1}]
        deployments: [{name: chat, model: llama-3.1-8b, pools: [h100]}]
        """, Path.of("c.yaml"), null);
        ClusterWhatIf q = new ClusterWhatIf(
                cluster, null, SpecSweep.parse(List.of("deployments[1].router.type=x")), WhatIfOptions.defaults());
        assertThatThrownBy(() -> WhatIfRunner.checkSweep(q))
                .isInstanceOf(InvalidSweepException.class)
                .hasMessage("sweep key 'deployments[1].router.type': the cluster spec has no deployments[1]");
    }
}
