package io.twinserve.traces.spec;

/**
 * A synthetic workload: arrivals, adapters, lengths and optional sessions over a duration or a number
 * of requests, generated deterministically from {@code seed}. The YAML schema is documented in
 * docs/workload-spec.md.
 *
 * @param name optional label, carried into reports
 * @param durationS generate arrivals in [0, duration_s)
 * @param requests generate exactly this many requests (instead of duration_s)
 * @param client how the benchmark client sends the requests (a cap on outstanding requests, or closed-loop
 *     users); null: each request is sent at its arrival time
 * @param slo the application's objective (bounds it sets override the defaults; a deployment's and the
 *     command line's override it in turn); null: none set here
 */
public record WorkloadSpec(
        String name,
        String description,
        Long seed,
        Double durationS,
        Long requests,
        ArrivalsSpec arrivals,
        AdaptersSpec adapters,
        LengthsSpec lengths,
        SessionsSpec sessions,
        ClientSpec client,
        SloSpec slo) {

    /** A workload without an SLO of its own. */
    public WorkloadSpec(
            String name,
            String description,
            Long seed,
            Double durationS,
            Long requests,
            ArrivalsSpec arrivals,
            AdaptersSpec adapters,
            LengthsSpec lengths,
            SessionsSpec sessions,
            ClientSpec client) {
        this(name, description, seed, durationS, requests, arrivals, adapters, lengths, sessions, client, null);
    }

    /** The most requests a generated workload may have. */
    static final double MAX_REQUESTS = 1e10;

    private static final String MAX_REQUESTS_TEXT = "10,000,000,000";

    private static String p(ArrivalsSpec a) {
        return a instanceof ArrivalsSpec.Poisson p && p.rate() == null ? "arrivals.rate_tiers, " : "arrivals.";
    }

    public WorkloadSpec {
        seed = seed == null ? 0L : seed;
        Check.required("arrivals", arrivals);
        Check.required("lengths", lengths);
        if (adapters == null) {
            adapters = AdaptersSpec.none();
        }
        boolean fromTrace = arrivals instanceof ArrivalsSpec.Trace;
        if (durationS != null && requests != null) {
            throw new SpecException("requests", "cannot be given together with duration_s; choose one");
        }
        if (durationS == null && requests == null && !fromTrace) {
            throw new SpecException("duration_s", "is required (or give requests: a number of requests)");
        }
        if (durationS != null) {
            Check.positive("duration_s", durationS);
            double rate = switch (arrivals) {
                case ArrivalsSpec.Poisson p ->
                    p.rate() != null
                            ? p.rate()
                            : p.rateTiers().stream()
                                            .mapToDouble(Double::doubleValue)
                                            .max()
                                            .orElse(0)
                                    * adapters.count();
                case ArrivalsSpec.Gamma g -> g.rate();
                case ArrivalsSpec.Constant c -> c.rate();
                case ArrivalsSpec.Trace t -> 0;
            };
            // a bound on what a run can hold (each request is an object in memory): far beyond any real service
            if (rate * durationS > MAX_REQUESTS) {
                throw new SpecException(
                        p(arrivals) + "rate",
                        "with duration_s " + Check.fmt(durationS) + " gives about "
                                + String.format("%.3g", rate * durationS)
                                + " requests; at most " + MAX_REQUESTS_TEXT + " can be simulated (lower the rate or the"
                                + " duration)");
            }
        }
        if (requests != null) {
            Check.atLeast("requests", requests, 1);
        }
        if (arrivals instanceof ArrivalsSpec.Poisson p && p.rateTiers() != null) {
            if (adapters.count() == 0) {
                throw new SpecException("arrivals.rate_tiers", "gives per-adapter rates, but adapters.count is 0");
            }
            if (p.rateTiers().size() > adapters.count()) {
                throw new SpecException(
                        "arrivals.rate_tiers",
                        "has " + p.rateTiers().size() + " tiers for only " + adapters.count()
                                + " adapters; expected at most one tier per adapter");
            }
            if (adapters.baseShare() > 0) {
                throw new SpecException(
                        "adapters.base_share",
                        "must be 0 with arrivals.rate_tiers (every stream" + " belongs to an adapter), got "
                                + Check.fmt(adapters.baseShare()));
            }
            if (!(adapters.popularity() instanceof PopularitySpec.Uniform)) {
                throw new SpecException(
                        "adapters.popularity",
                        "cannot be combined with arrivals.rate_tiers, which" + " already sets each adapter's rate");
            }
        }
        if (sessions != null && arrivals instanceof ArrivalsSpec.Trace) {
            throw new SpecException(
                    "sessions",
                    "cannot be combined with trace arrivals; trace times are" + " request times, not session starts");
        }
        // checked here rather than in ClientSpec, so that a misspelled key inside the block is reported as such
        if (client != null && client.empty()) {
            throw new SpecException(
                    "client",
                    "is empty; give max_outstanding (a cap on requests in flight) or users"
                            + " (closed-loop users), or remove the block");
        }
        if (sessions != null && client != null && client.closedLoop()) {
            throw new SpecException(
                    "client.users",
                    "cannot be combined with sessions: closed-loop users send the"
                            + " generator's requests in order, not each session's turns after their answers");
        }
    }

    /** The same workload with another seed. */
    public WorkloadSpec withSeed(long newSeed) {
        return new WorkloadSpec(
                name, description, newSeed, durationS, requests, arrivals, adapters, lengths, sessions, client, slo);
    }

    /** The same workload with another client (null: none). */
    public WorkloadSpec withClient(ClientSpec newClient) {
        return new WorkloadSpec(
                name, description, seed, durationS, requests, arrivals, adapters, lengths, sessions, newClient, slo);
    }
}
