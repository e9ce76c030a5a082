package io.twinserve.experiments.validate;

import io.twinserve.engine.backend.Backend;
import io.twinserve.engine.backend.EngineBackend;
import io.twinserve.engine.live.Completion;
import io.twinserve.engine.live.LiveEngine;
import io.twinserve.engine.live.StepObserver;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.ModelFiles;
import io.twinserve.engine.profile.EngineProfile;
import io.twinserve.engine.profile.ProfileFit;
import io.twinserve.engine.serve.LiveReplicas;
import io.twinserve.traces.Provenance;
import io.twinserve.traces.Request;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.metrics.RequestRecord;
import io.twinserve.twin.metrics.RunSummary;
import io.twinserve.twin.profile.ModelProfile;
import io.twinserve.twin.sim.ReplicaSimulator;
import io.twinserve.twin.sim.RunOptions;
import io.twinserve.twin.sim.RunResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Runs one workload twice: through the twin's single-replica simulator on an engine profile (the
 * prediction), and through the live loop on the CPU backend of the profiled model (the measurement), with
 * the same scheduler settings, KV cache, adapter slots and threads on both sides, then compares them.
 */
public final class TwinVsLive {
    /**
     * What to run.
     *
     * @param adapters adapter name to PEFT folder, in order; the workload's adapters are mapped onto them
     * @param deploymentFile an edited copy of the profile's deployment.yaml, or null for the profile's own
     * @param workload the requests in any order (sorted by arrival before the run)
     * @param workloadSource the workload's file, or a description of the built-in workload
     * @param seed the live prompts' random tokens
     * @param warmupRequests requests run through a throw-away live loop first, so that the JIT has compiled
     *     the kernels before anything is timed (the profile warms up likewise)
     * @param threads backend threads; 0 for the profile's
     * @param backend the live side's backend, which must be the one the profile was measured on; null for that one
     */
    public record Setup(
            Path modelDir,
            Map<String, Path> adapters,
            Path profileDir,
            Path deploymentFile,
            List<Request> workload,
            String workloadSource,
            long seed,
            int warmupRequests,
            int threads,
            EngineBackend.Kind backend) {
        /** The live side on the backend the profile was measured on. */
        public Setup(
                Path modelDir,
                Map<String, Path> adapters,
                Path profileDir,
                Path deploymentFile,
                List<Request> workload,
                String workloadSource,
                long seed,
                int warmupRequests,
                int threads) {
            this(
                    modelDir,
                    adapters,
                    profileDir,
                    deploymentFile,
                    workload,
                    workloadSource,
                    seed,
                    warmupRequests,
                    threads,
                    null);
        }

        public Setup {
            adapters = Collections.unmodifiableMap(new LinkedHashMap<>(adapters));
            workload = List.copyOf(workload);
            if (workload.isEmpty()) {
                throw new IllegalArgumentException("the workload " + workloadSource + " has no requests");
            }
            if (warmupRequests < 0 || threads < 0) {
                throw new IllegalArgumentException(
                        "warm-up requests and threads must be >= 0, got " + warmupRequests + " and " + threads);
            }
        }
    }

    private static final int WARMUP_OUTPUT_TOKENS = 8;

    private TwinVsLive() {}

