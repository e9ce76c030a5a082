package io.twinserve.twin.capacity;

import io.twinserve.traces.spec.SpecException;
import io.twinserve.twin.cluster.ClusterSummary;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a deployment must achieve at a request rate. Null bounds are not checked.
 *
 * @param ttftP90Ms the 90th percentile of time to first token (answered requests)
 * @param itlP99Ms the 99th percentile of inter-token latency
 * @param maxTimedOutFraction the largest share of requests that may time out (408)
 * @param noStarvation no request waits longer than the starvation bound before it is first scheduled
 *     (default true; overload shows in the TTFT and 408 bounds, as probes run until their requests end)
 */
public record SloSpec(Double ttftP90Ms, Double itlP99Ms, Double maxTimedOutFraction, Boolean noStarvation) {

  public SloSpec {
    if (ttftP90Ms != null && !(ttftP90Ms > 0)) {
      throw new SpecException("ttft_p90_ms", "must be > 0, got " + ttftP90Ms);
    }
    if (itlP99Ms != null && !(itlP99Ms > 0)) {
      throw new SpecException("itl_p99_ms", "must be > 0, got " + itlP99Ms);
    }
    if (maxTimedOutFraction != null && !(maxTimedOutFraction >= 0 && maxTimedOutFraction <= 1)) {
      throw new SpecException("max_timed_out_fraction", "must be in [0, 1], got " + maxTimedOutFraction);
    }
    noStarvation = noStarvation == null ? Boolean.TRUE : noStarvation;
  }

  /** The ways a deployment's run misses the SLO (empty when it meets it). */
  public List<String> violations(ClusterSummary.DeploymentSummary d) {
    List<String> out = new ArrayList<>();
    if (ttftP90Ms != null && (d.ttft().count() == 0 || d.ttft().p90Ms() > ttftP90Ms)) {
      out.add(String.format(Locale.ROOT, "ttft p90 %.0f ms > %.0f", d.ttft().p90Ms(), ttftP90Ms));
    }
    if (itlP99Ms != null && d.itl().p99Ms() > itlP99Ms) {
      out.add(String.format(Locale.ROOT, "itl p99 %.1f ms > %.1f", d.itl().p99Ms(), itlP99Ms));
    }
    if (maxTimedOutFraction != null && d.timedOutFraction() > maxTimedOutFraction) {
      out.add(String.format(Locale.ROOT, "408s %.2f%% > %.2f%%", 100 * d.timedOutFraction(), 100 * maxTimedOutFraction));
    }
    if (noStarvation && d.starvedRequests() > 0) {
      out.add(d.starvedRequests() + " starved requests");
    }
    return out;
  }
}
