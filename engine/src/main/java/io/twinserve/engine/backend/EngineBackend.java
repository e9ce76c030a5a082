package io.twinserve.engine.backend;

import io.twinserve.engine.backend.cpu.CpuBackend;
import io.twinserve.engine.backend.cuda.CudaBackend;
import io.twinserve.engine.backend.cuda.CudaDriver;
import io.twinserve.engine.backend.cuda.CudaUnavailableException;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.ModelFiles;
import java.util.Locale;
import java.util.Objects;

/**
 * The real backend a model runs on (the CPU, or CUDA on one device) and what sizes it: the one place where a
 * command's {@code --backend}, a deployment's {@code compute_config.backend} or its pool's GPU becomes a
 * {@link BackendSpec}. Every command that runs a model ({@code generate}, {@code model logits}, {@code
 * engine profile}, {@code bench engine}, {@code engine validate}) and the server's live deployments build
 * their backend here, so that the two backends are chosen, sized and refused alike.
 *
 * @param kind which backend
 * @param tp tensor parallelism (the CPU backend's shards; CUDA runs tp 1 only)
 * @param threads the CPU backend's threads, 0 for every core (ignored by CUDA)
 * @param kvCacheTokens the KV cache in tokens; null for the default: {@link #DEFAULT_CPU_KV_CACHE_TOKENS} on
 *     the CPU, on CUDA what the device's memory plan leaves after the weights, slots and activations
 * @param blockSize the KV cache's block size in tokens
 * @param adapterSlots adapter slots
 * @param maxRank the rank CUDA slots are reserved at (the CPU backend takes any rank up to its maximum)
 * @param kvDtype the KV cache's dtype, null for auto (the model's on the CPU: bf16, or f32 for f32 models; bf16 on
 *     CUDA, which uploads the weights in bf16)
 * @param gpuMemoryUtilization the share of the device's memory CUDA may use
 * @param maxBatchedTokens the most tokens of one step (CUDA sizes its step buffers by it)
 * @param maxNumSeqs the most sequences of one step
 * @param maxModelLen the longest sequence, 0 for no bound (CUDA refuses a KV cache that cannot hold one)
 */
