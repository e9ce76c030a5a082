package io.twinserve.traces.gen;

import io.twinserve.traces.spec.DistributionSpec;
import io.twinserve.traces.spec.LengthsSpec;
import io.twinserve.traces.spec.SpecException;
import java.util.SplittableRandom;

/** Draws (prompt, output) token pairs within the spec's caps. */
final class LengthDraw {
    private static final int MAX_RESAMPLES = 10_000;

    private final LengthsSpec spec;
    private final Samplers.IntSampler prompt;
    private final Samplers.IntSampler output;
    private final int[][] jointRows;
    private final SplittableRandom rng;
    int promptTokens;
    int outputTokens;

    LengthDraw(LengthsSpec spec, Samplers samplers, SplittableRandom rng) {
        this.spec = spec;
        this.rng = rng;
        if (spec.prompt() instanceof DistributionSpec.Empirical p
                && spec.output() instanceof DistributionSpec.Empirical o
                && samplers.resolve(p.file()).equals(samplers.resolve(o.file()))) {
            // same file: draw whole rows so that prompt and output keep their correlation
            jointRows = samplers.columns(p, o, "lengths");
            if (jointRows[0].length != jointRows[1].length) {
                throw new SpecException("lengths", "prompt and output columns have different lengths");
            }
            prompt = null;
            output = null;
        } else {
            jointRows = null;
            prompt = samplers.ints(spec.prompt(), rng, "lengths.prompt");
            output = samplers.ints(spec.output(), rng, "lengths.output");
        }
    }

    /** Draws into {@link #promptTokens} and {@link #outputTokens}. */
    void draw() {
        if (spec.caps() == LengthsSpec.CapMode.CLIP) {
            drawRaw();
            int p = Math.clamp(promptTokens, spec.minPrompt(), spec.maxPrompt());
            int o = Math.clamp(outputTokens, spec.minOutput(), spec.maxOutput());
            if (p + o > spec.maxTotal()) {
                o = Math.max(spec.minOutput(), spec.maxTotal() - p);
                p = spec.maxTotal() - o;
            }
            promptTokens = p;
            outputTokens = o;
            return;
        }
        for (int attempt = 0; attempt < MAX_RESAMPLES; attempt++) {
            drawRaw();
            if (promptTokens >= spec.minPrompt()
                    && promptTokens <= spec.maxPrompt()
                    && outputTokens >= spec.minOutput()
                    && outputTokens <= spec.maxOutput()
                    && promptTokens + outputTokens <= spec.maxTotal()) {
                return;
            }
        }
        throw new SpecException(
                "lengths.caps",
                "resample found no draw within the caps in " + MAX_RESAMPLES
                        + " tries; widen min/max_prompt, min/max_output or max_total, or use caps: clip");
    }

    /** Draws a single prompt (a session turn's new message), clipped to the prompt caps. */
    int drawMessage() {
        drawRaw();
        return Math.clamp(promptTokens, spec.minPrompt(), spec.maxPrompt());
    }

    int clipOutput(int o) {
        return Math.clamp(o, spec.minOutput(), spec.maxOutput());
    }

    private void drawRaw() {
        if (jointRows != null) {
            int i = rng.nextInt(jointRows[0].length);
            promptTokens = jointRows[0][i];
            outputTokens = jointRows[1][i];
        } else {
            promptTokens = prompt.sample();
            outputTokens = output.sample();
        }
    }

    /** Draws from the spec's distributions, before caps, that {@link #capWarning} looks at. */
    static final int PROBE_DRAWS = 20_000;

    /**
     * A warning when the caps change the lengths a spec asks for: more than half of the distributions' draws fall
     * outside them (then they are drawn again or clipped, and the lengths served are not the distributions'), or
     * clipping moves the means by more than 10%. Null otherwise. Estimated from {@link
     * #PROBE_DRAWS} draws of a stream of its own, so the workload's requests do not move.
     */
    static String capWarning(LengthsSpec spec, Samplers samplers, long seed) {
        LengthDraw probe = new LengthDraw(spec, samplers, new SplittableRandom(seed ^ 0x6c656e67746873L));
        double rawPrompt = 0;
        double rawOutput = 0;
        double keptPrompt = 0;
        double keptOutput = 0;
        int kept = 0;
        int outside = 0;
        for (int i = 0; i < PROBE_DRAWS; i++) {
            probe.drawRaw();
            int p = probe.promptTokens;
            int o = probe.outputTokens;
            rawPrompt += p;
            rawOutput += o;
            boolean in = p >= spec.minPrompt()
                    && p <= spec.maxPrompt()
                    && o >= spec.minOutput()
                    && o <= spec.maxOutput()
                    && p + o <= spec.maxTotal();
            if (!in) {
                outside++;
            }
            if (spec.caps() == LengthsSpec.CapMode.CLIP) {
                int cp = Math.clamp(p, spec.minPrompt(), spec.maxPrompt());
                int co = Math.clamp(o, spec.minOutput(), spec.maxOutput());
                if (cp + co > spec.maxTotal()) {
                    co = Math.max(spec.minOutput(), spec.maxTotal() - cp);
                    cp = spec.maxTotal() - co;
                }
                keptPrompt += cp;
                keptOutput += co;
                kept++;
            } else if (in) {
                keptPrompt += p;
                keptOutput += o;
                kept++;
            }
        }
        rawPrompt /= PROBE_DRAWS;
        rawOutput /= PROBE_DRAWS;
        double share = (double) outside / PROBE_DRAWS;
        if (kept == 0) {
            return null; // the generator itself refuses this spec, naming it
        }
        keptPrompt /= kept;
        keptOutput /= kept;
        boolean moved = Math.abs(keptPrompt - rawPrompt) > 0.1 * rawPrompt
                || Math.abs(keptOutput - rawOutput) > 0.1 * rawOutput;
        // drawing again is a filter the user asked for (the serving benchmarks' ShareGPT caps): said only when it
        // keeps under half of the draws; clipping piles lengths on the caps, said when it moves the means
        if (share <= 0.5 && !(spec.caps() == LengthsSpec.CapMode.CLIP && moved)) {
            return null;
        }
        String total = spec.maxTotal() == Integer.MAX_VALUE / 2 ? "" : ", total at most " + spec.maxTotal();
        return String.format(
                java.util.Locale.ROOT,
                "lengths: %.0f%% of the distributions' draws fall outside the caps (prompt %s, output %s%s) and are %s:"
                        + " prompts average %.0f tokens and outputs %.0f, where the distributions give %.0f and %.0f;"
                        + " widen the caps or change the distributions to serve the lengths they describe",
                100 * share,
                range(spec.minPrompt(), spec.maxPrompt()),
                range(spec.minOutput(), spec.maxOutput()),
                total,
                spec.caps() == LengthsSpec.CapMode.CLIP ? "clipped" : "drawn again",
                keptPrompt,
                keptOutput,
                rawPrompt,
                rawOutput);
    }

    private static String range(int min, int max) {
        return min + ".." + (max == Integer.MAX_VALUE / 4 ? "" : Integer.toString(max));
    }
}
