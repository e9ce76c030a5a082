package io.twinserve.twin.calibrate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.memory.MemoryCalibration;
import io.twinserve.twin.perf.Calibration;
import io.twinserve.twin.perf.RooflineParams;
import io.twinserve.twin.perf.RooflinePerfModel;
import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.ModelProfile;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.ArrayRealVector;
import org.apache.commons.math3.linear.QRDecomposition;
import org.apache.commons.math3.linear.RealVector;

/**
 * Fits the twin to a measurement set laid out like {@code calibration/vllm-0.8.5-h100-64gb}
 * and reproduces every measured row with the fitted twin.
 *
 * <ol>
 *   <li>Memory ({@link MemoryFit}) and adapter loads from host memory and from storage ({@link LoadFits}).
 *   <li>The scheduler's time per step against its running batch and waiting queue (linear least squares on
 *       the scheduler-overhead table).
 *   <li>The step costs ({@link TimingFit}): every timing family at once, each row priced as its run's
 *       typical step ({@link TimingRows}, {@link StepScenario}), by Levenberg-Marquardt on relative errors;
 *       then each family left out in turn and predicted from the others.
 * </ol>
 *
 * Every row is then reproduced: KV capacities and start failures by the memory model, loads by the load
 * model, timing rows by the fitted step, and the measured runs replayed in full ({@link MeasuredRuns}).
 */
public final class Calibrator {
  /** The family of the LoRA-overhead runs reproduced by simulating each run in full. */
  static final String SIMULATED = "lora_vs_distinct_adapters_simulated";
  static final String ADAPTER_RUNS = "adapter_load_runs.csv";

  /** The fitted calibrations and the reproduction of every input row. */
  public record Result(List<Calibration> calibrations, List<FitRow> rows) {

    /** The row with the largest absolute error. */
    public FitRow worst() {
      FitRow w = null;
      for (FitRow r : rows) {
        if (w == null || Math.abs(r.errorPct()) > Math.abs(w.errorPct())) {
          w = r;
        }
      }
      return w;
    }
  }

  private final CalibrationSetup setup;
  private final Path dataDir;
  private final Profiles profiles;
  private final ObjectMapper json = new ObjectMapper();

  private final boolean replayPoisson;

  public Calibrator(CalibrationSetup setup, Path dataDir, Profiles profiles) {
    this(setup, dataDir, profiles, false);
  }

  private Calibrator(CalibrationSetup setup, Path dataDir, Profiles profiles, boolean replayPoisson) {
    this.setup = setup;
    this.dataDir = dataDir;
    this.profiles = profiles;
    this.replayPoisson = replayPoisson;
  }

  /**
   * This calibrator, also replaying the scheduler-overhead table's 788 ten-minute Poisson runs in full with
   * the fitted twin (minutes of simulation: opt-in).
   */
  public Calibrator replayingPoissonRuns() {
    return new Calibrator(setup, dataDir, profiles, true);
  }

  /** Reads {@code setup.yaml} of a calibration folder (its measurements are in {@code data/}). */
  public static Calibrator forFolder(Path folder, Profiles profiles) throws IOException {
    Path setupFile = folder.resolve("setup.yaml");
    if (!java.nio.file.Files.isRegularFile(setupFile)) {
      throw new java.nio.file.NoSuchFileException(setupFile.toString(), null,
          "no setup.yaml: a calibration folder holds setup.yaml and data/");
    }
    CalibrationSetup s = WorkloadSpecs.parse(java.nio.file.Files.readString(setupFile), setupFile,
        CalibrationSetup.class);
    return new Calibrator(s, folder.resolve("data"), profiles);
  }

