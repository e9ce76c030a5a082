package io.twinserve.twin.capacity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.traces.spec.SloSpec;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.cluster.ClusterSummary;
import io.twinserve.twin.profile.Profiles;
import io.twinserve.twin.slo.SloVerdict;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CapacitySearchTest {
    @TempDir
    Path dir;

    private CapacitySearch search(String extra) throws Exception {
        Files.writeString(dir.resolve("w.yaml"), """
        seed: 3
        duration_s: 60
        arrivals: {type: poisson, rate: 2}
        adapters: {count: 8, ranks: [8]}
        lengths:
          prompt: {type: lognormal, mean: 800, std: 400}
          output: {type: lognormal, mean: 150, std: 100}
          max_prompt: 4096
          max_output: 512
        """);
        CapacitySpec spec = WorkloadSpecs.parse("""
        workload: w.yaml
        model: llama-3.1-8b
        replica: {max_num_seqs: 64}
        pools:
          - {name: big, gpu: h100-sxm-80gb, gpus_per_node: 2, nodes: 1, cost_per_gpu_hour: 3}
          - {name: small, gpu: l4, gpus_per_node: 2, nodes: 1, cost_per_gpu_hour: 0.8}
        max_ttft_ms: 10000
        slo: {ttft_p90_ms: 1500, max_timed_out_fraction: 0.0}
        rate: {target_scale: 0.9, min_scale: 0.5, max_scale: 32, step: 1.4}
        """ + extra, dir.resolve("c.yaml"), CapacitySpec.class);
        return new CapacitySearch(spec, dir, Profiles.builtIn());
    }

    @Test
    void aWorkloadSpecGivenAsACapacitySpecSaysWhatItLooksLike() {
        assertThatThrownBy(() -> WorkloadSpecs.parse("""
                        name: chat
                        duration_s: 60
                        arrivals: {type: poisson, rate: 2}
                        adapters: {count: 8, ranks: [8]}
                        """, Path.of("w.yaml"), CapacitySpec.class))
                .isInstanceOf(SpecException.class)
                .hasMessageStartingWith("w.yaml:2: duration_s is not a known key")
                .hasMessageEndingWith(
                        "; the file looks like a workload spec (it has duration_s, arrivals, adapters), not a"
                                + " capacity spec");
    }

    @Test
    void theSpecsBoundsOverrideTheWorkloadsAndTheDefaults() throws Exception {
        CapacitySearch s = search("");
        assertThat(s.slo()).isEqualTo(new SloSpec(1500.0, 5000.0, 200.0, 0.0, 0.95, true));
    }

    @Test
    void binarySearchFindsTheSameRateAsABruteForceScanOfEveryRung() throws Exception {
        CapacitySearch s = search("search: {pools: [big, small], replicas: [1, 2]}\n");
        List<CapacitySearch.Candidate> candidates = s.candidates();
        assertThat(candidates).hasSize(4);
        CapacitySpec.RateSpec rate = new CapacitySpec.RateSpec(0.9, 0.5, 32.0, 1.4);
        double[] ladder = rate.ladder();
        int found = 0;
        for (CapacitySearch.Candidate c : candidates) {
            CapacitySearch.CandidateResult r = s.evaluate(c);
            if (r.error() != null) {
                assertThat(c.gpu())
                        .as("only the 24 GB L4 cannot hold the model")
                        .isEqualTo("l4");
                continue;
            }
            Double brute = null;
            boolean monotone = true;
            boolean failedBefore = false;
            for (double scale : ladder) {
                ClusterSummary.DeploymentSummary d = s.probe(c, scale);
                boolean meets = SloVerdict.of(s.slo(), d, true).met();
                if (meets) {
                    brute = scale;
                    monotone &= !failedBefore;
                } else {
                    failedBefore = true;
                }
            }
            assertThat(monotone).as("SLO attainment falls with rate for %s", c).isTrue();
            assertThat(r.sustainableScale()).as("candidate %s", c).isEqualTo(brute);
            assertThat(r.probes().size()).isLessThan(ladder.length);
            if (brute != null) {
                found++;
                assertThat(r.meetsTarget()).isEqualTo(brute >= 0.9);
            }
        }
        assertThat(found).as("some candidate sustains some rate").isGreaterThan(0);
    }

    @Test
    void ranksCandidatesThatMeetTheTargetCheapestFirstAndMarksTheParetoSet() throws Exception {
        CapacitySearch.Result r = search("search: {pools: [big, small], tp: [1, 2], replicas: [1, 2]}\n")
                .run(2, n -> {});
        List<CapacitySearch.CandidateResult> c = r.candidates();
        int firstNotMeeting = c.size();
        for (int i = 0; i < c.size(); i++) {
            if (!c.get(i).meetsTarget()) {
                firstNotMeeting = Math.min(firstNotMeeting, i);
            } else {
                assertThat(i).as("meeting candidates come first").isLessThan(firstNotMeeting);
            }
        }
        for (int i = 1; i < firstNotMeeting; i++) {
            assertThat(c.get(i).candidate().costPerHour())
                    .isGreaterThanOrEqualTo(c.get(i - 1).candidate().costPerHour());
        }
        assertThat(firstNotMeeting).as("some candidate meets the target").isGreaterThan(0);
        for (CapacitySearch.CandidateResult a : c) {
            if (a.sustainableRequestsPerS() == null) {
                assertThat(a.pareto()).isFalse();
                continue;
            }
            boolean dominated = c.stream()
                    .anyMatch(b -> b != a
                            && b.sustainableRequestsPerS() != null
                            && b.candidate().costPerHour() <= a.candidate().costPerHour()
                            && b.sustainableRequestsPerS() >= a.sustainableRequestsPerS()
                            && (b.candidate().costPerHour() < a.candidate().costPerHour()
                                    || b.sustainableRequestsPerS() > a.sustainableRequestsPerS()));
            assertThat(a.pareto()).as("pareto flag of %s", a.candidate()).isEqualTo(!dominated);
        }
    }

    @Test
    void reportsCandidatesThatCannotBePlacedWithTheReason() throws Exception {
        CapacitySearch.Result r =
                search("search: {pools: [small], tp: [4], replicas: [1]}\n").run(1, n -> {});
        assertThat(r.candidates()).hasSize(1);
        assertThat(r.candidates().get(0).error()).contains("tp 4 needs 4 GPUs in one node");
        assertThat(r.candidates().get(0).sustainableScale()).isNull();
    }

    @Test
    void theLadderHoldsTheTargetScale() {
        double[] ladder = new CapacitySpec.RateSpec(3.0, 0.5, 8.0, 1.5).ladder();
        assertThat(ladder).contains(3.0, 0.5);
        for (int i = 1; i < ladder.length; i++) {
            assertThat(ladder[i]).isGreaterThan(ladder[i - 1]);
        }
        assertThat(ladder[ladder.length - 1]).isLessThanOrEqualTo(8.0);
    }
}
