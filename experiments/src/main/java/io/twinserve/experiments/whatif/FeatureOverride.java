package io.twinserve.experiments.whatif;

import java.util.List;

/**
 * One {@code NAME=VALUE} override of a planned workload's features (plan's {@code --feature}), checked when it
 * is read so a command line can refuse an impossible value as a usage error before any work.
 */
public record FeatureOverride(String name, double value) {
    /** The features an override may name. */
    public static final List<String> NAMES =
            List.of("rate_high", "rate_mid", "rate_low", "prompt_mean", "output_mean", "cv", "adapters", "tier_skew");

    /**
     * Reads {@code NAME=VALUE}.
     *
     * @throws IllegalArgumentException naming the feature, what was given and what is allowed
     */
    public static FeatureOverride parse(String assignment) {
        int eq = assignment.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("--feature must be NAME=VALUE, got '" + assignment + "'");
        }
        String name = assignment.substring(0, eq).trim();
        String text = assignment.substring(eq + 1).trim();
        double value;
        try {
            value = Double.parseDouble(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "--feature " + name + ": '" + assignment.substring(eq + 1) + "' is not a number");
        }
        if (name.equals("tier_skew")) {
            if (!(value >= 0) || !(value < 1)) {
                throw new IllegalArgumentException("--feature tier_skew: must be an exponent in [0, 1) (0: a tier's"
                        + " adapters share its traffic evenly), got " + text);
            }
            return new FeatureOverride(name, value);
        }
        if (!(value > 0) || !Double.isFinite(value)) {
            throw new IllegalArgumentException("--feature " + name
                    + ": must be a finite number > 0 (a rate, a length, a CV or an adapter count), got " + text);
        }
        if (!NAMES.contains(name)) {
            throw new IllegalArgumentException(
                    "--feature: unknown feature '" + name + "'; known: " + String.join(", ", NAMES));
        }
        return new FeatureOverride(name, value);
    }
}