  public Result run() throws IOException {
    Csv kv = new Csv(dataDir.resolve(MemoryFit.FILE));
    Csv load = new Csv(dataDir.resolve(LoadFits.HOST_FILE));
    MemoryFit memoryFit = new MemoryFit(setup);
    Csv adapterRuns = java.nio.file.Files.isRegularFile(dataDir.resolve(ADAPTER_RUNS))
        ? new Csv(dataDir.resolve(ADAPTER_RUNS)) : null;
    GpuProfile gpu = profiles.gpu(setup.gpu());
    TimingRows timing = new TimingRows(dataDir, setup);
    double[] scheduler = fitSchedulerTime(timing.schedulerTimes());
    // the model the scheduler table belongs to goes first: its runs alone vary the batch and the adapter
    // mix together, so its per-token LoRA costs are lent to models without such runs
    List<Map.Entry<String, String>> models = new ArrayList<>(setup.models().entrySet());
    String donor = setup.schedulerOverheadRun() == null ? null : setup.schedulerOverheadRun().model();
    models.sort((x, y) -> Boolean.compare(!x.getKey().equals(donor), !y.getKey().equals(donor)));
    RooflineParams lent = null;
    List<Calibration> calibrations = new ArrayList<>();
    List<FitRow> rows = new ArrayList<>();
    for (Map.Entry<String, String> e : models) {
      ModelProfile model = profiles.model(e.getValue());
      String name = e.getKey();
      List<FitRow> mine = new ArrayList<>();
      MemoryCalibration memory = memoryFit.fit(kv, name, model, gpu);
      RooflineParams params = RooflineParams.defaults();
      params = LoadFits.fitLoads(load, name, model, gpu, params);
      params = LoadFits.fitStorageLoads(adapterRuns, name, model, gpu, params);
      if (scheduler != null) {
        params = params.with(new double[] {scheduler[2], scheduler[3]}, "per_waiting_ns", "per_blocked_waiting_ns");
      }
      boolean own = lent == null;
      if (!own) {
        params = params.with(new double[] {lent.flopsEfficiency(), lent.loraPerTokenNs(),
            lent.loraPerTokenAdapterNs(), lent.loraPerLoadedAdapterNs()}, "flops_efficiency", "lora_per_token_ns",
            "lora_per_token_adapter_ns", "lora_per_loaded_adapter_ns");
      }
      List<TimingRow> timingRows = timing.rows(name);
      TimingFit fit = new TimingFit(p -> new RooflinePerfModel(model, gpu, 1, p), params,
          freeParameters(name.equals(donor) ? scheduler : null, own));
      params = fit.fit(timingRows);
      List<TimingFit.HeldOut> heldOut = fit.leaveOneFamilyOut(timingRows);
      if (own) {
        lent = params;
      }
      mine.addAll(memoryFit.reproduce(kv, name, model, gpu, memory));
      mine.addAll(LoadFits.reproduceLoads(load, name, model, gpu, params));
      mine.addAll(LoadFits.reproduceStorageLoads(adapterRuns, name, model, gpu, params));
      mine.addAll(reproduceTiming(timingRows, name, new RooflinePerfModel(model, gpu, 1, params)));
      if (name.equals(donor)) {
        mine.addAll(reproduceSchedulerTime(timing, name, scheduler));
      }
      MeasuredRuns replays = new MeasuredRuns(dataDir, setup, profiles);
      mine.addAll(replays.reproduce(replays.runs(name), name, model, gpu, memory, params,
          Runtime.getRuntime().availableProcessors()));
      if (replayPoisson) {
        mine.addAll(replays.reproducePoisson(name, model, gpu, memory, params,
            Runtime.getRuntime().availableProcessors()));
      }
      rows.addAll(mine);
      calibrations.add(new Calibration(setup.name() + "/" + model.name(), setup.engine(), gpu.name(), model.name(),
          memory, params, fitNode(mine, heldOut, name.equals(donor) ? scheduler : null, own ? null : donor),
          provenance()));
    }
    return new Result(calibrations, rows);
  }

  // ---------------------------------------------------------------- timing

  /** Expected distinct adapters among {@code batch} uniform draws from {@code n} adapters. */
  static double expectedDistinct(int n, int batch) {
    return TimingRows.expectedDistinct(n, batch);
  }

  /**
   * The scheduler's time per step against the running batch and the waiting queue, a + b·running +
   * c·waiting + d·waiting while slots block it, by least squares on relative errors; null without the
   * scheduler table.
   */
  static double[] fitSchedulerTime(List<double[]> runs) {
    if (runs.isEmpty()) {
      return null;
    }
    List<double[]> x = new ArrayList<>();
    List<Double> y = new ArrayList<>();
    for (double[] r : runs) {
      x.add(new double[] {1 / r[3], r[0] / r[3], r[1] / r[3], r[1] * r[2] / r[3]});
      y.add(1.0);
    }
    double[] c = leastSquares(x, y, true);
    // ms -> ns
    return new double[] {c[0] * 1e6, c[1] * 1e6, c[2] * 1e6, c[3] * 1e6};
  }

