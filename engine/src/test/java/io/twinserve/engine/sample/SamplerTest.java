package io.twinserve.engine.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Sampling draws from the softmax of the logits, restricted as top-k and top-p say. */
class SamplerTest {
    private static SamplingParams params(double temperature, int topK, double topP, long seed) {
        return new SamplingParams(temperature, topK, topP, seed, 16, List.of(), List.of(), false);
    }

    private static double[] frequencies(Sampler sampler, float[] logits, int draws) {
        double[] f = new double[logits.length];
        for (int i = 0; i < draws; i++) {
            f[sampler.sample(logits, 0, logits.length)] += 1.0 / draws;
        }
        return f;
    }

    private static double[] softmax(float[] logits, double temperature, int[] allowed) {
        double[] p = new double[logits.length];
        double sum = 0;
        for (int id : allowed) {
            p[id] = Math.exp(logits[id] / temperature);
            sum += p[id];
        }
        for (int id : allowed) {
            p[id] /= sum;
        }
        return p;
    }

    // 200,000 seeded draws: a frequency's standard deviation is at most 0.0011, the tolerance 0.006
    private static final int DRAWS = 200_000;

    @Test
    void temperatureAloneDrawsFromTheWholeSoftmax() {
        float[] logits = {1.0f, 2.5f, -0.5f, 2.5f, 0.0f, 1.7f, -3f, 0.3f};
        for (double temperature : new double[] {0.5, 1.0, 2.0}) {
            double[] f = frequencies(new Sampler(params(temperature, 0, 1, 7)), logits, DRAWS);
            double[] p = softmax(logits, temperature, new int[] {0, 1, 2, 3, 4, 5, 6, 7});
            for (int id = 0; id < logits.length; id++) {
                assertThat(f[id])
                        .as("token %d at temperature %s", id, temperature)
                        .isCloseTo(p[id], within(0.006));
            }
        }
    }

    @Test
    void topKKeepsTheKLargestLogitsAndRenormalises() {
        float[] logits = {1.0f, 2.5f, -0.5f, 2.4f, 0.0f, 1.7f, -3f, 0.3f};
        double[] f = frequencies(new Sampler(params(1.0, 3, 1, 11)), logits, DRAWS);
        double[] p = softmax(logits, 1.0, new int[] {1, 3, 5});
        for (int id = 0; id < logits.length; id++) {
            assertThat(f[id]).as("token %d", id).isCloseTo(p[id], within(0.006));
        }
    }

    @Test
    void topPKeepsTheSmallestHeadReachingPAndTiesGoToTheLowerIds() {
        // 5,000 equal logits: the nucleus of p = 0.5 is exactly ids 0..2499, beyond the first sorted head
        // of 64 candidates, so the head grows until it holds the nucleus
        float[] flat = new float[5_000];
        Sampler sampler = new Sampler(params(1.0, 0, 0.5, 3));
        int low = 0;
        int high = 0;
        for (int i = 0; i < 5_000; i++) {
            int id = sampler.sample(flat, 0, flat.length);
            assertThat(id).isBetween(0, 2_499);
            if (id < 1_250) {
                low++;
            } else {
                high++;
            }
        }
        assertThat((double) low / (low + high)).isCloseTo(0.5, within(0.04));

        // probabilities 0.5, 0.3, 0.15, 0.05 (temperature 1): p = 0.75 keeps the first two, p = 0.85 three
        float[] logits = {(float) Math.log(0.15), (float) Math.log(0.5), (float) Math.log(0.05), (float) Math.log(0.3)};
        double[] two = frequencies(new Sampler(params(1.0, 0, 0.75, 5)), logits, DRAWS);
        assertThat(two[1]).isCloseTo(0.5 / 0.8, within(0.006));
        assertThat(two[3]).isCloseTo(0.3 / 0.8, within(0.006));
        assertThat(two[0] + two[2]).isZero();
        double[] three = frequencies(new Sampler(params(1.0, 0, 0.85, 5)), logits, DRAWS);
        assertThat(three[0]).isCloseTo(0.15 / 0.95, within(0.006));
        assertThat(three[2]).isZero();
        // with top-k 1 before it, only the argmax is left
        double[] one = frequencies(new Sampler(params(1.0, 1, 0.85, 5)), logits, 1_000);
        assertThat(one[1]).isEqualTo(1.0, within(1e-9));
    }

