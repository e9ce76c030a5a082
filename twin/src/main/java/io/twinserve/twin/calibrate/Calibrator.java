package io.twinserve.twin.calibrate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.memory.InsufficientGpuMemoryException;
import io.twinserve.twin.memory.MemoryCalibration;
import io.twinserve.twin.memory.MemoryModel;
import io.twinserve.twin.metrics.RunSummary;
import io.twinserve.twin.perf.Calibration;
import io.twinserve.twin.perf.RooflineParams;
import io.twinserve.twin.perf.RooflinePerfModel;
import io.twinserve.twin.perf.StepShape;
import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.ModelProfile;
import io.twinserve.twin.profile.Profiles;
import io.twinserve.twin.sim.ReplicaSimulator;
import io.twinserve.twin.sim.RunOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.commons.math3.analysis.MultivariateFunction;
import org.apache.commons.math3.optim.InitialGuess;
import org.apache.commons.math3.optim.MaxEval;
import org.apache.commons.math3.optim.nonlinear.scalar.GoalType;
import org.apache.commons.math3.optim.nonlinear.scalar.ObjectiveFunction;
import org.apache.commons.math3.optim.nonlinear.scalar.noderiv.NelderMeadSimplex;
import org.apache.commons.math3.optim.nonlinear.scalar.noderiv.SimplexOptimizer;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.ArrayRealVector;
import org.apache.commons.math3.linear.QRDecomposition;
import org.apache.commons.math3.linear.RealVector;

/**
 * Fits the twin to a measurement set laid out like {@code ../shared/data/calibration/vllm-0.8.5-h100-64gb}
 * and reproduces every measured row with the fitted twin.
 *
 * <ol>
 *   <li>Memory: the activation reserve from the LoRA-disabled KV capacity; then the LoRA reserve, the
 *       per-slot bytes and the scale of the stacked LoRA tensors by least squares over the other rows.
 *   <li>Adapter loads: a fixed cost, a padding cost when the adapter's rank is below the slots' rank, and
 *       a cost per byte, by non-negative least squares.
 *   <li>Decode steps: the HBM efficiency, the step and per-sequence overheads (and the decode runs'
 *       unstated mean context) by Nelder-Mead on relative errors of the decode latencies. The FLOP
 *       efficiencies keep their priors (0.6 linear, 0.5 attention: typical of bf16 GEMMs and attention
 *       kernels on Hopper), because memory-bound decode batches do not identify them.
 *   <li>LoRA: the cost of any adapter in a batch and the cost per distinct adapter, by least squares on
 *       the LoRA-overhead latencies, with the expected number of distinct adapters in a batch.
 *   <li>Admission: the cost per new request, by a one-dimensional search on the LoRA-overhead runs'
 *       throughputs, each run simulated in full by the twin.
 * </ol>
 *
 * Every row is then reproduced: KV capacities and start failures by the memory model, latencies and
 * throughputs by simulating the measured runs.
 */
public final class Calibrator {
  private static final String KV = "kv_capacity_tokens.csv";
  private static final String LOAD = "adapter_load_cpu_to_gpu_ms.csv";
  private static final String DECODE = "decode_itl_vs_batch_no_lora.csv";
  private static final String LORA = "lora_overhead_vs_distinct_adapters.csv";

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

  public Calibrator(CalibrationSetup setup, Path dataDir, Profiles profiles) {
    this.setup = setup;
    this.dataDir = dataDir;
    this.profiles = profiles;
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
    Csv kv = new Csv(dataDir.resolve(KV));
    Csv load = new Csv(dataDir.resolve(LOAD));
    Csv decode = new Csv(dataDir.resolve(DECODE));
    Csv lora = new Csv(dataDir.resolve(LORA));
    GpuProfile gpu = profiles.gpu(setup.gpu());
    List<Calibration> calibrations = new ArrayList<>();
    List<FitRow> rows = new ArrayList<>();
    for (Map.Entry<String, String> e : setup.models().entrySet()) {
      ModelProfile model = profiles.model(e.getValue());
      List<FitRow> mine = new ArrayList<>();
      MemoryCalibration memory = fitMemory(kv, e.getKey(), model, gpu);
      RooflineParams params = RooflineParams.defaults();
      params = fitLoads(load, e.getKey(), model, gpu, params);
      double[] decodeFit = fitDecode(decode, lora, e.getKey(), model, gpu, params);
      params = params.with(decodeFit, "hbm_efficiency", "step_overhead_ns", "per_sequence_ns");
      double context = decodeFit[3];
      params = fitLora(lora, e.getKey(), model, gpu, params);
      params = fitNewRequests(lora, e.getKey(), model, gpu, memory, params);
      mine.addAll(reproduceMemory(kv, e.getKey(), model, gpu, memory));
      mine.addAll(reproduceLoads(load, e.getKey(), model, gpu, params));
      mine.addAll(reproduceDecode(decode, e.getKey(), model, gpu, params, context));
      mine.addAll(reproduceLora(lora, e.getKey(), model, gpu, memory, params));
      rows.addAll(mine);
      calibrations.add(new Calibration(setup.name() + "/" + model.name(), setup.engine(), gpu.name(), model.name(),
          memory, params, fitNode(mine, context), provenance()));
    }
    return new Result(calibrations, rows);
  }