  // The FLOP efficiencies keep their priors (0.6 linear, 0.5 attention: typical of bf16 GEMMs and
  // attention kernels on Hopper): decode steps are memory-bound, and the prefill bursts vary the prompt
  // length only three ways, so a free FLOP rate trades off against the cost per new request (a first
  // joint fit drove Llama's to 0.92 and Qwen's to 0.26).
  private List<TimingFit.Free> freeParameters(double[] scheduler, boolean ownLoraTokenCosts) {
    double stepFloor = scheduler == null ? 0 : scheduler[0];
    double sequenceFloor = scheduler == null ? 0 : scheduler[1];
    List<TimingFit.Free> free = new ArrayList<>(List.of(
        new TimingFit.Free("hbm_efficiency", 0.7, 0),
        new TimingFit.Free("step_overhead_ns", stepFloor + 500_000, stepFloor),
        new TimingFit.Free("per_sequence_ns", sequenceFloor + 10_000, sequenceFloor),
        new TimingFit.Free("per_new_request_ns", 1_000_000, 0),
        new TimingFit.Free("lora_enabled_ns", 1_000_000, 0),
        new TimingFit.Free("lora_per_slot_ns", 20_000, 0),
        new TimingFit.Free("lora_fixed_ns", 10_000_000, 0),
        new TimingFit.Free("lora_per_adapter_ns", 300_000, 0),
        // identified by the TTFT rows alone (lone requests, short prefill bursts): their time outside the
        // steps; without it the fit pulled the LoRA-enabled step cost up to cover a lone request's TTFT
        new TimingFit.Free("request_latency_ns", 3_000_000, 0)));
    if (ownLoraTokenCosts) {
      free.add(new TimingFit.Free("flops_efficiency", 0.6, 0));
      // per token, not per token and unit of rank: every LoRA compute run here is of rank 8, so the data cannot
      // tell how the cost grows with rank, and at ranks of 8 to 64 the shrink and expand kernels are bound by
      // their launches and reads rather than their FLOPs (which the roofline's LoRA term still prices by rank);
      // per unit of rank, a rank-32 workload would pay four times the measured rank-8 cost
      free.add(new TimingFit.Free("lora_per_token_ns", 10_000, 0));
      free.add(new TimingFit.Free("lora_per_token_adapter_ns", 100, 0));
      // an adapter held in a slot but not in the batch costs only where the slots hold more adapters than
      // the batch uses: the scheduler-overhead runs (in the bursts every held adapter is also in the batch,
      // so there it cannot be told from the per-distinct-adapter cost)
      free.add(new TimingFit.Free("lora_per_loaded_adapter_ns", 20_000, 0));
    }
    return free;
  }

  private List<FitRow> reproduceTiming(List<TimingRow> rows, String name, RooflinePerfModel perf) {
    List<FitRow> out = new ArrayList<>();
    for (TimingRow r : rows) {
      double predicted = r.predict(perf);
      out.add(new FitRow(r.family(), r.file(), name, r.key(), r.quantity(), r.measured(), round(predicted),
          pct(predicted, r.measured())));
    }
    return out;
  }

  private List<FitRow> reproduceSchedulerTime(TimingRows timing, String name, double[] c) throws IOException {
    List<FitRow> out = new ArrayList<>();
    List<double[]> runs = timing.schedulerTimes();
    for (int i = 0; i < runs.size(); i++) {
      double[] r = runs.get(i);
      double predicted = (c[0] + c[1] * r[0] + c[2] * r[1] + c[3] * r[1] * r[2]) / 1e6;
      out.add(new FitRow("scheduler_overhead_time", TimingRows.SCHEDULER, name, timing.schedulerKey(i),
          "scheduling_ms_per_step", round(r[3]), round(predicted), pct(predicted, r[3])));
    }
    return out;
  }

  // ---------------------------------------------------------------- helpers