    /**
     * Runs both sides and compares them.
     *
     * @param provenance the caller's facts (version, commit), recorded beside the machine's
     * @param status told what is running, for a progress display
     */
    public static TwinVsLiveReport run(Setup s, Map<String, Object> provenance, Consumer<String> status)
            throws Exception {
        EngineProfileFolder profile = EngineProfileFolder.read(s.profileDir(), s.deploymentFile());
        DeploymentSpec base = profile.deployment();
        ModelProfile twinModel = profile.profiles().model(base.model());
        List<String> notes = new ArrayList<>();
        if (s.backend() != null && s.backend() != profile.backend()) {
            throw new IllegalArgumentException("--backend " + s.backend().label() + ": the profile " + s.profileDir()
                    + " was measured on the " + profile.backend().label() + " backend, and the twin prices steps with"
                    + " it; profile this backend first (twinserve engine profile --backend "
                    + s.backend().label()
                    + ")");
        }
        int threads = s.threads() > 0 ? s.threads() : profile.threads();
        if (threads != profile.threads()) {
            notes.add(
                    "the backend ran with " + threads + " threads; the profile was measured with " + profile.threads());
        }
        ServingSettings settings = ServingSettings.of(base.replica(), twinModel.maxModelLen(), threads);
        Map<String, Integer> ranks = new LinkedHashMap<>();
        for (Map.Entry<String, Path> a : s.adapters().entrySet()) {
            ranks.put(a.getKey(), LoraAdapter.readRank(a.getValue()));
        }
        int maxRank = ranks.values().stream().mapToInt(Integer::intValue).max().orElse(0);
        if (maxRank > settings.maxAdapterRank()) {
            notes.add("max_adapter_rank raised from " + settings.maxAdapterRank() + " to " + maxRank
                    + " (the largest adapter's rank), so that the twin accepts every adapter");
            settings = withMaxAdapterRank(settings, maxRank);
        }
        if (!ranks.isEmpty() && settings.adapterSlots() == 0) {
            throw new IllegalArgumentException(profile.deploymentFile() + ": replica.max_adapters is 0 (LoRA disabled),"
                    + " but " + ranks.size() + " adapters were given");
        }
        ServedWorkload workload =
                ServedWorkload.of(s.workload(), List.copyOf(ranks.keySet()), s.workloadSource(), settings);
        notes.addAll(workload.notes());
        if (!ranks.isEmpty()) {
            notes.add("adapter loads: the twin prices a load from host memory with the profile's fitted adapter-load"
                    + " terms and a load from storage with the default storage bandwidth (not measured); the live loop"
                    + " reads each adapter's files on its first use");
        }

        try (ModelFiles files = ModelFiles.open(s.modelDir())) {
            ModelConfig config = files.config();
            requireSameModel(config, twinModel, s.modelDir(), profile.dir());
            DeploymentSpec spec = new DeploymentSpec(
                    base.name(),
                    base.model(),
                    base.gpu(),
                    settings.replicaSpec(base.replica()),
                    base.perfModel(),
                    base.starvationBoundS());
            ResolvedReplica replica = Deployments.resolve(spec, profile.profiles());

            status.accept("twin: simulating " + workload.requests().size() + " requests");
            RunResult twin = new ReplicaSimulator(replica, ranks)
                    .run(reader(workload.requests()), new RunOptions(null, false, true, 16, false));

            String loadBefore = loadAverage();
            // one backend under two loops in turn (the warm-up's, then the measured one's), so the replica is
            // assembled here from LiveReplicas' parts rather than as one LiveReplicas.Replica
            // the live side runs on the backend the profile was measured on (its provenance says which)
            try (Backend backend = settings.backend(profile.backend()).create(files)) {
                if (s.warmupRequests() > 0) {
                    status.accept("live: warming up with "
                            + Math.min(s.warmupRequests(), workload.requests().size()) + " requests");
                    warmUp(
                            backend,
                            settings,
                            replica,
                            s.adapters(),
                            workload.requests(),
                            s.warmupRequests(),
                            config.vocabSize(),
                            s.seed());
                }
                LiveStepLog steps = new LiveStepLog(replica.perf());
                LiveReplay.Result live;
                try (LiveEngine engine = liveEngine(backend, settings, replica, s.adapters(), steps)) {
                    status.accept("live: replaying " + workload.requests().size() + " requests on the wall clock");
                    live = LiveReplay.run(engine, workload.requests(), a -> a, config.vocabSize(), s.seed());
                }
                Map<String, Object> prov = new LinkedHashMap<>(provenance);
                // other work on the machine slows the live side only: these show whether there was any
                prov.put("load_average_before_live", loadBefore);
                prov.put("load_average_after_live", loadAverage());
                return report(s, profile, replica, settings, ranks, workload, twin, live, steps, notes, prov);
            }
        }
    }

