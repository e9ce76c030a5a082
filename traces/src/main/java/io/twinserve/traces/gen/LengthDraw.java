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
}
