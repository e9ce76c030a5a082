package io.twinserve.twin.deploy;

import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.twinserve.traces.format.TraceFormatException;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.memory.MemoryBreakdown;
import io.twinserve.twin.memory.MemoryCalibration;
import io.twinserve.twin.memory.MemoryModel;
import io.twinserve.twin.perf.AllReduceModel;
import io.twinserve.twin.perf.AnalyticAllReduceModel;
import io.twinserve.twin.perf.Calibration;
import io.twinserve.twin.perf.PerfModel;
import io.twinserve.twin.perf.PerfModelSpec;
import io.twinserve.twin.perf.ProfiledPerfModel;
import io.twinserve.twin.perf.RooflineParams;
import io.twinserve.twin.perf.RooflinePerfModel;
import io.twinserve.twin.perf.SpeculativePerfModel;
import io.twinserve.twin.perf.VidurMlpTable;
import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.ModelProfile;
import io.twinserve.twin.profile.ProfileException;
import io.twinserve.twin.profile.Profiles;
import io.twinserve.twin.sched.SchedulerConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/** Reads deployment specs and calibrations, and resolves them into {@link ResolvedReplica}s. */
public final class Deployments {
    private static final ObjectMapper YAML = WorkloadSpecs.configure(new YAMLMapper());

    private Deployments() {}

