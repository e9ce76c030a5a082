package io.twinserve.twin.slo;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.twinserve.traces.spec.SloSpec;
import io.twinserve.twin.cluster.ClusterSummary;
import io.twinserve.twin.metrics.Latency;
import io.twinserve.twin.metrics.RunSummary;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A run judged against an {@link SloSpec}: each bound with its measured value, whether it holds, and by
 * how much it misses. What every command reports as "good enough" (what-if's verdict, a sweep's best, a
 * capacity probe, the placement model's labels and plan checks).
 *
 * <p>TTFT counts from the client's intended send when a client held requests back (the wait a user
 * sees), otherwise from the send. A run where requests arrived but none got a first token misses the
 * TTFT bounds (their value is infinite), whatever its percentiles would say.
 *
 * @param slo the bounds judged (the effective ones: defaults and overrides applied)
 * @param checks every bound that is on, in {@link SloSpec#KEYS} order
 */
@JsonPropertyOrder({"met", "slo", "checks"})
public record SloVerdict(SloSpec slo, List<Check> checks) {

    /**
     * One bound: {@code actual} against {@code limit}, an upper bound unless {@code atLeast}.
     *
     * @param key the bound's key ({@link SloSpec#KEYS})
     * @param label how reports name it
     * @param unit "ms", "%" or "" (a count); percentages are kept as shares and printed times 100
     */
    @JsonPropertyOrder({"key", "met", "actual", "limit"})
    public record Check(
            String key,
            @JsonIgnore String label,
            @JsonIgnore String unit,
            double limit,
            double actual,
            @JsonIgnore boolean atLeast) {
        @JsonProperty("met")
        public boolean met() {
            // an upper bound with nothing measured holds (no token gaps when every answer is one token long)
            return atLeast ? actual >= limit : Double.isNaN(actual) || actual <= limit;
        }

        /** How far it is from the bound, as a factor >= 0 (below 1: within; above 1: missed by that factor). */
        public double severity() {
            if (Double.isNaN(actual) && !atLeast) {
                return 0;
            }
            if (atLeast) {
                return actual <= 0 ? Double.POSITIVE_INFINITY : limit / actual;
            }
            if (limit <= 0) {
                return actual <= 0 ? 0 : 1 + actual;
            }
            return actual / limit;
        }

        /** "TTFT p90 31,031 ms > 2,000 ms (15.5x the bound)", or with {@code <=} when it holds. */
        public String describe() {
            String op = met() ? (atLeast ? ">=" : "<=") : (atLeast ? "<" : ">");
            String text = label + " " + value(actual) + " " + op + " " + value(limit);
            if (!met() && !atLeast && limit > 0 && Double.isFinite(actual)) {
                text += String.format(Locale.ROOT, " (%.1fx the bound)", actual / limit);
            }
            return text;
        }

        private String value(double v) {
            if (Double.isInfinite(v)) {
                return "none answered";
            }
            if (Double.isNaN(v)) {
                return "none measured";
            }
            return switch (unit) {
                case "ms" -> String.format(Locale.ROOT, v >= 100 ? "%,.0f ms" : "%,.1f ms", v);
                case "%" -> String.format(Locale.ROOT, "%.2f%%", 100 * v);
                default -> String.format(Locale.ROOT, "%,.0f", v);
            };
        }
    }

    /** Whether every bound holds. */
    @JsonProperty("met")
    public boolean met() {
        for (Check c : checks) {
            if (!c.met()) {
                return false;
            }
        }
        return true;
    }

    /** The bounds that do not hold. */
    @JsonIgnore
    public List<Check> missed() {
        return checks.stream().filter(c -> !c.met()).toList();
    }

    /** The largest {@link Check#severity} (at most 1 when the SLO is met): how to rank runs that miss it. */
    @JsonIgnore
    public double worstSeverity() {
        double worst = 0;
        for (Check c : checks) {
            worst = Math.max(worst, c.severity());
        }
        return worst;
    }

    /** A table cell: "meets", or "misses" and the missed bounds' names. */
    public String brief() {
        List<Check> missed = missed();
        return missed.isEmpty()
                ? "meets"
                : "misses "
                        + String.join(", ", missed.stream().map(Check::label).toList());
    }

    /** One line: "meets: ..." with every bound, or "MISSES n of m: ..." with the missed bounds first. */
    public String line() {
        if (checks.isEmpty()) {
            return "no bound set";
        }
        List<Check> missed = missed();
        if (missed.isEmpty()) {
            return "meets: "
                    + String.join(", ", checks.stream().map(Check::describe).toList());
        }
        List<String> held =
                checks.stream().filter(Check::met).map(Check::describe).toList();
        return String.format(
                Locale.ROOT,
                "MISSES %d of %d: %s%s",
                missed.size(),
                checks.size(),
                String.join(", ", missed.stream().map(Check::describe).toList()),
                held.isEmpty() ? "" : "; holds " + String.join(", ", held));
    }

    /** Judges a single-replica run. */
    public static SloVerdict of(SloSpec slo, RunSummary s) {
        Latency ttft = s.ttftFromIntended() != null ? s.ttftFromIntended() : s.ttft();
        return of(
                slo,
                s.requestsArrived() == 0 || ttft.count() > 0,
                ttft.p90Ms(),
                ttft.p99Ms(),
                s.itl().p99Ms(),
                share(s.requestsTimedOut(), s.requestsArrived()),
                served(s.offered(), s.achieved()),
                s.starvedRequests());
    }

    /** Judges one deployment of a cluster run cut at its window. */
    public static SloVerdict of(SloSpec slo, ClusterSummary.DeploymentSummary d) {
        return of(slo, d, false);
    }

    /**
     * Judges one deployment of a cluster run; {@code drained}: the run followed every arrival of the window to
     * its end (a capacity probe), so the served share is the share of arrived requests that finished rather
     * than the window's tokens (which the requests finishing after the window's end would bias low, more so
     * in short windows).
     */
    public static SloVerdict of(SloSpec slo, ClusterSummary.DeploymentSummary d, boolean drained) {
        Latency ttft = d.ttftFromIntended() != null ? d.ttftFromIntended() : d.ttft();
        double served = drained
                ? (d.requestsArrived() == 0 ? 1 : (double) d.requestsFinished() / d.requestsArrived())
                : served(d.offered(), d.achieved());
        return of(
                slo,
                d.requestsArrived() == 0 || ttft.count() > 0,
                ttft.p90Ms(),
                ttft.p99Ms(),
                d.itl().p99Ms(),
                share(d.requestsTimedOut(), d.requestsArrived()),
                served,
                d.starvedRequests());
    }

    private static double share(long part, long whole) {
        return whole == 0 ? 0 : (double) part / whole;
    }

    private static double served(RunSummary.Throughput offered, RunSummary.Throughput achieved) {
        return offered.totalTokensPerS() > 0 ? achieved.totalTokensPerS() / offered.totalTokensPerS() : 1;
    }

    /**
     * Judges a run from its figures (what a sweep's dataset row keeps).
     *
     * @param answered whether some request got a first token (or none arrived); when false the TTFT bounds
     *     miss, whatever the percentiles say
     * @param servedShare achieved over offered tokens per second (1 when nothing was offered)
     */
    public static SloVerdict of(
            SloSpec slo,
            boolean answered,
            double ttftP90Ms,
            double ttftP99Ms,
            double itlP99Ms,
            double timedOutShare,
            double servedShare,
            long starved) {
        List<Check> checks = new ArrayList<>();
        if (on(slo.ttftP90Ms())) {
            checks.add(new Check(
                    "ttft_p90_ms",
                    "TTFT p90",
                    "ms",
                    slo.ttftP90Ms(),
                    answered ? ttftP90Ms : Double.POSITIVE_INFINITY,
                    false));
        }
        if (on(slo.ttftP99Ms())) {
            checks.add(new Check(
                    "ttft_p99_ms",
                    "TTFT p99",
                    "ms",
                    slo.ttftP99Ms(),
                    answered ? ttftP99Ms : Double.POSITIVE_INFINITY,
                    false));
        }
        if (on(slo.itlP99Ms())) {
            checks.add(new Check("itl_p99_ms", "ITL p99", "ms", slo.itlP99Ms(), itlP99Ms, false));
        }
        if (slo.maxTimedOutFraction() != null && slo.maxTimedOutFraction() < 1) {
            checks.add(
                    new Check("max_timed_out_fraction", "408s", "%", slo.maxTimedOutFraction(), timedOutShare, false));
        }
        if (slo.minServedShare() != null && slo.minServedShare() > 0) {
            checks.add(new Check("min_served_share", "served", "%", slo.minServedShare(), servedShare, true));
        }
        if (Boolean.TRUE.equals(slo.noStarvation())) {
            checks.add(new Check("no_starvation", "starved requests", "", 0, starved, false));
        }
        return new SloVerdict(slo, List.copyOf(checks));
    }

    private static boolean on(Double bound) {
        return bound != null && Double.isFinite(bound);
    }
}
