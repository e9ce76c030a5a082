package io.twinserve.engine.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.twinserve.engine.model.DType;
import org.junit.jupiter.api.Test;

/**
 * The Java references the GPU check compares the kernels with, on cases small enough to work by hand: if a
 * reference were wrong, a correct kernel would fail the check on the GPU, or a wrong one pass.
 */
class KernelReferencesTest {
    private static short[] bf(float... v) {
        short[] s = new short[v.length];
        for (int i = 0; i < v.length; i++) {
            s[i] = DType.toBf16(v[i]);
        }
        return s;
    }

    @Test
    void rmsNormAddsTheResidualThenScalesToUnitRms() {
        float[] residual = {1, 1, 1, 1};
        float[] x = {2, -4, 2, -4}; // residual becomes 3, -3, 3, -3: rms 3
        float[] out = KernelReferences.addRmsNorm(residual, x, bf(1, 2, 1, 0.5f), 1, 4, 0);
        assertThat(residual).containsExactly(3, -3, 3, -3);
        assertThat(out).containsExactly(1, -2, 1, -0.5f);
    }

    @Test
    void siluMulAndGemvByHand() {
        float[] act = KernelReferences.siluMul(new float[] {0, 2, 5, 7}, 1, 2); // gate 0, 2; up 5, 7
        assertThat(act[0]).isZero();
        assertThat(act[1]).isCloseTo((float) (2 / (1 + Math.exp(-2)) * 7), within(1e-6f));
        // W = [[1, 2], [3, 4]], x = [1, -1] and [0.5, 0.5], bias [10, 20], add 100 everywhere
        float[] y = KernelReferences.gemv(
                bf(1, 2, 3, 4), 2, 2, new float[] {1, -1, 0.5f, 0.5f}, 2, bf(10, 20), new float[] {100, 100, 100, 100});
        assertThat(y).containsExactly(109, 119, 111.5f, 123.5f);
    }

    @Test
    void ropeAtPositionZeroLeavesVectorsAndWritesTheCacheSlot() {
        int headDim = 4;
        float[] cos = {1, 1, 0, 1}; // position 0: angle 0; position 1: first pair a quarter turn
        float[] sin = {0, 0, 1, 0};
        float[] q = {1, 2, 3, 4, 1, 2, 3, 4};
        float[] k = {5, 6, 7, 8, 5, 6, 7, 8};
        float[] v = {9, 10, 11, 12, 9, 10, 11, 12};
        float[] kc = new float[2 * 1 * 2 * headDim]; // 2 blocks of 2 slots, 1 KV head
        float[] vc = new float[kc.length];
        v[4] = 9.01f; // a bf16 cache stores it as 9.0, an fp32 one as it is
        KernelReferences.qkRopeKvWrite(
                q, k, v, new int[] {0, 1}, cos, sin, null, null, 0, 1, 1, headDim, new int[] {3, 1}, kc, vc, 2, false);
        assertThat(new float[] {q[0], q[1], q[2], q[3]}).containsExactly(1, 2, 3, 4);
        // position 1, pair (0, 2) turned a quarter: x0' = x0 cos - x2 sin = -7, x2' = x2 cos + x0 sin = 1 (q: -3, 1)
        assertThat(new float[] {q[4], q[5], q[6], q[7]}).containsExactly(-3, 2, 1, 4);
        assertThat(new float[] {k[4], k[5], k[6], k[7]}).containsExactly(-7, 6, 5, 8);
        // token 0 to slot 3 = block 1, offset 1: values 12 to 15 of the cache; token 1 to slot 1 (values 4 to 7)
        assertThat(kc[12]).isEqualTo(5);
        assertThat(vc[15]).isEqualTo(12);
        assertThat(kc[0]).isZero();
        assertThat(vc[4]).isEqualTo(9.0f);
        float[] kc32 = new float[kc.length];
        float[] vc32 = new float[kc.length];
        KernelReferences.qkRopeKvWrite(
                new float[8],
                new float[8],
                v,
                new int[] {0, 1},
                cos,
                sin,
                null,
                null,
                0,
                1,
                1,
                headDim,
                new int[] {3, 1},
                kc32,
                vc32,
                2,
                true);
        assertThat(vc32[4]).isEqualTo(9.01f);
    }

    @Test
    void attentionOverOnePositionIsItsValueAndAWindowDropsTheOldest() {
        int headDim = 2;
        // one block of 4 positions, one KV head: keys make position 3 dominate, values are the positions' ids
        float[] kc = {0, 0, 0, 0, 0, 0, 50, 0};
        float[] vc = {0, 0, 1, 1, 2, 2, 3, 3};
        float[] q = {1, 0};
        float[] one =
                KernelReferences.pagedAttention(q, kc, vc, new int[] {0}, 1, new int[] {1}, 1, 1, headDim, 4, 1, 0);
        assertThat(one).containsExactly(0, 0);
        float[] all =
                KernelReferences.pagedAttention(q, kc, vc, new int[] {0}, 1, new int[] {4}, 1, 1, headDim, 4, 1, 0);
        assertThat(all[0]).isCloseTo(3, within(1e-6f));
        // a context of 3 with a window of 2 keeps positions 1 and 2: equal scores, the mean of their values
        float[] windowed =
                KernelReferences.pagedAttention(q, kc, vc, new int[] {0}, 1, new int[] {3}, 1, 1, headDim, 4, 1, 2);
        assertThat(windowed[0]).isCloseTo(1.5f, within(1e-6f));
    }

