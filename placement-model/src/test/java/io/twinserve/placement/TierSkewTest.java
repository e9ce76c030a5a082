package io.twinserve.placement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.twinserve.traces.gen.Adapter;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.ArrivalsSpec;
import io.twinserve.traces.spec.PopularitySpec;
import io.twinserve.traces.spec.SloSpec;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.profile.Profiles;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.assertj.core.data.Percentage;
import org.junit.jupiter.api.Test;

/** Popularity within the tiers: the sweeps' profile, its estimate from a workload, and the grid axis. */
class TierSkewTest {
    private static final double[] TIERS = {0.4, 0.1, 0.025};

    @Test
    void theProfileKeepsEachTiersMeanAndPutsItsShareInTheBusiestTenth() {
        for (int served : new int[] {30, 90, 300}) {
            for (double s : new double[] {0, 0.5, 0.8}) {
                double[] r = Scenario.adapterRates(served, TIERS, s);
                int m = served / 3;
                for (int t = 0; t < 3; t++) {
                    double sum = 0;
                    double top = 0;
                    for (int j = 0; j < m; j++) {
                        sum += r[t * m + j];
                        top += j < m / 10 ? r[t * m + j] : 0;
                        if (j > 0) {
                            assertThat(r[t * m + j])
                                    .as("busiest first")
                                    .isLessThanOrEqualTo(r[t * m + j - 1] * (1 + 1e-12));
                        }
                    }
                    assertThat(sum / m).isCloseTo(TIERS[t], within(1e-12));
                    assertThat(top / sum)
                            .as("served %d, skew %s", served, s)
                            .isCloseTo(Math.pow(0.1, 1 - s), within(1e-9));
                }
                assertThat(Scenario.requestRate(served, TIERS))
                        .isCloseTo(Arrays.stream(r).sum(), within(1e-9));
            }
        }
        // uneven thirds split as the generator splits them: 16 adapters are 6, 5 and 5
        double[] r = Scenario.adapterRates(16, TIERS, 0);
        assertThat(r)
                .containsExactly(
                        0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.1, 0.1, 0.1, 0.1, 0.1, 0.025, 0.025, 0.025, 0.025, 0.025);
    }

    @Test
    void theEstimateRecoversTheProfilesExponentAndReadsAZipfAsSkewed() {
        // tiers far enough apart that none overlaps the next: each sorted third is one tier
        double[] apart = {1, 1e-4, 1e-8};
        for (int served : new int[] {9, 16, 96, 384}) {
            for (double s : new double[] {0, 0.3, 0.65, 0.9}) {
                double[] d = WorkloadRequests.describe(Scenario.adapterRates(served, apart, s));
                assertThat(d[3]).as("served %d, skew %s", served, s).isCloseTo(s, within(0.001));
                for (int t = 0; t < 3; t++) {
                    assertThat(d[t]).isCloseTo(apart[t], within(apart[t] * 1e-9));
                }
            }
        }
        // closer tiers overlap once skewed (a tier's quietest below the next one's busiest): described as sorted
        // thirds, the same whatever the served count to within a few percent, and the total kept
        double[] wide = Scenario.described(TIERS, 0.8);
        assertThat(wide[0]).isGreaterThan(TIERS[0]);
        assertThat(wide[0] + wide[1] + wide[2]).isCloseTo(TIERS[0] + TIERS[1] + TIERS[2], within(1e-3));
        double[] at96 = WorkloadRequests.describe(Scenario.adapterRates(96, TIERS, 0.8));
        assertThat(at96[3]).isCloseTo(wide[3], within(0.05));
        assertThat(Scenario.described(TIERS, 0)).containsExactly(0.4, 0.1, 0.025, 0);
        // a Zipf over all the adapters: each tier skewed inside, the busiest most
        double[] zipf = new double[96];
        for (int k = 0; k < zipf.length; k++) {
            zipf[k] = 1.0 / (k + 1);
        }
        assertThat(WorkloadRequests.skew(zipf)).isBetween(0.4, 0.95);
        // order does not matter, and the rates are left as they were
        double[] shuffled = {0.1, 0.4, 0.2, 0.4, 0.1, 0.2};
        assertThat(WorkloadRequests.skew(shuffled)).isZero();
        assertThat(shuffled).containsExactly(0.1, 0.4, 0.2, 0.4, 0.1, 0.2);
    }