    /**
     * A live loop on {@code backend} with the adapters registered, refused unless its scheduler's limits are
     * the twin replica's.
     */
    private static LiveEngine liveEngine(
            Backend backend,
            ServingSettings settings,
            ResolvedReplica replica,
            Map<String, Path> adapters,
            StepObserver observer) {
        LiveEngine engine = LiveReplicas.engine(backend, settings.liveConfig(), () -> id -> "", List.of(), observer);
        List<String> differences = ServingSettings.differences(replica.scheduler(), engine.schedulerConfig());
        if (!differences.isEmpty()) {
            engine.close();
            throw new IllegalStateException(
                    "the twin and the live loop would schedule differently: " + String.join("; ", differences));
        }
        adapters.forEach(engine::registerAdapter);
        return engine;
    }

    /** Runs the first requests of the workload, all at once with short outputs, through a throw-away loop. */
    private static void warmUp(
            Backend backend,
            ServingSettings settings,
            ResolvedReplica replica,
            Map<String, Path> adapters,
            List<Request> requests,
            int count,
            int vocab,
            long seed)
            throws Exception {
        List<Request> warm = new ArrayList<>();
        for (Request r : requests.subList(0, Math.min(count, requests.size()))) {
            warm.add(Request.of(
                    r.id(), 0, r.adapterId(), r.promptTokens(), Math.min(WARMUP_OUTPUT_TOKENS, r.outputTokens())));
        }
        try (LiveEngine engine = liveEngine(backend, settings, replica, adapters, StepObserver.NONE)) {
            // other prompts than the measured run's, so that no prefix could be found in a cache
            LiveReplay.run(engine, warm, a -> a, vocab, ~seed);
        }
    }

    private static TwinVsLiveReport report(
            Setup s,
            EngineProfileFolder profile,
            ResolvedReplica replica,
            ServingSettings settings,
            Map<String, Integer> ranks,
            ServedWorkload workload,
            RunResult twinRun,
            LiveReplay.Result live,
            LiveStepLog steps,
            List<String> notes,
            Map<String, Object> provenance) {
        List<RequestRecord> records = twinRun.requests();
        int n = records.size();
        notes = new ArrayList<>(notes);
        long twinCached =
                records.stream().mapToLong(RequestRecord::cachedPromptTokens).sum();
        long liveCached = live.served().stream()
                .mapToLong(x -> x.completion().cachedPromptTokens())
                .sum();
        if (twinCached > 0 || liveCached > 0) {
            notes.add("prompt tokens served from the prefix cache: twin " + twinCached + ", live " + liveCached);
        }
        if (live.lateTurns() > 0) {
            notes.add(String.format(
                    Locale.ROOT,
                    "live: %d session turns were sent after their trace time, the previous turn not having answered"
                            + " yet (up to %.1f ms late); the twin sends every turn at its trace time",
                    live.lateTurns(),
                    live.maxLateMs()));
        }
        long[] ttft = new long[n];
        long[] latency = new long[n];
        long[] finish = new long[n];
        long prompt = 0;
        long output = 0;
        for (int i = 0; i < n; i++) {
            RequestRecord r = records.get(i);
            if (r.outcome() != RequestRecord.Outcome.FINISHED) {
                throw new IllegalStateException("the twin did not finish request " + r.id() + ": " + r.outcome());
            }
            ttft[i] = r.firstTokenNs() - r.arrivalNs();
            latency[i] = r.finishNs() - r.arrivalNs();
            finish[i] = r.finishNs();
            prompt += r.promptTokens();
            output += r.generatedTokens();
        }
        RunSummary sum = twinRun.summary();
        SideFigures twin = SideFigures.of(
                ttft,
                latency,
                finish,
                prompt,
                output,
                sum.steps(),
                sum.preemptions(),
                sum.adapterLoads(),
                sum.adapterLoadTimeS());

        int m = live.served().size();
        ttft = new long[m];
        latency = new long[m];
        finish = new long[m];
        prompt = 0;
        output = 0;
        for (int i = 0; i < m; i++) {
            LiveReplay.Served served = live.served().get(i);
            Completion c = served.completion();
            if (c.reason() != Completion.FinishReason.LENGTH || c.ttftNs() < 0) {
                throw new IllegalStateException("the live loop ended request "
                        + served.request().id() + " with " + c.reason() + " after " + c.completionTokens() + " tokens");
            }
            ttft[i] = c.ttftNs();
            latency[i] = c.latencyNs();
            finish[i] = served.submittedNs() + c.latencyNs();
            prompt += c.promptTokens();
            output += c.completionTokens();
        }
        LiveEngine.Stats stats = live.stats();
        SideFigures measured = SideFigures.of(
                ttft,
                latency,
                finish,
                prompt,
                output,
                stats.steps(),
                stats.preemptions(),
                stats.adapterSlotLoads(),
                stats.adapterLoadNs() / 1e9);

        List<TwinVsLiveReport.Metric> comparison = List.of(
                TwinVsLiveReport.Metric.of(
                        "output_tokens_per_s", "tokens/s", twin.outputTokensPerS(), measured.outputTokensPerS()),
                TwinVsLiveReport.Metric.of("mean_ttft_ms", "ms", twin.meanTtftMs(), measured.meanTtftMs()),
                TwinVsLiveReport.Metric.of("p50_ttft_ms", "ms", twin.p50TtftMs(), measured.p50TtftMs()),
                TwinVsLiveReport.Metric.of("mean_latency_ms", "ms", twin.meanLatencyMs(), measured.meanLatencyMs()));
        TwinVsLiveReport.StepModelCheck stepModel = steps.check();

        Map<String, Object> prov =
                new LinkedHashMap<>(Provenance.of(null, s.seed()).asMap());
        prov.put("cpu", EngineProfile.cpuModel());
        prov.put("profile_provenance", profile.calibration().provenance());
        prov.putAll(provenance);
        return new TwinVsLiveReport(
                replica.model().name(),
                s.modelDir().toAbsolutePath().normalize().toString(),
                profile.dir().toAbsolutePath().normalize().toString(),
                profile.deploymentFile().toString(),
                replica.gpu().name(),
                profile.calibration().name(),
                settings,
                workload.summary(s.adapters(), ranks, s.warmupRequests()),
                twin,
                measured,
                comparison,
                stepModel,
                notes,
                prov,
                steps.csv());
    }

