package io.twinserve.engine.sample;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The softmax numerators of a whole vocabulary row with the Vector API: a 128k-token row took 0.8 ms a draw with
 * {@code Math.exp} one value at a time (64 rows, 52 ms a step, measured here), where a GPU's whole step at batch 64
 * is about 10 ms. Hand-written because no library computes this over a Java array; used only where the
 * incubator module is present (the launcher adds it for every engine command), else {@link Sampler} keeps its
 * scalar loop.
 */
final class VectorSoftmax {
    /** Whether {@code jdk.incubator.vector} is in this JVM (a planning command's JVM runs without it). */
    static final boolean AVAILABLE =
            ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    private VectorSoftmax() {}

    /**
     * {@code probs[i] = exp((logits[offset + i] - max) * inv)} for {@code i < n}, 0 where the scaled logit is
     * below {@code floor} (min-p); returns their sum, accumulated in double. The exponentials are float, within an
     * ulp or two of {@code (float) Math.exp} of the same value.
     */
    static double numerators(float[] logits, int offset, int n, float max, float inv, float floor, float[] probs) {
        return Impl.numerators(logits, offset, n, max, inv, floor, probs);
    }

    /** The Vector API's classes are referenced only from here, loaded on first use. */
    private static final class Impl {
        private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
        private static final VectorSpecies<Double> D = VectorSpecies.of(double.class, F.vectorShape());

        static double numerators(float[] logits, int offset, int n, float max, float inv, float floor, float[] probs) {
            int bound = F.loopBound(n);
            DoubleVector acc = DoubleVector.zero(D);
            int i = 0;
            for (; i < bound; i += F.length()) {
                FloatVector scaled =
                        FloatVector.fromArray(F, logits, offset + i).sub(max).mul(inv);
                VectorMask<Float> below = scaled.lt(floor);
                FloatVector p = scaled.lanewise(VectorOperators.EXP).blend(0f, below);
                p.intoArray(probs, i);
                // the float lanes widened to doubles, half a vector at a time
                acc = acc.add((DoubleVector) p.convertShape(VectorOperators.F2D, D, 0));
                acc = acc.add((DoubleVector) p.convertShape(VectorOperators.F2D, D, 1));
            }
            double sum = acc.reduceLanes(VectorOperators.ADD);
            for (; i < n; i++) {
                float scaled = (logits[offset + i] - max) * inv;
                float p = scaled < floor ? 0 : (float) Math.exp(scaled);
                probs[i] = p;
                sum += p;
            }
            return sum;
        }
    }
}