  // ---------------------------------------------------------------- memory

  private ReplicaSpec replica(int maxLoras, int maxRank) {
    return new ReplicaSpec(1, null, setup.gpuMemoryUtilization(), maxLoras, Math.max(maxLoras, 1),
        Math.max(1, maxRank), null, setup.maxNumBatchedTokens(), setup.blockSize(), true, false, null, null);
  }

  private MemoryCalibration fitMemory(Csv kv, String name, ModelProfile model, GpuProfile gpu) {
    long perToken = model.kvBytesPerToken();
    long budget = (long) (gpu.memoryBytes() * setup.gpuMemoryUtilization());
    long baseKv = -1;
    List<double[]> x = new ArrayList<>();
    List<Double> y = new ArrayList<>();
    for (int i = 0; i < kv.size(); i++) {
      if (!kv.text(i, "model").equals(name) || !kv.text(i, "started").equals("yes")) {
        continue;
      }
      int slots = (int) kv.number(i, "max_loras");
      long tokens = (long) kv.number(i, "kv_cache_tokens");
      if (slots == 0) {
        baseKv = tokens;
      }
    }
    if (baseKv < 0) {
      throw new IllegalArgumentException(kv.file + ": no row with max_loras 0 for " + name
          + "; the activation reserve is fitted from the LoRA-disabled capacity");
    }
    // half a block centres the rounding of the measured capacity
    long activation = budget - model.weightBytes() - baseKv * perToken - perToken * setup.blockSize() / 2;
    MemoryCalibration unit = new MemoryCalibration(activation, 0, 0, 1.0, MemoryCalibration.TWO_MIB);
    for (int i = 0; i < kv.size(); i++) {
      if (!kv.text(i, "model").equals(name) || !kv.text(i, "started").equals("yes")) {
        continue;
      }
      int slots = (int) kv.number(i, "max_loras");
      if (slots == 0) {
        continue;
      }
      int rank = (int) kv.number(i, "max_lora_rank");
      long tokens = (long) kv.number(i, "kv_cache_tokens");
      double loraBytes = (double) (baseKv - tokens) * perToken;
      double tensors = MemoryModel.adapterSlotBytes(model, replica(slots, rank), unit);
      x.add(new double[] {1, slots, tensors});
      y.add(loraBytes);
    }
    double[] c = leastSquares(x, y, true);
    return new MemoryCalibration(activation, Math.round(c[0]), Math.round(c[1]), c[2], MemoryCalibration.TWO_MIB);
  }

  private List<FitRow> reproduceMemory(Csv kv, String name, ModelProfile model, GpuProfile gpu, MemoryCalibration m) {
    List<FitRow> out = new ArrayList<>();
    for (int i = 0; i < kv.size(); i++) {
      if (!kv.text(i, "model").equals(name)) {
        continue;
      }
      int slots = (int) kv.number(i, "max_loras");
      int rank = (int) kv.number(i, "max_lora_rank");
      boolean started = kv.text(i, "started").equals("yes");
      String key = "max_loras=" + slots + " max_lora_rank=" + rank;
      long predicted;
      try {
        predicted = MemoryModel.resolve(model, gpu, replica(slots, rank), m).kvCacheTokens();
      } catch (InsufficientGpuMemoryException e) {
        predicted = -1;
      }
      if (!started) {
        out.add(new FitRow(KV, name, key, "fails_to_start", 1, predicted < 0 ? 1 : 0, predicted < 0 ? 0 : 100));
        continue;
      }
      double measured = kv.number(i, "kv_cache_tokens");
      out.add(new FitRow(KV, name, key, "kv_cache_tokens", measured, predicted,
          predicted < 0 ? -100 : pct(predicted, measured)));
    }
    return out;
  }