    /**
     * The weighted selection finds exactly the nucleus a sort would: on rows of 3,000 logits with many ties, every
     * drawn token is in the sorted head (logit descending, then id) that first reaches p, and the head's last
     * token, the one a wrong boundary would lose or the next one it would add, is drawn at its rate.
     */
    @Test
    void topPDrawsOnlyFromTheSortedHeadThatFirstReachesP() {
        Random random = new Random(4);
        for (int trial = 0; trial < 6; trial++) {
            int vocab = 3_000;
            float[] logits = new float[vocab];
            for (int i = 0; i < vocab; i++) {
                // a quarter of the values from a grid of 12, so that ties are common at the boundary
                logits[i] = random.nextInt(4) == 0 ? random.nextInt(12) * 0.25f : (float) random.nextGaussian();
            }
            double topP = 0.3 + 0.1 * trial;
            Integer[] order = new Integer[vocab];
            for (int i = 0; i < vocab; i++) {
                order[i] = i;
            }
            java.util.Arrays.sort(
                    order, (a, b) -> logits[a] != logits[b] ? Float.compare(logits[b], logits[a]) : a - b);
            double max = logits[order[0]];
            double sum = 0;
            for (float l : logits) {
                sum += (float) Math.exp(l - max);
            }
            java.util.Set<Integer> head = new java.util.HashSet<>();
            double cumulative = 0;
            int last = -1;
            for (int id : order) {
                head.add(id);
                cumulative += (float) Math.exp(logits[id] - max);
                last = id;
                if (cumulative >= topP * sum) {
                    break;
                }
            }
            Sampler sampler = new Sampler(params(1.0, 0, topP, 100 + trial));
            int lastDrawn = 0;
            int draws = 20_000;
            for (int i = 0; i < draws; i++) {
                int id = sampler.sample(logits, 0, vocab);
                assertThat(head)
                        .as("trial %d, top-p %.1f: token %d", trial, topP, id)
                        .contains(id);
                lastDrawn += id == last ? 1 : 0;
            }
            double expected = Math.exp(logits[last] - max) / cumulative;
            assertThat((double) lastDrawn / draws)
                    .as("trial %d: the head's last token", trial)
                    .isCloseTo(expected, within(5 * Math.sqrt(expected / draws) + 1e-4));
        }
    }

    @Test
    void theSameSeedRepeatsItsTokensAndAnotherSeedDiffers() {
        float[] logits = new float[1_000];
        Random random = new Random(1);
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) random.nextGaussian();
        }
        for (double topP : new double[] {1.0, 0.9}) {
            int[] a = new int[200];
            int[] b = new int[200];
            int[] c = new int[200];
            Sampler sa = new Sampler(params(0.8, 0, topP, 42));
            Sampler sb = new Sampler(params(0.8, 0, topP, 42));
            Sampler sc = new Sampler(params(0.8, 0, topP, 43));
            for (int i = 0; i < a.length; i++) {
                a[i] = sa.sample(logits, 0, logits.length);
                b[i] = sb.sample(logits, 0, logits.length);
                c[i] = sc.sample(logits, 0, logits.length);
            }
            assertThat(b).as("top-p %s", topP).isEqualTo(a);
            assertThat(c).as("top-p %s", topP).isNotEqualTo(a);
        }
    }

    @Test
    void greedyTakesTheArgmaxAndTheLowerIdOnTies() {
        float[] logits = {0.1f, 3f, 3f, -1f};
        Sampler greedy = new Sampler(params(0, 0, 1, 1));
        assertThat(greedy.sample(logits, 0, 4)).isEqualTo(1);
        // a row at an offset within a larger buffer
        float[] rows = {9f, 9f, 9f, 9f, 0f, 0f, 5f, 0f};
        assertThat(greedy.sample(rows, 4, 4)).isEqualTo(2);
    }
}
