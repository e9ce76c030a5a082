package io.twinserve.twin.calibrate;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinserve.traces.Request;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.exec.Parallel;
import io.twinserve.twin.memory.InsufficientGpuMemoryException;
import io.twinserve.twin.memory.MemoryCalibration;
import io.twinserve.twin.metrics.RunSummary;
import io.twinserve.twin.perf.Calibration;
import io.twinserve.twin.perf.RooflineParams;
import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.ModelProfile;
import io.twinserve.twin.profile.Profiles;
import io.twinserve.twin.sim.ReplicaSimulator;
import io.twinserve.twin.sim.RunOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Replays the measured burst runs in full with the fitted twin: every request of the run, submitted at
 * once with the run's lengths, adapters and engine settings, simulated to the last token. What the twin
 * answers for the run is compared with what was measured, figure by figure. The step-level fit prices a
 * run's typical step; this is the check that the whole run (ramp-up, the draining tail, adapter loads) comes
 * out as measured.
 *
 * <p>Over 400 lines because it holds one replay per measured family (bursts, lone requests, adapter loads) over
 * one shared run set-up.
 */
final class MeasuredRuns {
    /** One run to replay and the figures it measured. */
    record Run(
            String family,
            String file,
            String key,
            int requests,
            int promptTokens,
            int outputTokens,
            int maxNumSeqs,
            int slots,
            int maxRank,
            int adapters,
            Assignment assignment,
            boolean preload,
            List<Measured> measured) {}

    /** How requests were given their adapters. */
    enum Assignment {
        /** No adapter (the base model). */
        NONE,
        /** Each request draws uniformly from the adapters. */
        UNIFORM,
        /** Round-robin over the adapters, then shuffled (the LoRA-overhead bursts). */
        ROUND_ROBIN_SHUFFLED,
        /** Request i uses adapter i (one request per adapter). */
        ONE_EACH
    }

    /** A measured figure: {@code mean_itl_ms}, {@code mean_ttft_ms}, {@code duration_s} or a tokens/s rate. */
    record Measured(String quantity, double value) {}

    /** The family of the LoRA-overhead runs reproduced by simulating each run in full. */
    static final String SIMULATED = "lora_vs_distinct_adapters_simulated";

    private static final long SEED = 1;
    /** Mean waiting requests above which a Poisson run counts as overloaded. */
    static final double OVERLOADED_QUEUE = 100;
    /** vLLM's max_num_seqs when a run does not set it (the find-max-batch runs peaked at it). */
    private static final int DEFAULT_MAX_NUM_SEQS = 256;

    private final Path dir;
    private final CalibrationSetup setup;
    private final Profiles profiles;
    private final BurstClient client;

    /**
     * @param client the benchmark client's time around each replayed burst: its TTFTs hold the time before the
     *     engine sees the requests, its duration (and the rates over it) that and, for one-token bursts, the time
     *     after the last token
     */
    MeasuredRuns(Path dir, CalibrationSetup setup, Profiles profiles, BurstClient client) {
        this.dir = dir;
        this.setup = setup;
        this.profiles = profiles;
        this.client = client;
    }

    private Csv csv(String file) throws IOException {
        Path p = dir.resolve(file);
        return Files.isRegularFile(p) ? new Csv(p) : null;
    }

    private static boolean has(Csv c, int i, String column) {
        return !c.text(i, column).isEmpty();
    }

    private static void measure(List<Measured> out, Csv c, int i, String column, String quantity) {
        if (has(c, i, column)) {
            out.add(new Measured(quantity, c.number(i, column)));
        }
    }

