package io.twinserve.placement;

import io.twinserve.traces.gen.Adapter;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.ArrivalsSpec;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.traces.spec.WorkloadSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Describes a workload spec the way the placement models see workloads: its adapters' per-adapter
 * rates sorted and cut into three contiguous thirds (each tier's rate is its third's mean, so totals
 * are kept), a rank triple, the mean lengths and the arrival burstiness.
 */
public final class WorkloadRequests {
  private WorkloadRequests() {}

  public static Planner.Request of(WorkloadSpec spec, Path baseDir, String model, List<String> pools,
      Labels.Objective objective) {
    if (spec.sessions() != null) {
      throw new SpecException("sessions", "multi-turn sessions are outside what the placement models were trained on"
          + " (independent requests per adapter); plan a workload without sessions");
    }
    double cv = switch (spec.arrivals()) {
      case ArrivalsSpec.Poisson p -> 1.0;
      case ArrivalsSpec.Gamma g -> g.cv();
      case ArrivalsSpec.Constant c -> throw new SpecException("arrivals.type",
          "constant arrivals are outside the training data (Poisson or gamma arrivals); use poisson or gamma");
      case ArrivalsSpec.Trace t -> throw new SpecException("arrivals.type",
          "trace arrival times cannot be planned from; describe the workload with poisson or gamma arrivals");
    };
    List<Adapter> adapters;
    double total;
    try (WorkloadGenerator g = new WorkloadGenerator(spec, baseDir)) {
      adapters = g.adapters();
      total = switch (spec.arrivals()) {
        case ArrivalsSpec.Poisson p -> p.rate() != null ? p.rate() : adapters.stream().mapToDouble(Adapter::ratePerSecond).sum();
        case ArrivalsSpec.Gamma gm -> gm.rate();
        default -> throw new IllegalStateException();
      };
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    if (adapters.isEmpty()) {
      throw new SpecException("adapters.count", "is 0: the placement models plan adapter workloads; give count >= 1");
    }
    int n = adapters.size();
    double[] rates = new double[n];
    double shareSum = adapters.stream().mapToDouble(Adapter::share).sum();
    for (int i = 0; i < n; i++) {
      Adapter a = adapters.get(i);
      rates[i] = Double.isNaN(a.ratePerSecond()) ? total * a.share() / Math.max(shareSum, 1e-300) : a.ratePerSecond();
    }
    Arrays.sort(rates);
    double[] tiers = new double[3];
    int[] counts = new int[3];
    for (int i = 0; i < n; i++) {
      // highest first: the i-th highest rate falls in tier i*3/n (contiguous thirds, as the generator's tiers)
      int tier = (int) ((long) i * 3 / n);
      tiers[tier] += rates[n - 1 - i];
      counts[tier]++;
    }
    for (int t = 0; t < 3; t++) {
      tiers[t] = counts[t] == 0 ? (t > 0 ? tiers[t - 1] : 0) : tiers[t] / counts[t];
    }
    int[] ranks = rankTriple(adapters);
    double[] means = Sweep.measureLengths(new SweepSpec.LengthShape("workload", spec.lengths()), baseDir);
    return new Planner.Request(model, n, tiers, ranks, means[0], means[1], cv, pools, objective, spec.lengths());
  }

  /** The round-robin rank triple of the adapters (the first three), or min/median/max when they differ. */
  static int[] rankTriple(List<Adapter> adapters) {
    int n = adapters.size();
    if (n >= 3) {
      boolean roundRobin = true;
      for (int i = 3; i < n && roundRobin; i++) {
        roundRobin = adapters.get(i).rank() == adapters.get(i % 3).rank();
      }
      if (roundRobin) {
        return new int[] {adapters.get(0).rank(), adapters.get(1).rank(), adapters.get(2).rank()};
      }
    }
    int[] r = adapters.stream().mapToInt(Adapter::rank).sorted().toArray();
    return new int[] {r[0], r[r.length / 2], r[r.length - 1]};
  }
}
