package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** A replica's configuration, with vLLM's meaning for each key (docs/deployment-spec.md); absent keys take their defaults, unknown keys are refused with a did-you-mean. */
public record ComputeConfig(
        @Schema(description = "tensor parallelism, a power of two (default 1)")
        Integer tp,

        @Schema(description = "KV-cache capacity in tokens; derived from gpu_memory_utilization when absent")
        Integer kvCacheLen,

        @Schema(description = "share of GPU memory the replica may use, (0, 1] (default 0.9)")
        Double gpuMemoryUtilization,

        @Schema(description = "GPU adapter slots: the most distinct adapters in one batch; 0 disables LoRA (default 4)")
        Integer maxAdapters,

        @Schema(description = "adapters kept in host memory (LRU), at least max_adapters")
        Integer maxCpuAdapters,

        @Schema(description = "slot buffers are reserved at this rank (default 16)")
        Integer maxAdapterRank,

        @Schema(description = "the most sequences in one batch (default 256)")
        Integer maxNumSeqs,

        @Schema(description = "the most tokens in one step (default 2048)")
        Integer maxNumBatchedTokens,

        @Schema(description = "KV-cache block size in tokens (default 16)")
        Integer blockSize,

        @Schema(description = "split long prefills across steps (default true)")
        Boolean chunkedPrefill,

        @Schema(description = "reuse KV blocks of shared prompt prefixes (default true)")
        Boolean prefixCaching,

        @Schema(description = "the longest sequence; a replica whose KV cache cannot hold one does not start")
        Integer maxModelLen,

        @Schema(
                description = "whether adapter loads stall the step that needs them (sync, vLLM) or overlap (async)",
                allowableValues = {"sync", "async"})
        String adapterLoad,

        @Schema(
                description = "how the weights are stored; auto keeps the model's",
                allowableValues = {"auto", "bf16", "fp16", "fp8"})
        String weightDtype,

        @Schema(
                description = "how the KV cache is stored; auto keeps the model's",
                allowableValues = {"auto", "bf16", "fp16", "fp8"})
        String kvCacheDtype,

        @Schema(description = "speculative decoding; absent turns it off")
        Speculative speculative,

        @Schema(
                description = "the engine a live replica runs on: auto (default) takes the pool's, the CPU engine on"
                        + " a pool with gpu: cpu and CUDA on a GPU pool; live deployments only",
                allowableValues = {"auto", "cpu", "cuda"})
        String backend,

        @Schema(
                nullable = true,
                description = "shadow mode: the deployment's twin run beside it on the same arrivals (docs/serve.md);"
                        + " true for the defaults, or window_s, warmup_windows, drift_bound, drift_windows, settle_s,"
                        + " min_requests and (live deployments, required) profile")
        ShadowReport.ShadowSettings shadow,

        @Schema(
                nullable = true,
                description = "fault injection for drills: step_delay_ms pauses after every step; fail_after_steps"
                        + " makes replica fail_replica fail on purpose after that many steps (failover), on its first"
                        + " run only unless repeat is true")
        Fault fault,

        @Schema(
                nullable = true,
                description = "how a replica whose engine failed is restarted: at most max_restarts times (default 3;"
                        + " 0 never), the first after backoff_s seconds (default 1), each later one after twice the"
                        + " pause before (at most 60 s)")
        Restart restart) {

    /** Fault injection. */
    public record Fault(
            @Schema(description = "a pause after every engine step, ms (0 to 60000)")
            Integer stepDelayMs,

            @Schema(nullable = true, description = "the replica that fails on purpose (default 0)")
            Integer failReplica,

            @Schema(nullable = true, description = "the steps that replica runs before it fails (0 or absent: never)")
            Long failAfterSteps,

            @Schema(
                    nullable = true,
                    description = "whether the replica fails again after each restart (default false: its first run"
                            + " only)")
            Boolean repeat) {}

    /** Restarts of a failed replica. */
    public record Restart(
            @Schema(nullable = true, description = "restarts allowed per replica, 0 to 1000 (default 3; 0: never)")
            Integer maxRestarts,

            @Schema(nullable = true, description = "the pause before the first restart, s (0 to 60, default 1)")
            Double backoffS) {}
}