    /** The runs of {@code model} (its name in the CSV files) that can be replayed. */
    List<Run> runs(String model) throws IOException {
        List<Run> out = new ArrayList<>();
        Csv d = csv(TimingRows.DECODE_BURSTS);
        for (int i = 0; d != null && i < d.size(); i++) {
            if (!d.text(i, "model").equals(model) || !has(d, i, "mean_itl_ms")) {
                continue;
            }
            List<Measured> m = new ArrayList<>();
            measure(m, d, i, "mean_itl_ms", "mean_itl_ms");
            measure(m, d, i, "output_throughput_tok_per_s", "output_tokens_per_s");
            out.add(new Run(
                    "decode_bursts_simulated",
                    TimingRows.DECODE_BURSTS,
                    "max_num_seqs=" + (int) d.number(i, "max_num_seqs") + " output="
                            + d.text(i, "synthetic_output_length_arg"),
                    (int) d.number(i, "requests_sent"),
                    (int) Math.round(d.number(i, "mean_prompt_tokens")),
                    (int) Math.round(d.number(i, "mean_output_tokens")),
                    (int) d.number(i, "max_num_seqs"),
                    0,
                    0,
                    0,
                    Assignment.NONE,
                    true,
                    m));
        }
        Csv p = csv(TimingRows.PREFILL);
        for (int i = 0; p != null && i < p.size(); i++) {
            if (!p.text(i, "model").equals(model)) {
                continue;
            }
            List<Measured> m = new ArrayList<>();
            measure(m, p, i, "mean_ttft_ms", "mean_ttft_ms");
            measure(m, p, i, "input_throughput_tok_per_s", "input_tokens_per_s");
            out.add(new Run(
                    "prefill_bursts_simulated",
                    TimingRows.PREFILL,
                    "max_num_seqs=" + (int) p.number(i, "max_num_seqs") + " prompt=" + p.text(i, "mean_prompt_tokens"),
                    (int) p.number(i, "requests_sent"),
                    (int) Math.round(p.number(i, "mean_prompt_tokens")),
                    1,
                    (int) p.number(i, "max_num_seqs"),
                    0,
                    0,
                    0,
                    Assignment.NONE,
                    true,
                    m));
        }
        Csv l = csv(TimingRows.LONE);
        for (int i = 0; l != null && i < l.size(); i++) {
            if (!l.text(i, "model").equals(model) || !l.text(i, "started").equals("yes") || !has(l, i, "mean_itl_ms")) {
                continue;
            }
            List<Measured> m = new ArrayList<>();
            measure(m, l, i, "mean_itl_ms", "mean_itl_ms");
            measure(m, l, i, "ttft_ms", "mean_ttft_ms");
            int slots = (int) l.number(i, "max_loras");
            int rank = (int) l.number(i, "max_lora_rank");
            out.add(new Run(
                    "lone_request_simulated",
                    TimingRows.LONE,
                    "max_loras=" + slots + " max_lora_rank=" + rank,
                    1,
                    (int) l.number(i, "prompt_tokens"),
                    (int) l.number(i, "output_tokens"),
                    (int) l.number(i, "max_num_seqs"),
                    slots,
                    rank,
                    0,
                    Assignment.NONE,
                    true,
                    m));
        }
        Csv b = csv(TimingRows.LORA_BURSTS);
        for (int i = 0; b != null && i < b.size(); i++) {
            if (!b.text(i, "model").equals(model) || !b.text(i, "outcome").equals("ok") || !has(b, i, "mean_itl_ms")) {
                continue;
            }
            boolean lora = b.text(i, "lora_enabled").equals("yes");
            boolean findMax = b.text(i, "study_set").equals("find_max_batch_small");
            int slots = lora ? (int) b.number(i, "max_loras") : 0;
            int n = !lora
                    ? 0
                    : findMax
                            ? (int) b.number(i, "served_adapters")
                            : (int) b.number(i, "distinct_adapters_drawn_from");
            List<Measured> m = new ArrayList<>();
            measure(m, b, i, "mean_itl_ms", "mean_itl_ms");
            measure(m, b, i, "output_throughput_tok_per_s", "output_tokens_per_s");
            String key = b.text(i, "study_set") + " max_num_seqs=" + b.text(i, "max_num_seqs") + " max_loras="
                    + b.text(i, "max_loras") + " adapters=" + b.text(i, "distinct_adapters_drawn_from") + " output="
                    + b.text(i, "synthetic_output_length_arg");
            out.add(new Run(
                    "lora_bursts_simulated",
                    TimingRows.LORA_BURSTS,
                    key,
                    (int) b.number(i, "requests_sent"),
                    (int) Math.round(b.number(i, "mean_prompt_tokens")),
                    (int) Math.round(b.number(i, "mean_output_tokens")),
                    has(b, i, "max_num_seqs") ? (int) b.number(i, "max_num_seqs") : DEFAULT_MAX_NUM_SEQS,
                    slots,
                    lora ? (int) b.number(i, "max_lora_rank") : 0,
                    n,
                    n == 0 ? Assignment.NONE : findMax ? Assignment.UNIFORM : Assignment.ROUND_ROBIN_SHUFFLED,
                    true,
                    m));
        }
        Csv v = csv(TimingRows.LORA_DISTINCT);
        CalibrationSetup.LoraOverheadRun lr = setup.loraOverheadRun();
        for (int i = 0; v != null && lr != null && i < v.size(); i++) {
            if (!v.text(i, "model").equals(model)) {
                continue;
            }
            boolean lora = v.text(i, "lora_enabled").equals("yes");
            int n = lora ? (int) v.number(i, "distinct_adapters_drawn_from") : 0;
            List<Measured> m = new ArrayList<>();
            measure(m, v, i, "mean_itl_ms", "mean_itl_ms");
            measure(m, v, i, "total_tokens_per_s", "total_tokens_per_s");
            out.add(new Run(
                    SIMULATED,
                    TimingRows.LORA_DISTINCT,
                    "distinct_adapters_drawn_from=" + (int) v.number(i, "distinct_adapters_drawn_from")
                            + (lora ? "" : " (LoRA disabled)"),
                    lr.requests(),
                    lr.promptTokens(),
                    lr.outputTokens(),
                    (int) v.number(i, "max_num_seqs"),
                    lora ? lr.maxLoras() : 0,
                    lr.adapterRank(),
                    n,
                    n == 0 ? Assignment.NONE : Assignment.UNIFORM,
                    true,
                    m));
        }
        Csv a = csv(StorageLoadFit.FILE);
        for (int i = 0; a != null && i < a.size(); i++) {
            if (!a.text(i, "model").equals(model)) {
                continue;
            }
            List<Measured> m = new ArrayList<>();
            measure(m, a, i, "duration_s", "duration_s");
            measure(m, a, i, "mean_itl_ms", "mean_itl_ms");
            int n = (int) a.number(i, "requests_sent");
            out.add(new Run(
                    "adapter_load_runs_simulated",
                    StorageLoadFit.FILE,
                    "max_lora_rank=" + (int) a.number(i, "max_lora_rank") + " adapter_rank="
                            + (int) a.number(i, "adapter_rank"),
                    n,
                    (int) Math.round(a.number(i, "mean_prompt_tokens")),
                    (int) Math.round(a.number(i, "mean_output_tokens")),
                    (int) a.number(i, "max_num_seqs"),
                    (int) a.number(i, "max_loras"),
                    (int) a.number(i, "max_lora_rank"),
                    n,
                    Assignment.ONE_EACH,
                    false,
                    m));
        }
        return out;
    }