    @Test
    void aWorkloadSpecsZipfIsPlannedWithItsSkew() {
        WorkloadSpec spec = WorkloadSpecs.parse("""
        name: zipf
        seed: 1
        duration_s: 600
        arrivals: {type: poisson, rate: 12}
        adapters: {count: 96, ranks: [16], popularity: {type: zipf, exponent: 1.0}}
        lengths:
          prompt: {type: lognormal, mean: 200, std: 100}
          output: {type: lognormal, mean: 150, std: 100}
        """, Path.of("zipf.yaml"));
        Planner.Request r = WorkloadRequests.of(spec, Path.of("."), "llama-3.1-8b", null, Labels.Objective.COST);
        assertThat(r.skew()).isBetween(0.4, 0.95);
        assertThat(r.rates()[0]).isGreaterThan(r.rates()[1]);
        WorkloadSpec even = WorkloadSpecs.parse("""
        name: tiers
        seed: 1
        duration_s: 600
        arrivals: {type: poisson, rate_tiers: [0.4, 0.1, 0.025]}
        adapters: {count: 96, ranks: [16]}
        lengths:
          prompt: {type: lognormal, mean: 200, std: 100}
          output: {type: lognormal, mean: 150, std: 100}
        """, Path.of("tiers.yaml"));
        assertThat(WorkloadRequests.of(even, Path.of("."), "llama-3.1-8b", null, Labels.Objective.COST)
                        .skew())
                .isZero();
    }

    @Test
    void aSkewedFamilyIsAGridAxisWhoseWorkloadGivesEachAdapterItsProfileRate() throws Exception {
        String yaml = SweepFixtures.SMALL.replace("replica:", "tier_skew: [0, 0.8]\nreplica:");
        Sweep sweep = SweepFixtures.sweep(yaml);
        Sweep even = SweepFixtures.sweep(SweepFixtures.SMALL);
        List<Scenario> all = sweep.grid();
        assertThat(all).hasSize(2 * even.grid().size());
        assertThat(all.stream().filter(s -> s.skew() == 0.8).count())
                .isEqualTo(even.grid().size());
        // the even families are the same workloads as without the axis (same rates, same traffic)
        Scenario skewed = all.stream()
                .filter(s -> s.skew() == 0.8 && s.served() == 64)
                .findFirst()
                .orElseThrow();
        WorkloadSpec ws = sweep.workloadSpec(skewed);
        try (WorkloadGenerator g = new WorkloadGenerator(ws, Path.of("."))) {
            double[] expected = Scenario.adapterRates(64, skewed.rates(), 0.8);
            double total = Scenario.requestRate(64, skewed.rates());
            List<Adapter> adapters = g.adapters();
            assertThat(adapters).hasSize(64);
            double shareSum = adapters.stream().mapToDouble(Adapter::share).sum();
            for (int i = 0; i < adapters.size(); i++) {
                assertThat(total * adapters.get(i).share() / shareSum).isCloseTo(expected[i], within(1e-9 * total));
            }
        }
        // the rows carry the axis, and a family's key tells its skew apart (even families' keys as before)
        SweepRow row = sweep.simulate(skewed);
        double[] d = Scenario.described(skewed.rates(), 0.8);
        assertThat(row.tierSkew()).isEqualTo(d[3]).isGreaterThan(0.3);
        assertThat(new double[] {row.rate1(), row.rate2(), row.rate3()}).containsExactly(d[0], d[1], d[2]);
        assertThat(row.familyKey()).endsWith("|skew=" + d[3]);
        assertThat(sweep.simulate(all.stream()
                                .filter(s -> s.skew() == 0.8 && s.served() == 128 && s.rates() == skewed.rates())
                                .findFirst()
                                .orElseThrow())
                        .familyKey())
                .isEqualTo(row.familyKey());
        Scenario plain = all.stream()
                .filter(s -> s.skew() == 0 && s.served() == 16)
                .findFirst()
                .orElseThrow();
        assertThat(sweep.simulate(plain).familyKey()).doesNotContain("skew");
        // one family per skew: workloads numbered family by family, three served counts each
        Map<Double, Long> families = all.stream()
                .collect(Collectors.groupingBy(
                        Scenario::skew,
                        Collectors.mapping(s -> s.workload() / 3, Collectors.collectingAndThen(Collectors.toSet(), x ->
                                (long) x.size()))));
        long evenFamilies =
                even.grid().stream().map(s -> s.workload() / 3).distinct().count();
        assertThat(families).containsOnly(Map.entry(0.0, evenFamilies), Map.entry(0.8, evenFamilies));
    }