    @Test
    void randomWeightsAreACounterBasedUniformDrawScaledAndRoundedToBf16() {
        short[] a = KernelReferences.randomBf16(100_000, 7, 0.5f);
        // the same (seed, index) gives the same value whatever else is drawn: a prefix is a prefix
        assertThat(KernelReferences.randomBf16(10, 7, 0.5f)).containsExactly(java.util.Arrays.copyOf(a, 10));
        assertThat(KernelReferences.randomBf16(10, 8, 0.5f)).isNotEqualTo(java.util.Arrays.copyOf(a, 10));
        double sum = 0;
        double sumSq = 0;
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (short s : a) {
            float f = DType.fromBf16(s);
            sum += f;
            sumSq += (double) f * f;
            min = Math.min(min, f);
            max = Math.max(max, f);
        }
        // uniform on [-0.5, 0.5): mean 0, variance 1/12, every value inside
        assertThat(sum / a.length).isCloseTo(0, within(0.01));
        assertThat(sumSq / a.length).isCloseTo(1.0 / 12, within(0.002));
        assertThat(min).isGreaterThanOrEqualTo(-0.5f);
        assertThat(max).isLessThanOrEqualTo(0.5f);
        assertThat(max - min).isGreaterThan(0.99f);
    }

    @Test
    void loraShrinkStopsAtTheSlotsRankAndExpandScales() {
        // K = 2, max rank 2; slot 0 rank 1, slot 1 rank 2; token 2 has no adapter
        short[] a = bf(1, 1, 9, 9, 1, 0, 0, 1);
        float[] x = {3, 4, 3, 4, 3, 4};
        int[] tokenSlot = {0, 1, -1};
        int[] rank = {1, 2};
        float[] tmp = KernelReferences.loraShrink(x, 2, a, tokenSlot, rank, 2);
        assertThat(tmp).containsExactly(7, 0, 3, 4, 0, 0);
        // N = 1: B[slot][0] = [1, 1], into column 1 of rows of 2 (a fused output's second projection)
        float[] y = {10, 10, 10, 10, 10, 10};
        KernelReferences.loraExpand(tmp, bf(1, 1, 1, 1), tokenSlot, rank, new float[] {2, 0.5f}, 2, 1, 2, y, 1);
        assertThat(y).containsExactly(10, 24, 10, 13.5f, 10, 10);
    }

