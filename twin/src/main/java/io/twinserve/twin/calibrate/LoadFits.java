package io.twinserve.twin.calibrate;

import io.twinserve.twin.perf.RooflineParams;
import io.twinserve.twin.perf.RooflinePerfModel;
import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.ModelProfile;
import java.util.ArrayList;
import java.util.List;

/**
 * The adapter loads' fits: host memory into a slot (a fixed cost, a padding cost when the adapter's rank
 * is below the slots' rank, a cost per byte) from {@code adapter_load_cpu_to_gpu_ms.csv}, and storage into
 * host memory (a fixed cost and a bandwidth) from the adapter-load runs' disk time; and their rows.
 */
final class LoadFits {
  static final String HOST_FILE = "adapter_load_cpu_to_gpu_ms.csv";

  private LoadFits() {}

  static RooflineParams fitLoads(Csv load, String name, ModelProfile model, GpuProfile gpu, RooflineParams p) {
    RooflinePerfModel perf = new RooflinePerfModel(model, gpu, 1, p);
    List<double[]> x = new ArrayList<>();
    List<Double> y = new ArrayList<>();
    for (int i = 0; i < load.size(); i++) {
      if (!load.text(i, "model").equals(name)) {
        continue;
      }
      int maxRank = (int) load.number(i, "max_lora_rank");
      int rank = (int) load.number(i, "adapter_rank");
      x.add(new double[] {1, rank < maxRank ? 1 : 0, perf.adapterBytes(rank)});
      y.add(load.number(i, "load_ms") * 1e6);
    }
    double[] c = Calibrator.leastSquares(x, y, true);
    return p.with(new double[] {c[0], c[1], c[2]}, "adapter_load_fixed_ns", "adapter_load_padding_ns",
        "adapter_load_ns_per_byte");
  }

  /**
   * Loads from storage into host memory: a fixed cost and a bandwidth, by non-negative least squares on the
   * adapter-load runs' mean disk-load time (the server's lifetime loading time over its loads) against the
   * adapter's bytes. Without those runs the defaults stay.
   */
  static RooflineParams fitStorageLoads(Csv runs, String name, ModelProfile model, GpuProfile gpu,
      RooflineParams p) {
    if (runs == null) {
      return p;
    }
    RooflinePerfModel perf = new RooflinePerfModel(model, gpu, 1, p);
    List<double[]> x = new ArrayList<>();
    List<Double> y = new ArrayList<>();
    for (int i = 0; i < runs.size(); i++) {
      if (!runs.text(i, "model").equals(name)) {
        continue;
      }
      double loads = runs.number(i, "server_lifetime_loads_from_disk");
      double perLoadNs = runs.number(i, "server_lifetime_loading_time_from_disk_s") / loads * 1e9;
      x.add(new double[] {1 / perLoadNs, perf.adapterBytes((int) runs.number(i, "adapter_rank")) / perLoadNs});
      y.add(1.0);
    }
    if (x.isEmpty()) {
      return p;
    }
    double[] c = Calibrator.leastSquares(x, y, true);
    if (c[1] <= 0) {
      return p.with(new double[] {c[0]}, "storage_fixed_ns");
    }
    return p.with(new double[] {c[0], 1e9 / c[1]}, "storage_fixed_ns", "storage_bandwidth");
  }

  static List<FitRow> reproduceStorageLoads(Csv runs, String name, ModelProfile model, GpuProfile gpu,
      RooflineParams p) {
    List<FitRow> out = new ArrayList<>();
    if (runs == null) {
      return out;
    }
    RooflinePerfModel perf = new RooflinePerfModel(model, gpu, 1, p);
    for (int i = 0; i < runs.size(); i++) {
      if (!runs.text(i, "model").equals(name)) {
        continue;
      }
      int rank = (int) runs.number(i, "adapter_rank");
      double measured = runs.number(i, "server_lifetime_loading_time_from_disk_s")
          / runs.number(i, "server_lifetime_loads_from_disk") * 1e3;
      double predicted = perf.adapterLoadFromStorageNs(rank) / 1e6;
      out.add(new FitRow("storage_loads", Calibrator.ADAPTER_RUNS, name, "max_lora_rank=" + (int) runs.number(i, "max_lora_rank")
          + " adapter_rank=" + rank, "disk_load_ms", Calibrator.round(measured), Calibrator.round(predicted), Calibrator.pct(predicted, measured)));
    }
    return out;
  }

  static List<FitRow> reproduceLoads(Csv load, String name, ModelProfile model, GpuProfile gpu, RooflineParams p) {
    RooflinePerfModel perf = new RooflinePerfModel(model, gpu, 1, p);
    List<FitRow> out = new ArrayList<>();
    for (int i = 0; i < load.size(); i++) {
      if (!load.text(i, "model").equals(name)) {
        continue;
      }
      int maxRank = (int) load.number(i, "max_lora_rank");
      int rank = (int) load.number(i, "adapter_rank");
      double measured = load.number(i, "load_ms");
      double predicted = perf.adapterLoadFromCpuNs(rank, maxRank) / 1e6;
      out.add(new FitRow("adapter_loads", HOST_FILE, name, "max_lora_rank=" + maxRank + " adapter_rank=" + rank, "load_ms", measured,
          Calibrator.round(predicted), Calibrator.pct(predicted, measured)));
    }
    return out;
  }
}
