package io.twinserve.traces.gen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.twinserve.traces.Request;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Adapter shares follow the popularity model, per-adapter rate tiers and the base share. */
class AdapterPopularityTest {
    private static final String LENGTHS = """
      lengths: {prompt: {type: fixed, value: 10}, output: {type: fixed, value: 5}}
      """;

    @Test
    void rateTiersGiveEveryAdapterItsOwnPoissonStream() {
        // the adapter-caching study's shape: 96 adapters, three tiers, one hour
        String yaml = """
        seed: 42
        duration_s: 3600
        arrivals: {type: poisson, rate_tiers: [1.6, 0.8, 0.4]}
        adapters: {count: 96, ranks: [8, 16, 32]}
        """ + LENGTHS;
        List<Request> rs = Generated.all(yaml);
        Map<String, List<Request>> byAdapter = new HashMap<>();
        for (Request r : rs) {
            byAdapter.computeIfAbsent(r.adapterId(), k -> new ArrayList<>()).add(r);
        }
        assertThat(byAdapter).hasSize(96);
        double[] tierRate = {1.6, 0.8, 0.4};
        long[] tierCount = new long[3];
        for (int i = 0; i < 96; i++) {
            int tier = i / 32;
            List<Request> mine = byAdapter.get(String.format("adapter-%03d", i));
            tierCount[tier] += mine.size();
            double expected = tierRate[tier] * 3600;
            // each adapter's count is Poisson: stay within 5 standard deviations
            assertThat((double) mine.size()).isCloseTo(expected, within(5 * Math.sqrt(expected)));
        }
        for (int t = 0; t < 3; t++) {
            double expected = 32 * tierRate[t] * 3600;
            assertThat((double) tierCount[t]).isCloseTo(expected, within(4 * Math.sqrt(expected)));
        }
        // an adapter's own arrivals form a Poisson stream: gaps with CV 1
        assertThat(Generated.gapCv(byAdapter.get("adapter-000"))).isCloseTo(1.0, within(0.08));
        assertThat(Generated.gapCv(byAdapter.get("adapter-095"))).isCloseTo(1.0, within(0.12));
    }

    @Test
    void rateTiersAndRoundRobinRanksAreNotTiedTogether() {
        WorkloadGenerator g = new WorkloadGenerator(Generated.spec("""
        duration_s: 1
        arrivals: {type: poisson, rate_tiers: [1.6, 0.8, 0.4]}
        adapters: {count: 96, ranks: [8, 16, 32]}
        """ + LENGTHS), null);
        List<Adapter> adapters = g.adapters();
        assertThat(adapters.get(0).ratePerSecond()).isEqualTo(1.6);
        assertThat(adapters.get(40).ratePerSecond()).isEqualTo(0.8);
        assertThat(adapters.get(95).ratePerSecond()).isEqualTo(0.4);
        // every tier holds every rank
        for (int tier = 0; tier < 3; tier++) {
            assertThat(adapters.subList(tier * 32, tier * 32 + 32))
                    .extracting(Adapter::rank)
                    .contains(8, 16, 32);
        }
    }

    @Test
    void zipfPopularityGivesAdapterKAShareProportionalToOneOverKToTheExponent() {
        int n = 200_000;
        List<Request> rs = Generated.all("""
        seed: 9
        requests: 200000
        arrivals: {type: poisson, rate: 100}
        adapters: {count: 20, popularity: {type: zipf, exponent: 1.2}}
        """ + LENGTHS);
        double norm = 0;
        for (int k = 1; k <= 20; k++) {
            norm += Math.pow(k, -1.2);
        }
        Map<String, Integer> counts = new HashMap<>();
        rs.forEach(r -> counts.merge(r.adapterId(), 1, Integer::sum));
        for (int k = 1; k <= 20; k++) {
            double p = Math.pow(k, -1.2) / norm;
            double observed = counts.getOrDefault(String.format("adapter-%03d", k - 1), 0) / (double) n;
            assertThat(observed).as("share of adapter %d", k).isCloseTo(p, within(5 * Math.sqrt(p * (1 - p) / n)));
        }
    }

    @Test
    void baseShareSendsThatFractionOfRequestsToTheBaseModel() {
        List<Request> rs = Generated.all("""
        requests: 100000
        arrivals: {type: poisson, rate: 10}
        adapters: {count: 8, base_share: 0.25}
        """ + LENGTHS);
        long base = rs.stream().filter(r -> r.adapterId() == null).count();
        assertThat(base / 100000.0).isCloseTo(0.25, within(0.007));
    }

    @Test
    void explicitWeightsAreFollowed() {
        List<Request> rs = Generated.all("""
        requests: 60000
        arrivals: {type: poisson, rate: 10}
        adapters: {count: 3, popularity: {type: weights, weights: [3, 2, 1]}}
        """ + LENGTHS);
        Map<String, Integer> counts = new HashMap<>();
        rs.forEach(r -> counts.merge(r.adapterId(), 1, Integer::sum));
        assertThat(counts.get("adapter-000") / 60000.0).isCloseTo(0.5, within(0.01));
        assertThat(counts.get("adapter-001") / 60000.0).isCloseTo(1 / 3.0, within(0.01));
        assertThat(counts.get("adapter-002") / 60000.0).isCloseTo(1 / 6.0, within(0.01));
    }

    @Test
    void ranksAreAssignedRoundRobinOrDrawnFromWeights() {
        WorkloadGenerator roundRobin = new WorkloadGenerator(Generated.spec("""
        duration_s: 1
        arrivals: {type: poisson, rate: 1}
        adapters: {count: 5, ranks: [8, 64]}
        """ + LENGTHS), null);
        assertThat(roundRobin.adapters()).extracting(Adapter::rank).containsExactly(8, 64, 8, 64, 8);

        WorkloadGenerator weighted = new WorkloadGenerator(Generated.spec("""
        duration_s: 1
        arrivals: {type: poisson, rate: 1}
        adapters: {count: 4000, rank_weights: {8: 3, 32: 1}}
        """ + LENGTHS), null);
        long rank8 = weighted.adapters().stream().filter(a -> a.rank() == 8).count();
        assertThat(rank8 / 4000.0).isCloseTo(0.75, within(0.035));
        assertThat(weighted.adapters()).extracting(Adapter::rank).containsOnly(8, 32);
    }
}
