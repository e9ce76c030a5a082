package io.twinserve.traces.spec;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Prompt and output token counts, with caps. With sessions, {@code prompt} is the new user message of
 * each turn; the turn's whole prompt also holds the earlier turns.
 *
 * @param caps {@code clip} a draw into [min, max] (default), or {@code resample} until it fits, as
 *     serving benchmarks filter ShareGPT
 */
public record LengthsSpec(
        DistributionSpec prompt,
        DistributionSpec output,
        Integer minPrompt,
        Integer maxPrompt,
        Integer minOutput,
        Integer maxOutput,
        Integer maxTotal,
        CapMode caps) {

    /** What to do with a draw outside the caps. */
    public enum CapMode {
        @JsonProperty("clip")
        CLIP,
        @JsonProperty("resample")
        RESAMPLE
    }

    /**
     * The longest prompt or output a spec may ask for, in tokens: 16 Mi, above the longest context of any
     * served model (10 M tokens), so that a typo such as 2^63 is refused instead of clipped silently.
     */
    public static final int MAX_LENGTH_TOKENS = 1 << 24;

    public LengthsSpec {
        Check.required("prompt", prompt);
        Check.required("output", output);
        checkBounded("prompt", prompt);
        checkBounded("output", output);
        minPrompt = minPrompt == null ? 1 : minPrompt;
        minOutput = minOutput == null ? 1 : minOutput;
        Check.atLeast("min_prompt", minPrompt, 1);
        Check.atLeast("min_output", minOutput, 1);
        maxPrompt = maxPrompt == null ? Integer.MAX_VALUE / 4 : maxPrompt;
        maxOutput = maxOutput == null ? Integer.MAX_VALUE / 4 : maxOutput;
        Check.atLeast("max_prompt", maxPrompt, minPrompt);
        Check.atLeast("max_output", maxOutput, minOutput);
        Check.atMost("min_prompt", minPrompt, MAX_LENGTH_TOKENS);
        Check.atMost("min_output", minOutput, MAX_LENGTH_TOKENS);
        if (maxTotal != null) {
            Check.atLeast("max_total", maxTotal, minPrompt + minOutput);
        } else {
            maxTotal = Integer.MAX_VALUE / 2;
        }
        if (caps == null) {
            caps = CapMode.CLIP;
        }
    }

    /** A distribution of token counts whose fixed value, mean or bounds exceed {@link #MAX_LENGTH_TOKENS}. */
    private static void checkBounded(String key, DistributionSpec d) {
        switch (d) {
            case DistributionSpec.Fixed f -> atMost(key + ".value", f.value());
            case DistributionSpec.Uniform u -> atMost(key + ".max", u.max());
            case DistributionSpec.Normal n -> {
                atMost(key + ".mean", n.mean());
                atMost(key + ".min", n.min());
            }
            case DistributionSpec.LogNormal l -> {
                atMost(key + ".mean", l.mean());
                atMost(key + ".min", l.min());
            }
            case DistributionSpec.Exponential e -> atMost(key + ".mean", e.mean());
            case DistributionSpec.Empirical e -> {
                // values come from a file; draws are clipped by the caps
            }
        }
    }

    private static void atMost(String key, Double v) {
        if (v != null && v > MAX_LENGTH_TOKENS) {
            throw new SpecException(
                    key,
                    "must be at most " + MAX_LENGTH_TOKENS + " tokens (the longest prompt or output a spec may ask"
                            + " for), got " + Check.fmt(v));
        }
    }
}
