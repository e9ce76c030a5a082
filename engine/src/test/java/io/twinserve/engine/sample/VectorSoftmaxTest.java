package io.twinserve.engine.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The Vector API's softmax numerators (a whole-vocabulary draw) against {@code Math.exp} value by value, and a
 * temperature and min-p draw over a vocabulary wide enough to run the vector loop and its tail, against the
 * softmax.
 */
class VectorSoftmaxTest {
    @Test
    void numeratorsMatchTheScalarExponentialsAndTheMinPFloor() {
        assertThat(VectorSoftmax.AVAILABLE)
                .as("the tests run with jdk.incubator.vector")
                .isTrue();
        Random r = new Random(5);
        // 1,003 values: not a multiple of any vector length, so the scalar tail runs too
        int n = 1003;
        int offset = 17;
        float[] logits = new float[offset + n];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) (r.nextGaussian() * 4);
        }
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, logits[offset + i]);
        }
        float inv = 1 / 0.7f;
        for (float floor : new float[] {Float.NEGATIVE_INFINITY, (float) Math.log(0.05)}) {
            float[] probs = new float[n];
            double sum = VectorSoftmax.numerators(logits, offset, n, max, inv, floor, probs);
            double want = 0;
            int zeros = 0;
            for (int i = 0; i < n; i++) {
                float scaled = (logits[offset + i] - max) * inv;
                float p = scaled < floor ? 0 : (float) Math.exp(scaled);
                want += p;
                if (p == 0) {
                    zeros++;
                    assertThat(probs[i]).as("value %d under the floor", i).isZero();
                } else {
                    assertThat((double) probs[i]).as("value %d", i).isCloseTo(p, within(2e-6 * p));
                }
            }
            assertThat(sum).isCloseTo(want, within(1e-6 * want));
            if (floor > Float.NEGATIVE_INFINITY) {
                assertThat(zeros).as("min-p 0.05 drops most of a wide row").isGreaterThan(n / 2);
            }
        }
    }

    @Test
    void aWideVocabularyDrawsFromTheSoftmaxWithMinP() {
        int vocab = 70;
        float[] logits = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            logits[i] = (float) Math.sin(i * 1.3) * 3;
        }
        double temperature = 0.8;
        double minP = 0.02;
        SamplingParams params =
                new SamplingParams(temperature, 0, 1, 3, 16, List.of(), List.of(), false, 0, 0, 1, minP, Map.of(), -1);
        Sampler sampler = new Sampler(params);
        int draws = 200_000;
        double[] f = new double[vocab];
        for (int i = 0; i < draws; i++) {
            f[sampler.sample(logits, 0, vocab)] += 1.0 / draws;
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] p = new double[vocab];
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            double scaled = (logits[i] - max) / temperature;
            p[i] = scaled < Math.log(minP) ? 0 : Math.exp(scaled);
            sum += p[i];
        }
        for (int i = 0; i < vocab; i++) {
            assertThat(f[i]).as("token %d", i).isCloseTo(p[i] / sum, within(0.006));
            if (p[i] == 0) {
                assertThat(f[i]).as("token %d is under min-p", i).isZero();
            }
        }
    }
}
