package io.twinserve.traces.spec;

/**
 * A synthetic workload: arrivals, adapters, lengths and optional sessions over a duration or a number
 * of requests, generated deterministically from {@code seed}. The YAML schema is documented in
 * docs/workload-spec.md.
 *
 * @param name optional label, carried into reports
 * @param durationS generate arrivals in [0, duration_s)
 * @param requests generate exactly this many requests (instead of duration_s)
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
    SessionsSpec sessions) {

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
    }
    if (requests != null) {
      Check.atLeast("requests", requests, 1);
    }
    if (arrivals instanceof ArrivalsSpec.Poisson p && p.rateTiers() != null) {
      if (adapters.count() == 0) {
        throw new SpecException("arrivals.rate_tiers", "gives per-adapter rates, but adapters.count is 0");
      }
      if (p.rateTiers().size() > adapters.count()) {
        throw new SpecException("arrivals.rate_tiers", "has " + p.rateTiers().size()
            + " tiers for only " + adapters.count() + " adapters; expected at most one tier per adapter");
      }
      if (adapters.baseShare() > 0) {
        throw new SpecException("adapters.base_share", "must be 0 with arrivals.rate_tiers (every stream"
            + " belongs to an adapter), got " + Check.fmt(adapters.baseShare()));
      }
      if (!(adapters.popularity() instanceof PopularitySpec.Uniform)) {
        throw new SpecException("adapters.popularity", "cannot be combined with arrivals.rate_tiers, which"
            + " already sets each adapter's rate");
      }
    }
    if (sessions != null && arrivals instanceof ArrivalsSpec.Trace) {
      throw new SpecException("sessions", "cannot be combined with trace arrivals; trace times are"
          + " request times, not session starts");
    }
  }

  /** The same workload with another seed. */
  public WorkloadSpec withSeed(long newSeed) {
    return new WorkloadSpec(name, description, newSeed, durationS, requests, arrivals, adapters, lengths,
        sessions);
  }
}