    /** The 1, 5 and 15 minute load averages (Linux), else "unknown". */
    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2] + " (" + Runtime.getRuntime().availableProcessors() + " cores)";
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    private static void requireSameModel(ModelConfig c, ModelProfile profiled, Path modelDir, Path profileDir) {
        ModelProfile given = ProfileFit.modelProfile(c, profiled.name());
        if (given.layers() != profiled.layers()
                || given.hiddenSize() != profiled.hiddenSize()
                || given.heads() != profiled.heads()
                || given.kvHeads() != profiled.kvHeads()
                || given.headDim() != profiled.headDim()
                || given.intermediateSize() != profiled.intermediateSize()
                || given.vocabSize() != profiled.vocabSize()) {
            throw new IllegalArgumentException("--model " + modelDir + " is not the model profiled in " + profileDir
                    + ": layers/hidden/heads/kv heads/head dim/MLP/vocabulary " + shape(given)
                    + " against the profile's "
                    + shape(profiled));
        }
    }

    private static String shape(ModelProfile m) {
        return m.layers() + "/" + m.hiddenSize() + "/" + m.heads() + "/" + m.kvHeads() + "/" + m.headDim() + "/"
                + m.intermediateSize() + "/" + m.vocabSize();
    }

    private static ServingSettings withMaxAdapterRank(ServingSettings x, int rank) {
        return new ServingSettings(
                x.maxNumSeqs(),
                x.maxNumBatchedTokens(),
                x.kvCacheTokens(),
                x.blockSize(),
                x.adapterSlots(),
                x.maxCpuAdapters(),
                rank,
                x.maxModelLen(),
                x.chunkedPrefill(),
                x.prefixCaching(),
                x.tensorParallel(),
                x.threads());
    }

    private static TraceReader reader(List<Request> requests) {
        Iterator<Request> it = requests.iterator();
        return () -> it.hasNext() ? it.next() : null;
    }
}
