package io.twinserve.twin.perf;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.twin.perf.RooflineParams.Term;
import io.twinserve.twin.profile.Profiles;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The roofline's decode stretch (attention as two integer lines in the step index) against stepping: each
 * step is priced exactly as {@link RooflinePerfModel#stepNs} prices its shape, across the crossing of
 * compute- and memory-bound attention; so is a stretch refilled in place with its first step's price, as the
 * loop makes them.
 */
class DecodeStretchPropertyTest {
    private static final Profiles PROFILES = Profiles.builtIn();

    @Property(tries = 300)
    void everyStepIsPricedAsItsShape(
            @ForAll @IntRange(min = 1, max = 256) int decodes,
            @ForAll @IntRange(min = 1, max = 8_000) int context,
            @ForAll @IntRange(min = 0, max = 2_048) int prefillTokens,
            @ForAll @IntRange(min = 0, max = 4) int adapters,
            @ForAll @IntRange(min = 0, max = 3) int decodeEfficiencyTier,
            @ForAll boolean tensorParallel,
            @ForAll @IntRange(min = 0, max = 20_000) int k) {
        // tier 0: one attention rate; the others make decode attention compute-bound at long contexts, so
        // that compute and memory cross within the stretch
        double[] tiers = {0, 0.02, 0.005, 0.001};
        RooflineParams params =
                RooflineParams.defaults().with(Term.DECODE_ATTENTION_FLOPS_EFFICIENCY, tiers[decodeEfficiencyTier]);
        RooflinePerfModel model = new RooflinePerfModel(
                PROFILES.model("llama-3.1-8b"), PROFILES.gpu("h100-sxm-80gb"), tensorParallel ? 2 : 1, params);
        StepShape first = new StepShape();
        if (prefillTokens > 0) {
            first.addSequence(prefillTokens, 100, false, true, true, adapters > 0);
        }
        for (int i = 0; i < decodes; i++) {
            first.addSequence(1, context + i, true, true, false, i < adapters);
        }
        first.distinctAdapters = adapters;
        first.adapterRankSum = 16L * adapters;
        DecodeStretch stretch = model.decodeStretch(first);
        // what a loop does: an earlier stretch (of another shape) refilled, the first step's price passed in
        StepShape other = new StepShape();
        other.addSequence(1, 7, true, true, false, false);
        DecodeStretch stale = model.decodeStretch(other);
        DecodeStretch refilled = model.decodeStretch(first, stale, model.stepNs(first));
        assertThat(refilled).isSameAs(stale);
        DecodeStretch stepped = new PerfModel() {
            @Override
            public long stepNs(StepShape step) {
                return model.stepNs(step);
            }

            @Override
            public long adapterLoadFromCpuNs(int rank, int slotRank) {
                return 0;
            }

            @Override
            public long adapterLoadFromStorageNs(int rank) {
                return 0;
            }
        }.decodeStretch(first);

        StepShape step = first.copy();
        for (int i = 0; i < k; i++) {
            long ns = model.stepNs(step);
            assertThat(stretch.stepNs(i)).as("step %d", i).isEqualTo(ns);
            assertThat(stepped.stepNs(i)).as("step %d by default", i).isEqualTo(ns);
            assertThat(refilled.stepNs(i)).as("step %d refilled", i).isEqualTo(ns);
            step.decodeContextTokens += decodes;
            step.kvReadTokens += decodes;
        }
        // a far step, priced directly
        long far = 1L << 40;
        step = first.copy();
        step.decodeContextTokens += far * decodes;
        step.kvReadTokens += far * decodes;
        assertThat(stretch.stepNs(far)).isEqualTo(model.stepNs(step));
        assertThat(refilled.stepNs(far)).isEqualTo(model.stepNs(step));
    }

    @Property(tries = 50)
    void aStretchPastTheFixedPointRangeIsPricedAsItsShape(@ForAll @IntRange(min = 1, max = 64) int decodes) {
        RooflinePerfModel model = new RooflinePerfModel(
                PROFILES.model("llama-3.1-8b"), PROFILES.gpu("h100-sxm-80gb"), 1, RooflineParams.defaults());
        StepShape first = new StepShape();
        for (int i = 0; i < decodes; i++) {
            first.addSequence(1, 1_000, true, true, false, false);
        }
        DecodeStretch stretch = model.decodeStretch(first);
        // an index whose K/V bytes leave a long in fixed point: priced in doubles, as its shape is
        long huge = Long.MAX_VALUE / 4 / decodes;
        StepShape step = first.copy();
        step.decodeContextTokens += huge * decodes;
        step.kvReadTokens += huge * decodes;
        long ns = model.stepNs(step);
        assertThat(stretch.stepNs(huge)).isEqualTo(ns);
        assertThat(ns).isPositive();
    }
}
