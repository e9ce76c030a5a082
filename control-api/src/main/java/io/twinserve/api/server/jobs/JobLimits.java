package io.twinserve.api.server.jobs;

import io.twinserve.api.server.ApiException;
import io.twinserve.experiments.whatif.SpecSweep;
import io.twinserve.traces.spec.ArrivalsSpec;
import io.twinserve.traces.spec.DistributionSpec;
import io.twinserve.traces.spec.WorkloadSpec;
import java.util.List;
import java.util.Locale;

/**
 * What one job may ask of the server, checked when it is submitted: a workload of a billion requests (any
 * key may post one) is refused with a 400 naming the field at once, rather than failing in its worker
 * ({@link JobBudget}) after holding a worker and its owner's quota. The bounds are far above what a capacity question needs (an hour at 500 requests/s is 1.8
 * million requests; the command line has no bounds) and each refusal says which field, by how much and
 * what is allowed.
 */
final class JobLimits {
    /** Requests one simulated run may expect (rate x duration, or {@code requests}). */
    static final double MAX_REQUESTS = 2_000_000;
    /** A simulated window of at most a week. */
    static final double MAX_DURATION_S = 7 * 86_400;
    /** Configurations of one sweep. */
    static final int MAX_CONFIGURATIONS = 64;

    private JobLimits() {}

    /** Refuses a workload the server will not simulate in a job, naming the field. */
    static void check(WorkloadSpec w, String field) {
        if (w.durationS() != null && w.durationS() > MAX_DURATION_S) {
            throw ApiException.badRequest(
                    field + ".duration_s",
                    String.format(
                            Locale.ROOT,
                            "'%s.duration_s' is %.6g s; a job simulates at most %.0f s (a week)",
                            field,
                            w.durationS(),
                            MAX_DURATION_S));
        }
        if (w.arrivals() instanceof ArrivalsSpec.Trace) {
            throw ApiException.badRequest(
                    field + ".arrivals",
                    "'" + field + ".arrivals' of type trace reads a file on the server, which a job may not; "
                            + "give a rate (poisson, gamma or constant), or run the trace with twinserve what-if");
        }
        double expected = expectedRequests(w);
        if (expected > MAX_REQUESTS) {
            throw ApiException.badRequest(
                    field,
                    String.format(
                            Locale.ROOT,
                            "'%s' asks for about %.3g requests (%s); a job simulates at most %.0f per run:"
                                    + " lower the rate, duration_s or requests",
                            field,
                            expected,
                            w.requests() != null
                                    ? "requests"
                                    : "rate x duration_s" + (sessionsFactor(w) > 1 ? " x turns" : ""),
                            MAX_REQUESTS));
        }
    }

    /** Refuses a sweep of more configurations than a job runs. */
    static void check(SpecSweep sweep) {
        long configurations = 1;
        for (SpecSweep.Axis a : sweep.axes()) {
            configurations *= a.values().size();
            if (configurations > MAX_CONFIGURATIONS) {
                break;
            }
        }
        if (configurations > MAX_CONFIGURATIONS) {
            throw ApiException.badRequest(
                    "sweep",
                    "'sweep' makes more than " + MAX_CONFIGURATIONS + " configurations (the product of its value"
                            + " lists); split it into several jobs");
        }
    }

    /** The requests a run of {@code w} expects: {@code requests}, or its rate over its duration. */
    static double expectedRequests(WorkloadSpec w) {
        if (w.requests() != null) {
            return w.requests();
        }
        double duration = w.durationS() == null ? 0 : w.durationS();
        return totalRate(w) * duration * sessionsFactor(w);
    }

    private static double totalRate(WorkloadSpec w) {
        int adapters = w.adapters() == null || w.adapters().count() == null
                ? 1
                : Math.max(1, w.adapters().count());
        return switch (w.arrivals()) {
            case null -> 0;
            case ArrivalsSpec.Poisson p when p.rate() != null -> p.rate();
            case ArrivalsSpec.Poisson p -> mean(p.rateTiers()) * adapters;
            case ArrivalsSpec.Gamma g -> g.rate();
            case ArrivalsSpec.Constant c -> c.rate();
            case ArrivalsSpec.Trace t -> 0;
        };
    }

    /** Turns per session, at their largest (a session's arrival brings them all). */
    private static double sessionsFactor(WorkloadSpec w) {
        if (w.sessions() == null) {
            return 1;
        }
        return switch (w.sessions().turns()) {
            case DistributionSpec.Fixed f -> f.value();
            case DistributionSpec.Uniform u -> u.max();
            case DistributionSpec.Normal n -> n.max() != null ? n.max() : n.mean() + 4 * n.std();
            case DistributionSpec.LogNormal l -> l.max() != null ? l.max() : l.mean() + 4 * l.std();
            case DistributionSpec.Exponential e -> 10 * e.mean();
            case DistributionSpec.Empirical e -> 1;
        };
    }

    private static double mean(List<Double> values) {
        double sum = 0;
        for (double v : values) {
            sum += v;
        }
        return values.isEmpty() ? 0 : sum / values.size();
    }
}