    /** Replays every run on {@code threads} threads and compares each measured figure. */
    List<FitRow> reproduce(
            List<Run> runs,
            String name,
            ModelProfile model,
            GpuProfile gpu,
            MemoryCalibration memory,
            RooflineParams params,
            int threads) {
        Calibration fitted = new Calibration(
                setup.name() + "/" + model.name(),
                setup.engine(),
                gpu.name(),
                model.name(),
                memory,
                params,
                null,
                null);
        List<List<FitRow>> each = Parallel.map(runs, threads, run -> replay(run, name, model, gpu, fitted), done -> {});
        List<FitRow> out = new ArrayList<>();
        each.forEach(out::addAll);
        return out;
    }

    private List<FitRow> replay(Run run, String name, ModelProfile model, GpuProfile gpu, Calibration fitted) {
        RunSummary s;
        try {
            // the slots are reserved at the run's max rank; the adapters themselves are of that rank too
            ReplicaSpec r = new ReplicaSpec(
                    1,
                    null,
                    setup.gpuMemoryUtilization(),
                    run.slots(),
                    Math.max(run.slots(), run.adapters()),
                    Math.max(1, run.maxRank()),
                    run.maxNumSeqs(),
                    setup.maxNumBatchedTokens(),
                    setup.blockSize(),
                    true,
                    false,
                    null,
                    null,
                    null,
                    null,
                    null);
            var replica = Deployments.resolve(
                    new DeploymentSpec(name, model.name(), gpu.name(), r, null, null), profiles, fitted);
            s = new ReplicaSimulator(replica, Map.of())
                    .run(requests(run), new RunOptions(null, true, false, Math.max(1, run.maxRank()), run.preload()))
                    .summary();
        } catch (InsufficientGpuMemoryException e) {
            s = null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<FitRow> out = new ArrayList<>();
        // every request of a replayed run is sent at once: the client's time around the engine's
        double before = client.beforeS(run.requests());
        double around = client.totalS(run.requests(), run.outputTokens());
        double stretch = s == null ? 1 : s.windowS() / (s.windowS() + around);
        for (Measured m : run.measured()) {
            double predicted = s == null
                    ? Double.NaN
                    : switch (m.quantity()) {
                        case "mean_itl_ms" -> s.itl().meanMs();
                        case "mean_ttft_ms" -> s.ttft().meanMs() + before * 1e3;
                        case "duration_s" -> s.windowS() + around;
                        case "output_tokens_per_s" -> s.achieved().outputTokensPerS() * stretch;
                        case "input_tokens_per_s" -> s.achieved().inputTokensPerS() * stretch;
                        case "total_tokens_per_s" -> s.achieved().totalTokensPerS() * stretch;
                        default -> throw new IllegalStateException("no simulated figure for " + m.quantity());
                    };
            double error = s == null ? 100 : (predicted - m.value()) / m.value() * 100;
            out.add(new FitRow(
                    run.family(),
                    run.file(),
                    name,
                    run.key(),
                    m.quantity(),
                    m.value(),
                    Math.round(predicted * 1000) / 1000.0,
                    error));
        }
        return out;
    }

    /**
     * Replays the scheduler-overhead table's ten-minute Poisson runs in full: each served adapter its own
     * Poisson stream (the run's per-adapter rate, or its aggregate split evenly), the study's ShareGPT lengths,
     * rank-8 adapters preloaded in host memory, the client cap of the study's own twin, and a 600 s window.
     * The closest runs to the study's one-hour grid that the repository holds: their completed requests and
     * mean ITL against the twin's.
     */
    List<FitRow> reproducePoisson(
            String name,
            ModelProfile model,
            GpuProfile gpu,
            MemoryCalibration memory,
            RooflineParams params,
            int threads)
            throws IOException {
        CalibrationSetup.SchedulerOverheadRun run = setup.schedulerOverheadRun();
        Csv c = csv(TimingRows.SCHEDULER);
        if (run == null || c == null || !name.equals(run.model()) || run.lengths() == null) {
            return List.of();
        }
        // JSON is YAML's flow style: the setup's lengths block goes into each run's workload spec as it is
        String lengths = new ObjectMapper().writeValueAsString(run.lengths());
        Calibration fitted = new Calibration(
                setup.name() + "/" + model.name(),
                setup.engine(),
                gpu.name(),
                model.name(),
                memory,
                params,
                null,
                null);
        List<Integer> rows = new ArrayList<>();
        for (int i = 0; i < c.size(); i++) {
            rows.add(i);
        }
        List<List<FitRow>> each = Parallel.map(
                rows,
                threads,
                i -> {
                    try {
                        return replayPoisson(c, i, run, lengths, name, model, gpu, fitted);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                },
                done -> {});
        List<FitRow> out = new ArrayList<>();
        each.forEach(out::addAll);
        return out;
    }

    private List<FitRow> replayPoisson(
            Csv c,
            int i,
            CalibrationSetup.SchedulerOverheadRun run,
            String lengths,
            String name,
            ModelProfile model,
            GpuProfile gpu,
            Calibration fitted)
            throws IOException {
        int served = (int) c.number(i, "served_adapters");
        int slots = (int) c.number(i, "max_loras");
        int rank = (int) c.number(i, "adapter_rank");
        double duration = c.number(i, "duration_s");
        double perAdapter = c.text(i, "sweep").equals("per_adapter_rate")
                ? c.number(i, "per_adapter_rate_req_per_s")
                : c.number(i, "aggregate_rate_req_per_s") / served;
        String yaml = """
        seed: %d
        duration_s: %s
        arrivals: {type: poisson, rate_tiers: [%s]}
        adapters: {count: %d, ranks: [%d]}
        lengths: %s
        client: {max_outstanding: %d}
        """.formatted(SEED + i, duration, perAdapter, served, rank, lengths, run.clientMaxOutstanding());
        WorkloadSpec workload;
        try {
            workload = WorkloadSpecs.parse(yaml, dir.resolve("scheduler-overhead-run.yaml"));
        } catch (RuntimeException e) {
            // the lengths come from setup.yaml: name it and the key, not the workload spec built from them
            String why = String.valueOf(e.getMessage()).replaceFirst("^.*?scheduler-overhead-run\\.yaml(:\\d+)?: ", "");
            throw new IllegalArgumentException(
                    dir.getParent().resolve("setup.yaml")
                            + ": scheduler_overhead_run.lengths (the lengths of the replayed Poisson runs): " + why,
                    e);
        }
        ReplicaSpec r = new ReplicaSpec(
                1,
                null,
                setup.gpuMemoryUtilization(),
                slots,
                served,
                rank,
                run.maxNumSeqs(),
                setup.maxNumBatchedTokens(),
                setup.blockSize(),
                true,
                false,
                run.maxModelLen(),
                null,
                null,
                null,
                null);
        var replica = Deployments.resolve(
                new DeploymentSpec(name, model.name(), gpu.name(), r, null, null), profiles, fitted);
        RunSummary s;
        try (TraceReader gen = new WorkloadGenerator(workload, null)) {
            s = new ReplicaSimulator(replica, Map.of())
                    .run(gen, new RunOptions((long) (duration * 1e9), false, false, rank, true))
                    .summary();
        }
        String key = TimingRows.schedulerKey(c, i);
        // a run the server kept up with holds a short queue; an overloaded one a queue of thousands
        String family = c.number(i, "mean_waiting_requests") > OVERLOADED_QUEUE
                ? "poisson_runs_overloaded_simulated"
                : "poisson_runs_keeping_up_simulated";
        double completed = c.number(i, "completed_requests") / duration;
        double itl = c.number(i, "mean_itl_ms");
        return List.of(
                new FitRow(
                        family,
                        TimingRows.SCHEDULER,
                        name,
                        key,
                        "completed_requests_per_s",
                        completed,
                        Math.round(s.achieved().requestsPerS() * 1000) / 1000.0,
                        (s.achieved().requestsPerS() - completed) / completed * 100),
                new FitRow(
                        family,
                        TimingRows.SCHEDULER,
                        name,
                        key,
                        "mean_itl_ms",
                        itl,
                        Math.round(s.itl().meanMs() * 1000) / 1000.0,
                        (s.itl().meanMs() - itl) / itl * 100));
    }

    /** The run's requests, all at time 0, with adapters assigned as the run did (seeded). */
    static TraceReader requests(Run run) {
        int n = run.requests();
        String[] adapter = new String[n];
        SplittableRandom random = new SplittableRandom(SEED);
        for (int i = 0; i < n; i++) {
            adapter[i] = switch (run.assignment()) {
                case NONE -> null;
                case UNIFORM -> "a" + random.nextInt(run.adapters());
                case ROUND_ROBIN_SHUFFLED, ONE_EACH -> "a" + (i % run.adapters());
            };
        }
        if (run.assignment() == Assignment.ROUND_ROBIN_SHUFFLED) {
            for (int i = n - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                String t = adapter[i];
                adapter[i] = adapter[j];
                adapter[j] = t;
            }
        }
        return new TraceReader() {
            private int next;

            @Override
            public Request next() {
                if (next == n) {
                    return null;
                }
                int i = next++;
                return new Request(
                        i,
                        0,
                        null,
                        Request.NO_TURN,
                        adapter[i],
                        run.promptTokens(),
                        run.outputTokens(),
                        0,
                        new long[0]);
            }

            @Override
            public void close() {}
        };
    }
}
