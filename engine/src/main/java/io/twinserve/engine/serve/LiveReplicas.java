package io.twinserve.engine.serve;

import io.twinserve.engine.backend.Backend;
import io.twinserve.engine.backend.BackendSpec;
import io.twinserve.engine.backend.Backends;
import io.twinserve.engine.backend.EngineBackend;
import io.twinserve.engine.backend.cpu.CpuBackend;
import io.twinserve.engine.backend.sim.SimulatedBackend;
import io.twinserve.engine.chat.ChatTemplate;
import io.twinserve.engine.live.Detokenizer;
import io.twinserve.engine.live.LiveConfig;
import io.twinserve.engine.live.LiveEngine;
import io.twinserve.engine.live.StepObserver;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.ModelFiles;
import io.twinserve.engine.tokenizer.Tokenizer;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.deploy.ResolvedReplica;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * The one assembly of a serving replica: a model directory's tokenizer and chat template, a backend
 * built by {@link Backends}, and the live loop over it with its limits. The server's deployments, the
 * {@code generate} command and the twin-versus-live validation build their replicas here.
 */
public final class LiveReplicas {
    /**
     * The KV cache of a CPU replica whose spec names none, in tokens: the one home of this default (the
     * server's heap check and {@code generate} read it here).
     */
    public static final long DEFAULT_KV_CACHE_TOKENS = EngineBackend.DEFAULT_CPU_KV_CACHE_TOKENS;

    private LiveReplicas() {}

    /**
     * One serving replica: its live loop, the backend the loop steps, and the model files the backend
     * reads (null for a simulated replica). Closing stops the loop, then releases the backend, then the files.
     */
    public record Replica(LiveEngine engine, Backend backend, ModelFiles files) implements AutoCloseable {
        public Replica {
            Objects.requireNonNull(engine, "engine");
            Objects.requireNonNull(backend, "backend");
        }

        @Override
        public void close() {
            try {
                engine.close();
            } finally {
                try {
                    backend.close();
                } finally {
                    if (files != null) {
                        files.close();
                    }
                }
            }
        }
    }

    /**
     * A replica on a real backend (the CPU, or CUDA): the backend and its sizing, and the live loop's limits.
     *
     * @param maxModelLen the longest prompt + completion: 0 for as long as the model's positions and the
     *     KV cache allow, otherwise capped by them
     */
    public record ModelReplica(
            EngineBackend backend,
            int maxNumSeqs,
            int maxNumBatchedTokens,
            boolean chunkedPrefill,
            boolean prefixCaching,
            int maxCpuAdapters,
            int maxModelLen) {
        public ModelReplica {
            Objects.requireNonNull(backend, "backend");
            if (maxModelLen < 0) {
                throw new IllegalArgumentException(
                        "max_model_len must be >= 0 (0: the model's and the KV cache's limit)," + " got "
                                + maxModelLen);
            }
        }

        /**
         * A deployment's replica spec served on {@code kind}: {@code kv_cache_len} as {@link #kvCacheTokens}, at
         * least one adapter slot and one host adapter, every core.
         *
         * <p>The limits are the spec's, with its own defaults (max_num_seqs, block_size, max_adapters, ...
         * are filled in by {@link ReplicaSpec} for the twin and this alike). They are not taken from the twin's
         * resolution ({@code Deployments.resolve}, whose {@code SchedulerConfig} a simulated replica runs with)
         * because a CPU pool has no GPU profile to resolve against, and a CUDA replica sizes its KV cache from
         * the device it finds (its memory plan, the twin's arithmetic): the live rules that replace the twin's
         * derivation live here, once: the KV default, the floor of one adapter slot and one host adapter, and
         * max_model_len from the model and the KV cache.
         */
        public static ModelReplica of(ReplicaSpec r, EngineBackend.Kind kind) {
            EngineBackend backend = new EngineBackend(
                    kind,
                    r.tp(),
                    0,
                    kind == EngineBackend.Kind.CPU ? Long.valueOf(kvCacheTokens(r)) : kvCacheLen(r),
                    r.blockSize(),
                    Math.max(1, r.maxAdapters()),
                    r.maxAdapterRank(),
                    kvDtype(r),
                    r.gpuMemoryUtilization(),
                    r.maxNumBatchedTokens(),
                    r.maxNumSeqs(),
                    r.maxModelLen() == null ? 0 : r.maxModelLen());
            return new ModelReplica(
                    backend,
                    r.maxNumSeqs(),
                    r.maxNumBatchedTokens(),
                    r.chunkedPrefill(),
                    r.prefixCaching(),
                    Math.max(r.maxCpuAdapters(), 1),
                    r.maxModelLen() == null ? 0 : r.maxModelLen());
        }

        private static Long kvCacheLen(ReplicaSpec r) {
            return r.kvCacheLen() == null ? null : Long.valueOf(r.kvCacheLen());
        }

        /**
         * The KV cache of a replica spec served on the CPU, in tokens: its {@code kv_cache_len}, else
         * {@link #DEFAULT_KV_CACHE_TOKENS} (not {@code gpu_memory_utilization}: there is no GPU to size it by).
         */
        public static long kvCacheTokens(ReplicaSpec r) {
            return r.kvCacheLen() == null ? DEFAULT_KV_CACHE_TOKENS : r.kvCacheLen();
        }

        /** The real backend's KV dtype for a replica's {@code kv_cache_dtype}: null for auto (the model's). */
        public static DType kvDtype(ReplicaSpec r) {
            return CpuBackend.kvDtype(
                    r.kvCacheDtype() == null ? null : r.kvCacheDtype().or("auto"), "compute_config.kv_cache_dtype");
        }

        /**
         * The live loop's limits for {@code model} on {@code built} (the backend built from these settings,
         * whose KV cache a CUDA replica sized from its device), with {@code max_model_len} resolved as documented
         * above.
         */
        public LiveConfig liveConfig(ModelConfig model, Backend built) {
            long limit = Math.min(model.maxPositionEmbeddings(), built.kvCacheTokens());
            int len = (int) Math.min(maxModelLen == 0 ? Integer.MAX_VALUE : maxModelLen, limit);
            return new LiveConfig(maxNumSeqs, maxNumBatchedTokens, chunkedPrefill, prefixCaching, maxCpuAdapters, len);
        }
    }