    @Test
    void verifyingASkewedSpecRunsAStratifiedShareOfItsOwnAdapters() throws Exception {
        // four slices of 2, 3, 2 and 3 adapters, each at its mean rate: the share carries its slices' traffic
        assertThat(Planner.replicaShare(new double[] {10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 4))
                .containsExactly(9.5, 7, 4.5, 2);
        assertThat(Planner.replicaShare(new double[] {3, 2, 1}, 5)).containsExactly(3, 2, 1);
        WorkloadSpec spec = WorkloadSpecs.parse("""
        name: zipf
        seed: 1
        duration_s: 3600
        arrivals: {type: poisson, rate: 30}
        adapters: {count: 300, ranks: [8, 16, 32], popularity: {type: zipf, exponent: 1.0}}
        lengths:
          prompt: {type: lognormal, mean: 200, std: 100}
          output: {type: lognormal, mean: 150, std: 100}
        """, Path.of("zipf.yaml"));
        Planner.Request r = WorkloadRequests.of(spec, Path.of("."), "llama-3.1-8b", null, Labels.Objective.COST);
        assertThat(r.perAdapter()).hasSize(300);
        assertThat(r.perAdapter()[0]).isGreaterThan(r.perAdapter()[299]);
        Planner planner = new Planner(PlacementModel.builtIn());
        Planner.Plan plan = planner.plan(r);
        assertThat(plan.servedPerGpu()).isLessThan(300);
        double[] share = Planner.replicaShare(r.perAdapter(), plan.servedPerGpu());
        PlanTwin.Verification v = planner.twin().verify(plan, r, Profiles.builtIn(), Path.of("."), SloSpec.DEFAULTS);
        // the run offered the share's own traffic (Poisson over an hour: within a few percent), not the tiers' profile
        double shareRate = Arrays.stream(share).sum();
        assertThat(v.simulated().offeredRps()).isCloseTo(shareRate, Percentage.withPercentage(4));
        assertThat(v.simulated().served()).isEqualTo(plan.servedPerGpu());
    }

    @Test
    void aReplicasShareOfASpecKeepsItsSessionsAndScalesItsTrafficAndClient() {
        WorkloadSpec spec = WorkloadSpecs.parse("""
        name: chat
        seed: 3
        duration_s: 600
        arrivals: {type: gamma, rate: 4, cv: 2}
        adapters: {count: 90, ranks: [8, 16, 32], popularity: {type: zipf, exponent: 0.8}, base_share: 0.1}
        lengths:
          prompt: {type: lognormal, mean: 120, std: 100}
          output: {type: lognormal, mean: 200, std: 100}
        sessions:
          turns: {type: uniform, min: 1, max: 6}
          think_time_s: {type: exponential, mean: 10}
        client: {max_outstanding: 300}
        """, Path.of("chat.yaml"));
        Planner.Request r = WorkloadRequests.of(spec, Path.of("."), "llama-3.1-8b", null, Labels.Objective.COST);
        // turns are the requests: about 3.5 per session, so the adapters' request rates are about 3.5 x 4 in all (the
        // base model's tenth counted as load on them, as a spec's rate is)
        double requestRate = Arrays.stream(r.perAdapter()).sum();
        assertThat(requestRate).isBetween(3.5 * 4 * 0.9 * 0.85, 3.5 * 4 * 1.15);
        assertThat(r.cv()).isGreaterThan(1.0);
        WorkloadSpec share = r.replicaWorkload().of(30, 3600);
        assertThat(share.durationS()).isEqualTo(3600.0);
        assertThat(share.sessions()).isEqualTo(spec.sessions());
        assertThat(share.lengths()).isEqualTo(spec.lengths());
        assertThat(share.adapters().count()).isEqualTo(30);
        assertThat(share.adapters().baseShare()).isEqualTo(0.1);
        double[] weights = ((PopularitySpec.Weights) share.adapters().popularity())
                .weights().stream().mapToDouble(Double::doubleValue).toArray();
        double f = Arrays.stream(weights).sum() / requestRate;
        assertThat(weights[0]).isGreaterThan(weights[29]);
        assertThat(((ArrivalsSpec.Gamma) share.arrivals()).rate()).isCloseTo(4 * f, within(1e-9));
        assertThat(((ArrivalsSpec.Gamma) share.arrivals()).cv()).isEqualTo(2.0);
        // 300 f rounded up (f is a ratio of sums, so one in the last place may tip it over a whole number)
        assertThat(share.client().maxOutstanding())
                .isBetween((int) Math.ceil(300 * f - 1e-9), (int) Math.ceil(300 * f + 1e-9));
        // a replica that serves them all sees the spec itself, over the window
        WorkloadSpec whole = r.replicaWorkload().of(90, 3600);
        assertThat(whole.adapters()).isEqualTo(spec.adapters());
        assertThat(whole.arrivals()).isEqualTo(spec.arrivals());
        assertThat(whole.durationS()).isEqualTo(3600.0);
    }

    @Test
    void baseModelRequestsCountAsLoadWithOrWithoutSessions() {
        // half the requests go to the base model: a plain spec's rate carries them in the adapters' rates, and a
        // session spec's generated requests are counted the same way (they were left out, and the verification, which
        // runs them, then served 10% more than the plan described on examples/workloads/chat-sessions.yaml)
        String common = """
        seed: 5
        duration_s: 1200
        adapters: {count: 20, ranks: [16], base_share: 0.5}
        lengths:
          prompt: {type: lognormal, mean: 120, std: 100}
          output: {type: lognormal, mean: 200, std: 100}
        """;
        WorkloadSpec plain = WorkloadSpecs.parse(
                "name: plain\narrivals: {type: poisson, rate: 10}\n" + common, Path.of("plain.yaml"));
        WorkloadSpec sessions = WorkloadSpecs.parse(
                "name: sessions\narrivals: {type: poisson, rate: 2}\n" + common
                        + "sessions: {turns: {type: fixed, value: 5}, think_time_s: {type: fixed, value: 10}}\n",
                Path.of("sessions.yaml"));
        double plainRate = Arrays.stream(
                        WorkloadRequests.of(plain, Path.of("."), "llama-3.1-8b", null, Labels.Objective.COST)
                                .perAdapter())
                .sum();
        double sessionRate = Arrays.stream(
                        WorkloadRequests.of(sessions, Path.of("."), "llama-3.1-8b", null, Labels.Objective.COST)
                                .perAdapter())
                .sum();
        assertThat(plainRate).isCloseTo(10, within(1e-9));
        // 2 sessions/s of 5 turns each: 10 requests/s in steady state, half of them the base model's
        assertThat(sessionRate).isCloseTo(10, Percentage.withPercentage(8));
    }

    @Test
    void aSkewOutsideZeroToOneIsRefusedByKey() {
        assertThatThrownBy(() ->
                        SweepFixtures.sweep(SweepFixtures.SMALL.replace("replica:", "tier_skew: [0, 1.0]\nreplica:")))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("tier_skew[1]")
                .hasMessageContaining("[0, 1)");
        assertThatThrownBy(() ->
                        SweepFixtures.sweep(SweepFixtures.SMALL.replace("replica:", "tier_skew: [0.5, 0.5]\nreplica:")))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("tier_skew")
                .hasMessageContaining("twice");
    }
}