    /**
     * Split-K attention, split and combined, gives the unsplit attention: rows of 0 to 300 positions (empty rows, rows
     * shorter than one split, a sliding window), GQA, 1 to 7 splits of whole KV blocks, and one split is the plain
     * kernel's answer to the float.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "{0} splits, window {1}")
    @org.junit.jupiter.params.provider.CsvSource({"1, 0", "2, 0", "3, 0", "7, 0", "4, 50"})
    void splitAttentionCombinedIsTheWholeAttention(int splits, int window) {
        java.util.SplittableRandom rng = new java.util.SplittableRandom(splits * 7L + window);
        int heads = 4;
        int kvHeads = 2;
        int headDim = 8;
        int blockSize = 16;
        int maxBlocks = 20;
        int totalBlocks = 40;
        float[] kc = new float[totalBlocks * kvHeads * blockSize * headDim];
        float[] vc = new float[kc.length];
        for (int i = 0; i < kc.length; i++) {
            kc[i] = (float) rng.nextGaussian();
            vc[i] = (float) rng.nextGaussian();
        }
        int[] lens = {0, 1, 15, 17, 100, 300};
        int[] tables = new int[lens.length * maxBlocks];
        for (int i = 0; i < tables.length; i++) {
            tables[i] = rng.nextInt(totalBlocks);
        }
        float[] q = new float[lens.length * heads * headDim];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) rng.nextGaussian();
        }
        float scale = (float) (1 / Math.sqrt(headDim));
        float[] whole = KernelReferences.pagedAttention(
                q, kc, vc, tables, maxBlocks, lens, heads, kvHeads, headDim, blockSize, scale, window);
        float[] part = KernelReferences.pagedAttentionSplit(
                q, kc, vc, tables, maxBlocks, lens, heads, kvHeads, headDim, blockSize, scale, window, splits);
        assertThat(part).hasSize(lens.length * heads * splits * (headDim + 2));
        float[] combined = KernelReferences.attentionCombine(part, lens.length, heads, headDim, splits);
        assertThat(combined).hasSize(whole.length);
        for (int i = 0; i < whole.length; i++) {
            if (splits == 1) {
                assertThat(combined[i]).as("value %d", i).isCloseTo(whole[i], within(1e-6f));
            } else {
                assertThat(combined[i]).as("value %d", i).isCloseTo(whole[i], within(1e-5f));
            }
        }
        // the empty row attends to nothing: zeros, as the plain kernel writes
        for (int i = 0; i < heads * headDim; i++) {
            assertThat(combined[i]).isZero();
        }
    }

    /**
     * The device draw's reference is the host sampler's draw: greedy takes the lowest id of a tie, a temperature
     * draw with the uniform the sampler's stream gives lands on the token the sampler draws, min-p leaves the tokens
     * under its floor out, and a uniform a hair below 1 takes the last token that can be drawn.
     */
    @Test
    void sampleRowsDrawsWhatTheHostSamplerDraws() {
        int vocab = 1000;
        java.util.SplittableRandom rng = new java.util.SplittableRandom(3);
        float[] logits = new float[4 * vocab];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) (rng.nextGaussian() * 3);
        }
        logits[17] = 50;
        logits[400] = 50; // row 0: a tie at the top
        int[] greedy = KernelReferences.sampleRows(
                logits, vocab, new int[] {0}, new float[] {0}, new float[] {0}, new double[] {0.5});
        assertThat(greedy).containsExactly(17);
        for (int row = 1; row < 4; row++) {
            for (long seed = 0; seed < 20; seed++) {
                double minP = row == 3 ? 0.05 : 0;
                io.twinserve.engine.sample.SamplingParams params = new io.twinserve.engine.sample.SamplingParams(
                        0.7,
                        0,
                        1,
                        seed,
                        8,
                        java.util.List.of(),
                        java.util.List.of(),
                        true,
                        0,
                        0,
                        1,
                        minP,
                        java.util.Map.of(),
                        -1);
                io.twinserve.engine.sample.Sampler host = new io.twinserve.engine.sample.Sampler(params);
                io.twinserve.engine.sample.Sampler device = new io.twinserve.engine.sample.Sampler(params);
                assertThat(device.drawableOnDevice()).isTrue();
                for (int token = 0; token < 3; token++) {
                    int want = host.sample(logits, row * vocab, vocab);
                    int got = KernelReferences.sampleRows(
                            logits,
                            vocab,
                            new int[] {row},
                            new float[] {0.7f},
                            new float[] {(float) minP},
                            new double[] {device.nextUniform()})[0];
                    assertThat(got)
                            .as("row %d, seed %d, token %d", row, seed, token)
                            .isEqualTo(want);
                }
            }
        }
        // top-k and top-p (with ties at their bounds: logits rounded to a coarse grid), the host's draws too
        float[] coarse = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            coarse[i] = Math.round(logits[vocab + i] * 2) / 2f;
        }
        int[][] tops = {{50, 100}, {0, 90}, {7, 100}, {200, 50}, {1, 100}};
        for (int[] top : tops) {
            for (long seed = 0; seed < 20; seed++) {
                io.twinserve.engine.sample.SamplingParams params = new io.twinserve.engine.sample.SamplingParams(
                        0.9, top[0], top[1] / 100.0, seed, 8, java.util.List.of(), java.util.List.of(), true);
                io.twinserve.engine.sample.Sampler host = new io.twinserve.engine.sample.Sampler(params);
                io.twinserve.engine.sample.Sampler device = new io.twinserve.engine.sample.Sampler(params);
                assertThat(device.drawableOnDevice()).isTrue();
                for (int token = 0; token < 3; token++) {
                    int want = host.sample(coarse, 0, vocab);
                    double u = params.isGreedy() ? 0 : device.nextUniform();
                    int got = KernelReferences.sampleRows(
                            coarse,
                            vocab,
                            new int[] {0},
                            new float[] {0.9f},
                            new float[] {0},
                            new int[] {top[0]},
                            new float[] {(float) (top[1] / 100.0)},
                            new double[] {u})[0];
                    assertThat(got)
                            .as("top-k %d, top-p %d%%, seed %d, token %d", top[0], top[1], seed, token)
                            .isEqualTo(want);
                }
            }
        }
        // min-p 0.5 of a row with one dominant token: nothing else can be drawn
        float[] peaked = new float[vocab];
        peaked[123] = 10;
        int[] only = KernelReferences.sampleRows(
                peaked, vocab, new int[] {0}, new float[] {1}, new float[] {0.5f}, new double[] {0.999});
        assertThat(only).containsExactly(123);
        // a uniform a hair below 1 over a flat row whose last tokens are floored out: the last drawable token
        float[] flat = new float[vocab];
        for (int i = vocab - 10; i < vocab; i++) {
            flat[i] = -100;
        }
        int[] last = KernelReferences.sampleRows(
                flat, vocab, new int[] {0}, new float[] {1}, new float[] {0.01f}, new double[] {Math.nextDown(1.0)});
        assertThat(last).containsExactly(vocab - 11);
    }
}