    /** The model's {@code tokenizer.json}. */
    public static Tokenizer tokenizer(Path modelDir) {
        return Tokenizer.load(modelDir.resolve("tokenizer.json"));
    }

    /**
     * The model's chat template from {@code tokenizer_config.json}, or null when it has none or it cannot
     * be read: a model without one still serves plain prompts.
     */
    public static ChatTemplate chatTemplate(Path modelDir) {
        Path tokenizerConfig = modelDir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(tokenizerConfig)) {
            return null;
        }
        try {
            return ChatTemplate.load(tokenizerConfig);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** The model's chat template, refused with the reason when it has none. */
    public static ChatTemplate requiredChatTemplate(Path modelDir) {
        return ChatTemplate.load(modelDir.resolve("tokenizer_config.json"));
    }

    /** Generated ids to text through the tokenizer's streaming decoder, one decoder per request. */
    public static Detokenizer detokenizer(Tokenizer tokenizer) {
        return () -> tokenizer.streamDecoder(true)::next;
    }

    /**
     * Opens the model's files, builds the replica's backend (CPU or CUDA) on them and starts the live loop,
     * stopping at the model's end-of-sequence tokens; on failure whatever was opened is closed again.
     */
    public static Replica model(Path modelDir, ModelReplica settings, Detokenizer detokenizer) {
        return model(modelDir, settings, detokenizer, 0);
    }

    /** {@link #model(Path, ModelReplica, Detokenizer)} on CUDA device {@code device} (ignored on the CPU). */
    public static Replica model(Path modelDir, ModelReplica settings, Detokenizer detokenizer, int device) {
        return model(modelDir, settings, detokenizer, device, StepObserver.NONE);
    }

    /** {@link #model(Path, ModelReplica, Detokenizer, int)} with an observer of every step, on the loop's thread. */
    public static Replica model(
            Path modelDir, ModelReplica settings, Detokenizer detokenizer, int device, StepObserver observer) {
        ModelFiles files = ModelFiles.open(modelDir);
        Backend backend = null;
        try {
            backend = settings.backend().create(files, device);
            LiveEngine engine = engine(
                    backend, settings.liveConfig(files.config(), backend), detokenizer, files.stopTokenIds(), observer);
            return new Replica(engine, backend, files);
        } catch (RuntimeException | Error e) {
            if (backend != null) {
                backend.close();
            }
            files.close();
            throw e;
        }
    }

    /**
     * A replica that serves a resolved deployment's twin on the wall clock ({@link SimulatedBackend}), with
     * the loop's limits taken from the twin's scheduler so that both batch alike, and no stop tokens.
     */
    public static Replica simulated(ResolvedReplica replica, double timeScale, Detokenizer detokenizer) {
        return simulated(replica, timeScale, detokenizer, StepObserver.NONE);
    }

    /** {@link #simulated(ResolvedReplica, double, Detokenizer)} with an observer of every step. */
    public static Replica simulated(
            ResolvedReplica replica, double timeScale, Detokenizer detokenizer, StepObserver observer) {
        SimulatedBackend backend = Backends.create(BackendSpec.Simulated.of(replica, timeScale));
        LiveEngine engine = engine(backend, backend.liveConfig(), detokenizer, List.of(), observer);
        return new Replica(engine, backend, null);
    }

    /**
     * Starts a live loop over a backend the caller owns, for a caller that runs several loops over one
     * backend in turn (a warm-up, then the measured run).
     */
    public static LiveEngine engine(
            Backend backend,
            LiveConfig limits,
            Detokenizer detokenizer,
            List<Integer> stopTokenIds,
            StepObserver observer) {
        return new LiveEngine(backend, limits, detokenizer, stopTokenIds, observer);
    }
}
