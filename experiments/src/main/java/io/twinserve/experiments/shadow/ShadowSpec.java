package io.twinserve.experiments.shadow;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * How a deployment's shadow twin runs and when it raises its drift alarm ({@code compute_config.shadow}).
 *
 * @param windowS the length of a window: figures are compared per window (default 60 s)
 * @param warmupWindows windows of earlier arrivals the twin replays before a window, so that it enters the
 *     window with the batch and queue the live side had (default 2)
 * @param driftBound how far a figure's prediction may be from its measurement: a window drifts when they
 *     differ by more than a factor of 1 + drift_bound either way (default 0.25: predicted over measured
 *     outside 0.8 to 1.25)
 * @param driftWindows consecutive drifting windows that raise the alarm (default 3); one window within the
 *     bound clears it
 * @param settleS the longest a window waits after its end for its requests to finish before it is judged
 *     without them (default 300 s)
 * @param minRequests windows with fewer finished requests are reported but not judged (default 5)
 * @param profile a live deployment's engine profile folder ({@code twinserve engine profile} of its model on
 *     its backend), whose table prices the twin's steps; null for a simulated deployment, whose twin is itself
 */
public record ShadowSpec(
        double windowS,
        int warmupWindows,
        double driftBound,
        int driftWindows,
        double settleS,
        int minRequests,
        String profile) {

    public static final List<String> KEYS = List.of(
            "window_s", "warmup_windows", "drift_bound", "drift_windows", "settle_s", "min_requests", "profile");

    public ShadowSpec {
        check(windowS >= 0.1 && windowS <= 86_400, "window_s", "between 0.1 and 86400 seconds", windowS);
        check(warmupWindows >= 0 && warmupWindows <= 60, "warmup_windows", "between 0 and 60", warmupWindows);
        check(driftBound > 0 && driftBound <= 100, "drift_bound", "a relative error above 0 (0.25 = 25%)", driftBound);
        check(driftWindows >= 1 && driftWindows <= 1440, "drift_windows", "between 1 and 1440", driftWindows);
        check(settleS >= 0 && settleS <= 86_400, "settle_s", "between 0 and 86400 seconds", settleS);
        check(minRequests >= 1, "min_requests", "at least 1", minRequests);
    }

    public static ShadowSpec defaults() {
        return new ShadowSpec(60, 2, 0.25, 3, 300, 5, null);
    }

    public long windowNs() {
        return Math.round(windowS * 1e9);
    }

    public long settleNs() {
        return Math.round(settleS * 1e9);
    }

    /**
     * Reads {@code compute_config.shadow}: {@code true}/{@code false}, or an object of the keys in {@link #KEYS}
     * (absent ones take their defaults). Returns null when shadow mode is off.
     *
     * @throws IllegalArgumentException naming {@code compute_config.shadow.KEY}, what it got and what it expects
     */
    public static ShadowSpec parse(JsonNode n) {
        if (n == null || n.isNull() || n.isBoolean() && !n.booleanValue()) {
            return null;
        }
        if (n.isBoolean()) {
            return defaults();
        }
        if (!n.isObject()) {
            throw new IllegalArgumentException(
                    "compute_config.shadow: expected true, false or an object of " + KEYS + ", got " + n);
        }
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KEYS.contains(k)) {
                throw new IllegalArgumentException(
                        "compute_config.shadow." + k + " is not a known key; expected one of " + KEYS);
            }
        }
        ShadowSpec d = defaults();
        String profile = null;
        JsonNode p = n.get("profile");
        if (p != null && !p.isNull()) {
            if (!p.isTextual() || p.asText().isBlank()) {
                throw new IllegalArgumentException(
                        "compute_config.shadow.profile: expected the path of a folder written"
                                + " by 'twinserve engine profile', got " + p);
            }
            profile = p.asText();
        }
        return new ShadowSpec(
                number(n, "window_s", d.windowS()),
                (int) whole(n, "warmup_windows", d.warmupWindows()),
                number(n, "drift_bound", d.driftBound()),
                (int) whole(n, "drift_windows", d.driftWindows()),
                number(n, "settle_s", d.settleS()),
                (int) whole(n, "min_requests", d.minRequests()),
                profile);
    }

    /** The spec as compute_config writes it (for the API's answers). */
    public Map<String, Object> toMap() {
        var m = new java.util.LinkedHashMap<String, Object>();
        m.put("window_s", windowS);
        m.put("warmup_windows", warmupWindows);
        m.put("drift_bound", driftBound);
        m.put("drift_windows", driftWindows);
        m.put("settle_s", settleS);
        m.put("min_requests", minRequests);
        m.put("profile", profile);
        return m;
    }

    private static double number(JsonNode n, String key, double dflt) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isNumber()) {
            throw new IllegalArgumentException("compute_config.shadow." + key + ": expected a number, got " + v);
        }
        return v.doubleValue();
    }

    private static long whole(JsonNode n, String key, long dflt) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new IllegalArgumentException("compute_config.shadow." + key + ": expected a whole number, got " + v);
        }
        return v.intValue();
    }

    private static void check(boolean ok, String key, String expected, Object got) {
        if (!ok) {
            throw new IllegalArgumentException(
                    "compute_config.shadow." + key + ": expected " + expected + ", got " + got);
        }
    }
}