  private JsonNode fitNode(List<FitRow> rows, List<TimingFit.HeldOut> heldOut, double[] scheduler, String lender) {
    ObjectNode fit = json.createObjectNode();
    if (scheduler != null) {
      ObjectNode sched = fit.putObject("scheduler_time");
      sched.put("per_step_ns", Math.round(scheduler[0]));
      sched.put("per_running_ns", Math.round(scheduler[1]));
      sched.put("per_waiting_ns", round(scheduler[2]));
      sched.put("per_blocked_waiting_ns", round(scheduler[3]));
      sched.put("note", "floors of step_overhead_ns and per_sequence_ns; per_waiting_ns as fitted");
    }
    if (lender != null) {
      fit.put("lora_per_token_costs_from", lender);
    }
    ArrayNode families = fit.putArray("families");
    Map<String, double[]> stats = new java.util.LinkedHashMap<>();
    for (FitRow r : rows) {
      double[] st = stats.computeIfAbsent(r.family(), k -> new double[6]);
      st[0]++;
      st[1] += Math.abs(r.errorPct());
      st[2] = Math.max(st[2], Math.abs(r.errorPct()));
      st[3] += Math.abs(r.errorPct()) <= 5 ? 1 : 0;
      // a family's rates summed over its runs: the error of its total, as a study over many runs reports it
      if (r.quantity().endsWith("_per_s") && Double.isFinite(r.predicted())) {
        st[4] += r.measured();
        st[5] += r.predicted();
      }
    }
    for (Map.Entry<String, double[]> e : stats.entrySet()) {
      ObjectNode o = families.addObject();
      o.put("family", e.getKey());
      o.put("rows", (int) e.getValue()[0]);
      o.put("mean_abs_error_pct", round(e.getValue()[1] / e.getValue()[0]));
      o.put("max_abs_error_pct", round(e.getValue()[2]));
      o.put("within_5_pct", (int) e.getValue()[3]);
      if (e.getValue()[4] > 0) {
        o.put("total_rate_error_pct", round((e.getValue()[5] - e.getValue()[4]) / e.getValue()[4] * 100));
      }
    }
    ArrayNode lofo = fit.putArray("leave_one_family_out");
    for (TimingFit.HeldOut h : heldOut) {
      ObjectNode o = lofo.addObject();
      o.put("family", h.family());
      o.put("rows", h.rows());
      o.put("mean_abs_error_pct", round(h.meanAbsErrorPct()));
      o.put("max_abs_error_pct", round(h.maxAbsErrorPct()));
    }
    FitRow worst = null;
    ArrayNode arr = fit.putArray("rows");
    for (FitRow r : rows) {
      ObjectNode o = arr.addObject();
      o.put("family", r.family());
      o.put("file", r.file());
      o.put("row", r.row());
      o.put("quantity", r.quantity());
      o.put("measured", r.measured());
      o.put("predicted", r.predicted());
      o.put("error_pct", round(r.errorPct()));
      if (worst == null || Math.abs(r.errorPct()) > Math.abs(worst.errorPct())) {
        worst = r;
      }
    }
    if (worst != null) {
      fit.put("worst", worst.file() + " " + worst.row() + " " + worst.quantity() + ": " + round(worst.errorPct()) + "%");
    }
    return fit;
  }

  private JsonNode provenance() {
    ObjectNode p = json.createObjectNode();
    p.put("setup", setup.name());
    p.put("engine", setup.engine());
    p.put("data", "calibration/" + setup.name() + "/data (copied from ../shared/data/calibration/" + setup.name() + ")");
    p.put("source", "Agullo et al., Maximizing GPU Efficiency via Optimal Adapter Caching, arXiv 2508.08343");
    p.put("command", "twinserve calibrate calibration/" + setup.name());
    String v = Calibrator.class.getPackage().getImplementationVersion();
    p.put("twinserve_version", v == null ? "development build" : v);
    return p;
  }

  /** Least squares x·c = y; with {@code nonNegative}, negative coefficients are dropped and refitted. */
  static double[] leastSquares(List<double[]> x, List<Double> y, boolean nonNegative) {
    int k = x.get(0).length;
    boolean[] active = new boolean[k];
    java.util.Arrays.fill(active, true);
    while (true) {
      int m = 0;
      for (boolean a : active) {
        m += a ? 1 : 0;
      }
      double[][] a = new double[x.size()][m];
      for (int i = 0; i < x.size(); i++) {
        int c = 0;
        for (int j = 0; j < k; j++) {
          if (active[j]) {
            a[i][c++] = x.get(i)[j];
          }
        }
      }
      RealVector sol = new QRDecomposition(new Array2DRowRealMatrix(a, false)).getSolver()
          .solve(new ArrayRealVector(y.stream().mapToDouble(Double::doubleValue).toArray()));
      double[] out = new double[k];
      int c = 0;
      int mostNegative = -1;
      for (int j = 0; j < k; j++) {
        if (active[j]) {
          out[j] = sol.getEntry(c++);
          if (nonNegative && out[j] < 0 && (mostNegative < 0 || out[j] < out[mostNegative])) {
            mostNegative = j;
          }
        }
      }
      if (mostNegative < 0) {
        return out;
      }
      active[mostNegative] = false;
    }
  }

  static double pct(double predicted, double measured) {
    return (predicted - measured) / measured * 100;
  }

  static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }

}
