package io.twinserve.traces.spec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A latency and service objective: what a run must achieve to be good enough. One notion for every
 * command: what-if's verdict, a sweep's best, capacity searches, the placement model's labels and plans.
 *
 * <p>Every bound is optional here; a spec sets those it cares about and inherits the rest ({@link
 * #over}), down to {@link #DEFAULTS}: the workload's {@code slo} block, then the deployment's (or the
 * capacity spec's), then the command line's {@code --slo}. A bound set to {@code off} on the command line
 * (or to 0 for {@code min_served_share}, 1 for {@code max_timed_out_fraction}) is not checked.
 *
 * @param ttftP90Ms the 90th percentile of time to first token, in ms (from the client's intended send when
 *     a client holds requests back, otherwise from the send)
 * @param ttftP99Ms the 99th percentile of time to first token, in ms
 * @param itlP99Ms the 99th percentile of inter-token latency, in ms
 * @param maxTimedOutFraction the largest share of arrived requests that may time out (408)
 * @param minServedShare the least share of the offered load (tokens per second) that must be served
 * @param noStarvation no request may wait longer than the deployment's starvation bound before it is
 *     first scheduled
 */
public record SloSpec(
        Double ttftP90Ms,
        Double ttftP99Ms,
        Double itlP99Ms,
        Double maxTimedOutFraction,
        Double minServedShare,
        Boolean noStarvation) {

    /**
     * The bounds of an interactive service when nothing else is said: a first token within 2 s for 90% of
     * requests and within 5 s for 99%, tokens at least every 200 ms (p99; people read 4-8 tokens a second),
     * at most 1% of requests timing out, at least 95% of the offered load served (the study's starvation
     * test allows 10% less), and no request waiting for its first schedule past the starvation bound.
     */
    public static final SloSpec DEFAULTS = new SloSpec(2_000.0, 5_000.0, 200.0, 0.01, 0.95, true);

    /** No bound set (everything inherited). */
    public static final SloSpec NONE = new SloSpec(null, null, null, null, null, null);

    /** The command line's word for a bound that is not checked. */
    public static final String OFF = "off";

    public SloSpec {
        positiveOrOff("ttft_p90_ms", ttftP90Ms);
        positiveOrOff("ttft_p99_ms", ttftP99Ms);
        positiveOrOff("itl_p99_ms", itlP99Ms);
        if (maxTimedOutFraction != null && !(maxTimedOutFraction >= 0 && maxTimedOutFraction <= 1)) {
            throw new SpecException(
                    "max_timed_out_fraction",
                    "must be a share in [0, 1] (0.01 is 1%), got " + Check.fmt(maxTimedOutFraction));
        }
        if (minServedShare != null && !(minServedShare >= 0 && minServedShare <= 1)) {
            throw new SpecException(
                    "min_served_share",
                    "must be a share in [0, 1] (0.95 is 95% of the offered load)," + " got "
                            + Check.fmt(minServedShare));
        }
    }

    private static void positiveOrOff(String key, Double v) {
        if (v != null && !(v > 0)) {
            throw new SpecException(
                    key, "must be a latency in ms > 0 (or off on the command line), got " + Check.fmt(v));
        }
    }

    /** This spec's bounds where set, {@code base}'s elsewhere. */
    public SloSpec over(SloSpec base) {
        if (base == null) {
            return this;
        }
        return new SloSpec(
                pick(ttftP90Ms, base.ttftP90Ms),
                pick(ttftP99Ms, base.ttftP99Ms),
                pick(itlP99Ms, base.itlP99Ms),
                pick(maxTimedOutFraction, base.maxTimedOutFraction),
                pick(minServedShare, base.minServedShare),
                pick(noStarvation, base.noStarvation));
    }

    private static <T> T pick(T mine, T theirs) {
        return mine != null ? mine : theirs;
    }

    /**
     * The effective objective of a run: the defaults, then each layer in order (nulls skipped), each
     * overriding the bounds it sets.
     */
    public static SloSpec resolve(SloSpec... layers) {
        SloSpec out = DEFAULTS;
        for (SloSpec layer : layers) {
            if (layer != null) {
                out = layer.over(out);
            }
        }
        return out;
    }

    /** The keys of the YAML block and of {@code --slo}, in order. */
    public static final List<String> KEYS = List.of(
            "ttft_p90_ms", "ttft_p99_ms", "itl_p99_ms", "max_timed_out_fraction", "min_served_share", "no_starvation");

    /**
     * Parses the command line's {@code --slo KEY=VALUE[,KEY=VALUE...]} (repeatable). {@code off} turns a
     * latency bound off (it becomes infinite), and a share bound to its loosest value.
     *
     * @throws SpecException naming the key (with the keys there are) or the value
     */
    public static SloSpec parseAssignments(List<String> assignments) {
        Map<String, String> values = new LinkedHashMap<>();
        for (String a : assignments) {
            for (String part : a.split(",")) {
                String p = part.trim();
                if (p.isEmpty()) {
                    continue;
                }
                int eq = p.indexOf('=');
                if (eq <= 0 || eq == p.length() - 1) {
                    throw new SpecException(
                            "--slo", "expected KEY=VALUE (keys: " + String.join(", ", KEYS) + "), got '" + p + "'");
                }
                String key = p.substring(0, eq).trim().toLowerCase(Locale.ROOT).replace('-', '_');
                if (!KEYS.contains(key)) {
                    throw new SpecException(
                            "--slo " + key,
                            "is not an SLO bound" + KeySuggestions.didYouMean(key, KEYS) + "; expected one of "
                                    + String.join(", ", KEYS));
                }
                values.put(key, p.substring(eq + 1).trim());
            }
        }
        return new SloSpec(
                latency(values, "ttft_p90_ms"),
                latency(values, "ttft_p99_ms"),
                latency(values, "itl_p99_ms"),
                share(values, "max_timed_out_fraction", 1.0),
                share(values, "min_served_share", 0.0),
                flag(values));
    }

    private static Double latency(Map<String, String> values, String key) {
        String v = values.get(key);
        if (v == null) {
            return null;
        }
        return OFF.equalsIgnoreCase(v) ? Double.POSITIVE_INFINITY : number(key, v);
    }

    private static Double share(Map<String, String> values, String key, double off) {
        String v = values.get(key);
        if (v == null) {
            return null;
        }
        return OFF.equalsIgnoreCase(v) ? off : number(key, v);
    }

    private static Boolean flag(Map<String, String> values) {
        String v = values.get("no_starvation");
        if (v == null) {
            return null;
        }
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on" -> true;
            case "false", "no", OFF -> false;
            default -> throw new SpecException("--slo no_starvation", "must be true or false, got '" + v + "'");
        };
    }

    private static double number(String key, String v) {
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new SpecException("--slo " + key, "must be a number (or off), got '" + v + "'");
        }
    }

    /**
     * The first bound (its key) where this resolved SLO lets pass what {@code other} (resolved) does not,
     * null when every run meeting this one meets {@code other} too.
     */
    public String looserBoundThan(SloSpec other) {
        if (ttftP90Ms > other.ttftP90Ms) {
            return "ttft_p90_ms";
        }
        if (ttftP99Ms > other.ttftP99Ms) {
            return "ttft_p99_ms";
        }
        if (itlP99Ms > other.itlP99Ms) {
            return "itl_p99_ms";
        }
        if (maxTimedOutFraction > other.maxTimedOutFraction) {
            return "max_timed_out_fraction";
        }
        if (minServedShare < other.minServedShare) {
            return "min_served_share";
        }
        if (!noStarvation && other.noStarvation) {
            return "no_starvation";
        }
        return null;
    }

    /** The bounds as text, for reports: "TTFT p90 <= 2,000 ms, ..." (bounds that are off left out). */
    public String describe() {
        List<String> parts = new ArrayList<>();
        if (ttftP90Ms != null && Double.isFinite(ttftP90Ms)) {
            parts.add(String.format(Locale.ROOT, "TTFT p90 <= %,.0f ms", ttftP90Ms));
        }
        if (ttftP99Ms != null && Double.isFinite(ttftP99Ms)) {
            parts.add(String.format(Locale.ROOT, "TTFT p99 <= %,.0f ms", ttftP99Ms));
        }
        if (itlP99Ms != null && Double.isFinite(itlP99Ms)) {
            parts.add(String.format(Locale.ROOT, "ITL p99 <= %,.0f ms", itlP99Ms));
        }
        if (maxTimedOutFraction != null && maxTimedOutFraction < 1) {
            parts.add(String.format(Locale.ROOT, "408s <= %s%%", Check.fmt(100 * maxTimedOutFraction)));
        }
        if (minServedShare != null && minServedShare > 0) {
            parts.add(String.format(Locale.ROOT, "served >= %s%% of offered", Check.fmt(100 * minServedShare)));
        }
        if (Boolean.TRUE.equals(noStarvation)) {
            parts.add("no starved request");
        }
        return parts.isEmpty() ? "no bound" : String.join(", ", parts);
    }
}