  // ---------------------------------------------------------------- adapter loads

  private RooflineParams fitLoads(Csv load, String name, ModelProfile model, GpuProfile gpu, RooflineParams p) {
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
    double[] c = leastSquares(x, y, true);
    return p.with(new double[] {c[0], c[1], c[2]}, "adapter_load_fixed_ns", "adapter_load_padding_ns",
        "adapter_load_ns_per_byte");
  }

  private List<FitRow> reproduceLoads(Csv load, String name, ModelProfile model, GpuProfile gpu, RooflineParams p) {
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
      out.add(new FitRow(LOAD, name, "max_lora_rank=" + maxRank + " adapter_rank=" + rank, "load_ms", measured,
          round(predicted), pct(predicted, measured)));
    }
    return out;
  }

  // ---------------------------------------------------------------- decode

  /** Mean context of a sequence in the LoRA-overhead runs: the prompt plus half the output. */
  private double loraRunContext() {
    return setup.loraOverheadRun().promptTokens() + setup.loraOverheadRun().outputTokens() / 2.0;
  }

  private static double decodeStepMs(RooflinePerfModel perf, double batch, double context) {
    int lo = (int) Math.floor(batch);
    double a = perf.stepNs(StepShape.decodeBatch(lo, Math.round(context)));
    double b = perf.stepNs(StepShape.decodeBatch(lo + 1, Math.round(context)));
    return (a + (b - a) * (batch - lo)) / 1e6;
  }

  private double[] fitDecode(Csv decode, Csv lora, String name, ModelProfile model, GpuProfile gpu, RooflineParams p) {
    List<double[]> points = new ArrayList<>();
    for (int i = 0; i < decode.size(); i++) {
      if (decode.text(i, "model").equals(name)) {
        points.add(new double[] {decode.number(i, "mean_running_batch"), decode.number(i, "mean_itl_ms"), 1});
      }
    }
    for (int i = 0; i < lora.size(); i++) {
      if (lora.text(i, "model").equals(name) && lora.text(i, "lora_enabled").equals("no")) {
        points.add(new double[] {lora.number(i, "max_num_seqs"), lora.number(i, "mean_itl_ms"), 0});
      }
    }
    double loraContext = loraRunContext();
    // parameters in an unbounded space: logits of the efficiencies, logs of the costs and the context
    // the FLOP efficiencies keep their priors: decode-only batches are memory-bound and do not identify them
    MultivariateFunction cost = v -> {
      double[] q = decodeParams(v);
      RooflinePerfModel perf = new RooflinePerfModel(model, gpu, 1, p.with(new double[] {q[0], q[1], q[2]},
          "hbm_efficiency", "step_overhead_ns", "per_sequence_ns"));
      double sum = 0;
      for (double[] pt : points) {
        double predicted = decodeStepMs(perf, pt[0], pt[2] == 1 ? q[3] : loraContext);
        double rel = (predicted - pt[1]) / pt[1];
        sum += rel * rel;
      }
      return sum;
    };
    double[] best = null;
    double bestValue = Double.MAX_VALUE;
    // a few starts guard against Nelder-Mead stopping in a poor corner
    for (double[] start : new double[][] {
        {logit(0.7), Math.log(3e6), Math.log(2e4), Math.log(300)},
        {logit(0.9), Math.log(6e6), Math.log(5e3), Math.log(600)},
        {logit(0.5), Math.log(1e6), Math.log(5e4), Math.log(100)}}) {
      SimplexOptimizer opt = new SimplexOptimizer(1e-12, 1e-14);
      var r = opt.optimize(new MaxEval(20_000), new ObjectiveFunction(cost), GoalType.MINIMIZE,
          new InitialGuess(start), new NelderMeadSimplex(new double[] {0.5, 0.5, 0.5, 0.5}));
      if (r.getValue() < bestValue) {
        bestValue = r.getValue();
        best = r.getPoint();
      }
    }
    return decodeParams(best);
  }

  private static double[] decodeParams(double[] v) {
    return new double[] {sigmoid(v[0]), Math.exp(v[1]), Math.exp(v[2]), Math.exp(v[3])};
  }

  private List<FitRow> reproduceDecode(Csv decode, String name, ModelProfile model, GpuProfile gpu, RooflineParams p,
      double context) {
    RooflinePerfModel perf = new RooflinePerfModel(model, gpu, 1, p);
    List<FitRow> out = new ArrayList<>();
    for (int i = 0; i < decode.size(); i++) {
      if (!decode.text(i, "model").equals(name)) {
        continue;
      }
      double b = decode.number(i, "mean_running_batch");
      double measured = decode.number(i, "mean_itl_ms");
      double predicted = decodeStepMs(perf, b, context);
      out.add(new FitRow(DECODE, name, "mean_running_batch=" + b, "mean_itl_ms", measured, round(predicted),
          pct(predicted, measured)));
    }
    return out;
  }

  // ---------------------------------------------------------------- LoRA

  /** Expected distinct adapters among {@code batch} uniform draws from {@code n} adapters. */
  static double expectedDistinct(int n, int batch) {
    return n * (1 - Math.pow(1 - 1.0 / n, batch));
  }

  private RooflineParams fitLora(Csv lora, String name, ModelProfile model, GpuProfile gpu, RooflineParams p) {
    int rank = setup.loraOverheadRun().adapterRank();
    RooflineParams noLora = p.with(new double[] {0, 0, 0}, "lora_fixed_ns", "lora_per_adapter_ns", "lora_per_rank_ns");
    RooflinePerfModel perf = new RooflinePerfModel(model, gpu, 1, noLora);
    List<double[]> x = new ArrayList<>();
    List<Double> y = new ArrayList<>();
    for (int i = 0; i < lora.size(); i++) {
      if (!lora.text(i, "model").equals(name) || !lora.text(i, "lora_enabled").equals("yes")) {
        continue;
      }
      int batch = (int) lora.number(i, "max_num_seqs");
      int n = (int) lora.number(i, "distinct_adapters_drawn_from");
      double d = expectedDistinct(n, batch);
      StepShape s = StepShape.decodeBatch(batch, Math.round(loraRunContext()));
      s.distinctAdapters = (int) Math.round(d);
      s.adapterRankSum = (long) s.distinctAdapters * rank;
      s.adapterTokens = batch;
      double base = perf.stepNs(s);
      double measured = lora.number(i, "mean_itl_ms") * 1e6;
      // relative least squares: divide each equation by the measured value
      x.add(new double[] {1 / measured, d / measured});
      y.add((measured - base) / measured);
    }
    double[] c = leastSquares(x, y, true);
    return p.with(new double[] {c[0], c[1], 0}, "lora_fixed_ns", "lora_per_adapter_ns", "lora_per_rank_ns");
  }

  private ResolvedReplica loraRunReplica(String name, ModelProfile model, GpuProfile gpu, MemoryCalibration m,
      RooflineParams p, int maxNumSeqs, boolean loraEnabled, int adapters) throws IOException {
    CalibrationSetup.LoraOverheadRun run = setup.loraOverheadRun();
    int slots = loraEnabled ? run.maxLoras() : 0;
    ReplicaSpec r = new ReplicaSpec(1, null, setup.gpuMemoryUtilization(), slots, Math.max(slots, adapters),
        run.adapterRank(), maxNumSeqs, setup.maxNumBatchedTokens(), setup.blockSize(), true, false, null, null);
    DeploymentSpec spec = new DeploymentSpec(name, model.name(), gpu.name(), r, null, null);
    Calibration fitting = new Calibration(setup.name() + "/" + model.name(), setup.engine(), gpu.name(), model.name(),
        m, p, null, null);
    return Deployments.resolve(spec, profiles, fitting);
  }

  /** Simulates one LoRA-overhead run: all requests at once, fixed lengths, uniform adapters. */
  private RunSummary simulateLoraRun(String name, ModelProfile model, GpuProfile gpu, MemoryCalibration m,
      RooflineParams p, int maxNumSeqs, int adapters) throws IOException {
    CalibrationSetup.LoraOverheadRun run = setup.loraOverheadRun();
    String yaml = """
        seed: %d
        requests: %d
        arrivals: {type: constant, rate: 1.0e15}
        adapters: {count: %d, ranks: [%d]}
        lengths: {prompt: {type: fixed, value: %d}, output: {type: fixed, value: %d}}
        """.formatted(run.seed(), run.requests(), adapters, run.adapterRank(), run.promptTokens(), run.outputTokens());
    var workload = WorkloadSpecs.parse(yaml, Path.of("lora-overhead-run"));
    ResolvedReplica replica = loraRunReplica(name, model, gpu, m, p, maxNumSeqs, adapters > 0, adapters);
    try (TraceReader gen = new WorkloadGenerator(workload, null)) {
      return new ReplicaSimulator(replica, Map.of()).run(gen,
          new RunOptions(null, true, false, run.adapterRank(), true)).summary();
    }
  }

  private RooflineParams fitNewRequests(Csv lora, String name, ModelProfile model, GpuProfile gpu, MemoryCalibration m,
      RooflineParams p) throws IOException {
    // golden-section search on the summed squared relative throughput errors
    double lo = 0;
    double hi = 5e6;
    double phi = (Math.sqrt(5) - 1) / 2;
    double a = hi - phi * (hi - lo);
    double b = lo + phi * (hi - lo);
    double fa = throughputError(lora, name, model, gpu, m, p.with(new double[] {a}, "per_new_request_ns"));
    double fb = throughputError(lora, name, model, gpu, m, p.with(new double[] {b}, "per_new_request_ns"));
    for (int it = 0; it < 30; it++) {
      if (fa < fb) {
        hi = b;
        b = a;
        fb = fa;
        a = hi - phi * (hi - lo);
        fa = throughputError(lora, name, model, gpu, m, p.with(new double[] {a}, "per_new_request_ns"));
      } else {
        lo = a;
        a = b;
        fa = fb;
        b = lo + phi * (hi - lo);
        fb = throughputError(lora, name, model, gpu, m, p.with(new double[] {b}, "per_new_request_ns"));
      }
    }
    return p.with(new double[] {Math.round((a + b) / 2)}, "per_new_request_ns");
  }

  private double throughputError(Csv lora, String name, ModelProfile model, GpuProfile gpu, MemoryCalibration m,
      RooflineParams p) throws IOException {
    double sum = 0;
    for (int i = 0; i < lora.size(); i++) {
      if (!lora.text(i, "model").equals(name)) {
        continue;
      }
      int n = lora.text(i, "lora_enabled").equals("yes") ? (int) lora.number(i, "distinct_adapters_drawn_from") : 0;
      RunSummary s = simulateLoraRun(name, model, gpu, m, p, (int) lora.number(i, "max_num_seqs"), n);
      double rel = (s.achieved().totalTokensPerS() - lora.number(i, "total_tokens_per_s"))
          / lora.number(i, "total_tokens_per_s");
      sum += rel * rel;
    }
    return sum;
  }

  private List<FitRow> reproduceLora(Csv lora, String name, ModelProfile model, GpuProfile gpu, MemoryCalibration m,
      RooflineParams p) throws IOException {
    List<FitRow> out = new ArrayList<>();
    for (int i = 0; i < lora.size(); i++) {
      if (!lora.text(i, "model").equals(name)) {
        continue;
      }
      boolean enabled = lora.text(i, "lora_enabled").equals("yes");
      int n = enabled ? (int) lora.number(i, "distinct_adapters_drawn_from") : 0;
      RunSummary s = simulateLoraRun(name, model, gpu, m, p, (int) lora.number(i, "max_num_seqs"), n);
      String key = "distinct_adapters_drawn_from=" + (int) lora.number(i, "distinct_adapters_drawn_from")
          + (enabled ? "" : " (LoRA disabled)");
      double itl = lora.number(i, "mean_itl_ms");
      double tput = lora.number(i, "total_tokens_per_s");
      out.add(new FitRow(LORA, name, key, "mean_itl_ms", itl, round(s.itl().meanMs()), pct(s.itl().meanMs(), itl)));
      out.add(new FitRow(LORA, name, key, "total_tokens_per_s", tput, round(s.achieved().totalTokensPerS()),
          pct(s.achieved().totalTokensPerS(), tput)));
    }
    return out;
  }

  // ---------------------------------------------------------------- helpers

  private JsonNode fitNode(List<FitRow> rows, double decodeContext) {
    ObjectNode fit = json.createObjectNode();
    fit.put("decode_context_tokens", Math.round(decodeContext));
    FitRow worst = null;
    ArrayNode arr = fit.putArray("rows");
    for (FitRow r : rows) {
      ObjectNode o = arr.addObject();
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

  private static double pct(double predicted, double measured) {
    return (predicted - measured) / measured * 100;
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }

  private static double logit(double p) {
    return Math.log(p / (1 - p));
  }

  private static double sigmoid(double v) {
    return 1 / (1 + Math.exp(-v));
  }
}
