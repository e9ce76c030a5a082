package io.twinserve.traces.gen;

import io.twinserve.traces.spec.AdaptersSpec;
import io.twinserve.traces.spec.ArrivalsSpec;
import io.twinserve.traces.spec.WorkloadSpec;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.commons.rng.UniformRandomProvider;
import org.apache.commons.rng.sampling.distribution.AliasMethodDiscreteSampler;
import org.apache.commons.rng.sampling.distribution.DiscreteSampler;

/**
 * Picks the adapter of a request: the base model with probability {@code base_share}, otherwise an
 * adapter drawn by weight in O(1) (Walker's alias method, from Commons RNG).
 */
public final class AdapterPicker {
    private final SplittableRandom rng;
    private final DiscreteSampler sampler;
    private final String[] ids;
    private final double baseShare;

    /** Picks by the spec's popularity model. */
    public AdapterPicker(AdaptersSpec spec, SplittableRandom rng) {
        this(spec, spec.popularity().weights(spec.count()), rng);
    }

    /** Picks as a workload's requests do: by per-adapter rates when it has rate tiers, else by popularity. */
    public static AdapterPicker forWorkload(WorkloadSpec workload, SplittableRandom rng) {
        return new AdapterPicker(workload.adapters(), weights(workload), rng);
    }

    /** Per-adapter weights: each adapter's own rate with rate tiers, else its popularity weight. */
    static double[] weights(WorkloadSpec spec) {
        int n = spec.adapters().count();
        if (spec.arrivals() instanceof ArrivalsSpec.Poisson p && p.rateTiers() != null) {
            // tiers cover contiguous blocks of adapters (about 1/T of them each), so that round-robin
            // ranks are spread over every tier rather than tied to one
            List<Double> tiers = p.rateTiers();
            double[] w = new double[n];
            for (int i = 0; i < n; i++) {
                w[i] = tiers.get((int) ((long) i * tiers.size() / n));
            }
            return w;
        }
        return spec.adapters().popularity().weights(n);
    }

    /** Picks by explicit per-adapter weights (not normalised), such as per-adapter rates. */
    public AdapterPicker(AdaptersSpec spec, double[] weights, SplittableRandom rng) {
        this.rng = rng;
        this.baseShare = spec.baseShare();
        this.ids = new String[spec.count()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = spec.adapterId(i);
        }
        if (ids.length == 0) {
            this.sampler = null;
            return;
        }
        double sum = 0;
        for (double w : weights) {
            sum += w;
        }
        double[] p = new double[weights.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = weights[i] / sum;
        }
        UniformRandomProvider urp = rng::nextLong;
        this.sampler = AliasMethodDiscreteSampler.of(urp, p);
    }

    /** An adapter id, or null for the base model. */
    public String pick() {
        if (sampler == null || (baseShare > 0 && rng.nextDouble() < baseShare)) {
            return null;
        }
        return ids[sampler.sample()];
    }

    String id(int index) {
        return ids[index];
    }
}