    public static DeploymentSpec load(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "no such deployment file");
        }
        return parse(WorkloadSpecs.readText(file), file);
    }

    public static DeploymentSpec parse(String yaml, Path file) {
        return WorkloadSpecs.parse(yaml, file, DeploymentSpec.class);
    }

    /** A built-in calibration by name (e.g. {@code vllm-0.8.5-h100-64gb/llama-3.1-8b}) or a file. */
    public static Calibration calibration(String nameOrPath) throws IOException {
        Calibration builtIn = BUILT_IN_CALIBRATIONS.get(nameOrPath);
        if (builtIn != null) {
            return builtIn;
        }
        String resource = "/io/twinserve/twin/calibrations/" + nameOrPath + ".yaml";
        try (InputStream in = Deployments.class.getResourceAsStream(resource)) {
            if (in != null) {
                // a built-in calibration is a resource of the jar, the same for the process's life: read once (a
                // capacity search resolves a deployment per probe, and the YAML took more time than some probes)
                Calibration c = YAML.readValue(in, Calibration.class);
                BUILT_IN_CALIBRATIONS.putIfAbsent(nameOrPath, c);
                return c;
            }
        }
        Path p = Path.of(nameOrPath);
        if (Files.isRegularFile(p)) {
            try {
                return YAML.readValue(WorkloadSpecs.readText(p), Calibration.class);
            } catch (JsonMappingException e) {
                throw new SpecException(
                        p,
                        e.getLocation() == null ? 0 : e.getLocation().getLineNr(),
                        "",
                        "is not a calibration file: " + e.getOriginalMessage().split("\n")[0]);
            }
        }
        throw new SpecException(
                "perf_model.calibration",
                "'" + nameOrPath + "' is neither a built-in calibration (" + String.join(", ", builtInCalibrations())
                        + ") nor a calibration file");
    }

    /** Built-in calibrations read so far, by name (files are read each time: they may change). */
    private static final java.util.Map<String, Calibration> BUILT_IN_CALIBRATIONS =
            new java.util.concurrent.ConcurrentHashMap<>();

    public static List<String> builtInCalibrations() {
        return List.of("vllm-0.8.5-h100-64gb/llama-3.1-8b", "vllm-0.8.5-h100-64gb/qwen2.5-7b");
    }

    public static ResolvedReplica resolve(DeploymentSpec spec, Profiles profiles) throws IOException {
        Calibration cal = spec.perfModel().calibration() == null
                ? null
                : calibration(spec.perfModel().calibration());
        return resolve(spec, profiles, cal);
    }

    /**
     * Resolves with a calibration given in memory (null: defaults), such as one being fitted, and the
     * analytic all-reduce of the GPU profile's interconnect.
     */
    public static ResolvedReplica resolve(DeploymentSpec spec, Profiles profiles, Calibration cal) throws IOException {
        return resolve(spec, profiles, cal, AnalyticAllReduceModel.forGpu(gpu(spec, profiles)));
    }

    /**
     * Resolves with a calibration given in memory (null: defaults) and the all-reduce model of the
     * interconnect the replica's GPUs share (a compute pool's {@code interconnect}, built by
     * {@link AllReduceModel#of}).
     */
    public static ResolvedReplica resolve(
            DeploymentSpec spec, Profiles profiles, Calibration cal, AllReduceModel allReduce) throws IOException {
        Objects.requireNonNull(allReduce, "allReduce");
        ModelProfile loaded = model(spec.model(), "model", profiles);
        GpuProfile gpu = gpu(spec, profiles);
        if (cal != null && !cal.gpu().equals(gpu.name())) {
            throw new SpecException(
                    "perf_model.calibration",
                    "'" + cal.name() + "' was fitted on GPU " + cal.gpu() + ", but the deployment runs on " + gpu.name()
                            + "; choose a calibration for this GPU or none");
        }
        if (cal != null && !cal.model().equals(loaded.name())) {
            throw new SpecException(
                    "perf_model.calibration",
                    "'" + cal.name() + "' was fitted for model " + cal.model() + ", but the deployment serves "
                            + loaded.name());
        }
        ReplicaSpec r = spec.replica();
        ModelProfile model = r.servedModel(loaded);
        ReplicaSpec.Speculative speculative = r.speculative();
        ModelProfile draft = speculative == null
                ? null
                : r.servedDraftModel(model(speculative.draftModel(), "replica.speculative.draft_model", profiles));
        try {
            model.checkTensorParallel(r.tp());
        } catch (IllegalArgumentException e) {
            throw new SpecException("replica.tp", e.getMessage());
        }
        if (draft != null) {
            try {
                // the draft runs on the target's GPUs, sharded alike
                draft.checkTensorParallel(r.tp());
            } catch (IllegalArgumentException e) {
                throw new SpecException(
                        "replica.speculative.draft_model",
                        e.getMessage() + " (the draft is sharded as the target, tp " + r.tp() + ")");
            }
        }
        MemoryCalibration mem = cal != null && cal.memory() != null
                ? cal.memory()
                : MemoryCalibration.defaults(model, r.maxNumBatchedTokens());
        MemoryBreakdown memory = MemoryModel.resolve(model, draft, gpu, r, mem);
        RooflineParams params = cal != null && cal.roofline() != null ? cal.roofline() : RooflineParams.defaults();
        RooflinePerfModel roofline;
        try {
            roofline = new RooflinePerfModel(model, gpu, r.tp(), params, allReduce);
        } catch (IllegalArgumentException e) {
            throw new SpecException("replica.tp", "cannot be priced by the interconnect: " + e.getMessage());
        }
        PerfModel perf = switch (spec.perfModel()) {
            case PerfModelSpec.Roofline ignored -> roofline;
            case PerfModelSpec.Profiled p -> {
                if (model.dtypeBytes() != loaded.dtypeBytes()) {
                    throw new SpecException(
                            "replica.weight_dtype",
                            "must keep the checkpoint's " + loaded.dtype()
                                    + " with perf_model profiled, whose table was measured at 16 bits; got "
                                    + model.dtype());
                }
                Path table = Path.of(p.table());
                try {
                    yield new ProfiledPerfModel(roofline, VidurMlpTable.read(table, r.tp()), model);
                } catch (NoSuchFileException e) {
                    throw new SpecException("perf_model.table", "'" + p.table() + "' does not exist");
                } catch (TraceFormatException | IllegalArgumentException e) {
                    throw new SpecException("perf_model.table", "cannot be used: " + e.getMessage());
                }
            }
        };
        if (speculative != null) {
            // the draft shares the target's GPUs, tensor parallelism, calibration and interconnect
            PerfModel draftPerf = new RooflinePerfModel(draft, gpu, r.tp(), params, allReduce);
            perf = new SpeculativePerfModel(perf, draftPerf, speculative.numDraftSteps(), speculative.acceptanceRate());
        }
        int maxModelLen = r.maxModelLen() != null ? r.maxModelLen() : model.maxModelLen();
        if (!r.chunkedPrefill() && r.maxNumBatchedTokens() < maxModelLen) {
            // as vLLM refuses it: a longer prompt could never be scheduled and would block the queue
            throw new SpecException(
                    "replica.max_num_batched_tokens",
                    "must be >= max_model_len (" + maxModelLen
                            + ") when chunked_prefill is false, got " + r.maxNumBatchedTokens()
                            + "; enable chunked_prefill or lower max_model_len");
        }
        SchedulerConfig sc = new SchedulerConfig(
                r.maxNumSeqs(),
                r.maxNumBatchedTokens(),
                r.chunkedPrefill(),
                r.blockSize(),
                memory.kvCacheTokens(),
                r.prefixCaching(),
                r.maxAdapters(),
                r.maxCpuAdapters(),
                r.maxAdapterRank(),
                maxModelLen,
                r.adapterLoad() == ReplicaSpec.AdapterLoad.ASYNC);
        return new ResolvedReplica(spec, model, gpu, cal, memory, perf, sc);
    }

    private static ModelProfile model(String nameOrPath, String keyPath, Profiles profiles) {
        try {
            return profiles.model(nameOrPath);
        } catch (ProfileException e) {
            throw new SpecException(keyPath, e.getMessage());
        }
    }

    private static GpuProfile gpu(DeploymentSpec spec, Profiles profiles) {
        try {
            return profiles.gpu(spec.gpu());
        } catch (ProfileException e) {
            throw new SpecException("gpu", e.getMessage());
        }
    }
}