public record EngineBackend(
        Kind kind,
        int tp,
        int threads,
        Long kvCacheTokens,
        int blockSize,
        int adapterSlots,
        int maxRank,
        DType kvDtype,
        double gpuMemoryUtilization,
        int maxBatchedTokens,
        int maxNumSeqs,
        int maxModelLen) {

    /** The CPU KV cache when none is asked for, in tokens. */
    public static final long DEFAULT_CPU_KV_CACHE_TOKENS = 8192;

    /** The rank CUDA slots are reserved at when none is asked for (vLLM's {@code max_lora_rank} default). */
    public static final int DEFAULT_MAX_RANK = 16;

    /** Which backend. */
    public enum Kind {
        CPU,
        CUDA;

        /** What a backend option takes, for messages and option descriptions. */
        public static final String CHOICES =
                "cpu, cuda (an NVIDIA GPU) or auto (cuda where a GPU and its driver are found, else cpu)";

        /**
         * The backend {@code name} asks for: {@code cpu}; {@code cuda}, refused with one line naming what is
         * missing (the driver's {@code libcuda.so.1}, or a device) where CUDA cannot run; {@code auto} for CUDA
         * where it can, else the CPU. Anything else is refused naming {@code field}.
         */
        public static Kind named(String name, String field) {
            return switch (name == null ? "auto" : name.toLowerCase(Locale.ROOT)) {
                case "cpu" -> CPU;
                case "cuda" -> requireCuda();
                case "auto" -> CudaDriver.available() ? CUDA : CPU;
                default -> throw new IllegalArgumentException(field + ": expected " + CHOICES + ", got '" + name + "'");
            };
        }

        /** CUDA, or the one-line reason it cannot run here ({@link CudaUnavailableException}). */
        public static Kind requireCuda() {
            if (CudaDriver.deviceCount() == 0) {
                throw new CudaUnavailableException(
                        "CUDA unavailable: the NVIDIA driver sees no GPU; use the cpu backend");
            }
            return CUDA;
        }

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public EngineBackend {
        Objects.requireNonNull(kind, "kind");
        if (tp < 1 || threads < 0) {
            throw new IllegalArgumentException("tp must be >= 1 and threads >= 0, got " + tp + " and " + threads);
        }
        if (kind == Kind.CUDA && tp != 1) {
            throw new IllegalArgumentException("tp " + tp + ": the CUDA backend runs on one GPU (tp 1)");
        }
        if (gpuMemoryUtilization <= 0 || gpuMemoryUtilization > 1) {
            throw new IllegalArgumentException("gpu_memory_utilization must be in (0, 1], got " + gpuMemoryUtilization);
        }
        if (maxBatchedTokens < 1 || maxNumSeqs < 1 || maxModelLen < 0) {
            throw new IllegalArgumentException("max_num_batched_tokens and max_num_seqs must be >= 1 and max_model_len"
                    + " >= 0, got " + maxBatchedTokens + ", " + maxNumSeqs + " and " + maxModelLen);
        }
    }

    /** The CPU backend with {@code options}, sized as they say. */
    public static EngineBackend cpu(CpuBackend.Options o) {
        return new EngineBackend(
                Kind.CPU,
                o.tensorParallel(),
                o.threads(),
                o.kvCacheTokens(),
                o.blockSize(),
                o.adapterSlots(),
                DEFAULT_MAX_RANK,
                o.kvDtype(),
                0.9,
                2048,
                256,
                0);
    }

    /** The same, on another backend. */
    public EngineBackend on(Kind other) {
        return new EngineBackend(
                other,
                tp,
                threads,
                kvCacheTokens,
                blockSize,
                adapterSlots,
                maxRank,
                kvDtype,
                gpuMemoryUtilization,
                maxBatchedTokens,
                maxNumSeqs,
                maxModelLen);
    }

    /** The CPU backend's options (the default KV cache when none is asked for). */
    public CpuBackend.Options cpuOptions() {
        return new CpuBackend.Options(
                tp,
                threads,
                kvCacheTokens == null ? DEFAULT_CPU_KV_CACHE_TOKENS : kvCacheTokens,
                blockSize,
                adapterSlots,
                kvDtype);
    }

    /** CUDA's sizing: what {@link Backends} plans the device's memory with. */
    public CudaBackend.Sizing cudaSizing() {
        return new CudaBackend.Sizing(
                kvCacheTokens,
                blockSize,
                adapterSlots,
                maxRank,
                gpuMemoryUtilization,
                maxBatchedTokens,
                maxNumSeqs,
                maxModelLen,
                kvDtype == DType.F32,
                graphBatch(System.getenv(GRAPH_BATCH_ENV)));
    }

    /**
     * The environment variable that turns on the CUDA backend's decode graphs for steps of up to that many
     * sequences (issue 21): off by default until they have run on a GPU (docs/engine.md).
     */
    public static final String GRAPH_BATCH_ENV = "TWINSERVE_CUDA_GRAPH_BATCH";

    /** {@link #GRAPH_BATCH_ENV}'s value: 0 when unset; a clear error when it is not a batch size graphs take. */
    static int graphBatch(String value) {
        if (value == null || value.isBlank()) {
            return 0;
        }
        int max = CudaBackend.MAX_GRAPH_BATCH;
        try {
            int n = Integer.parseInt(value.strip());
            if (n >= 0 && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(GRAPH_BATCH_ENV + "=" + value
                + ": expected the largest decode batch to replay" + " as a CUDA graph, 0 (off) to " + max);
    }

    /** The spec of this backend over {@code model}, on CUDA device {@code device} (ignored on the CPU). */
    public BackendSpec<? extends Backend> spec(ModelFiles model, int device) {
        return switch (kind) {
            case CPU -> new BackendSpec.Cpu(model, cpuOptions());
            case CUDA -> new BackendSpec.Cuda(model, cudaSizing(), device);
        };
    }

    /** Builds the backend over {@code model} (CUDA device 0), which the caller keeps open until it is closed. */
    public Backend create(ModelFiles model) {
        return create(model, 0);
    }

    /** Builds the backend over {@code model} on CUDA device {@code device} (ignored on the CPU). */
    public Backend create(ModelFiles model, int device) {
        return Backends.create(spec(model, device));
    }
}
