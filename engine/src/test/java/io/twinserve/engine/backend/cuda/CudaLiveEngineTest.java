package io.twinserve.engine.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.engine.backend.Backend;
import io.twinserve.engine.backend.BackendSpec;
import io.twinserve.engine.backend.Backends;
import io.twinserve.engine.backend.EngineBackend;
import io.twinserve.engine.backend.cpu.CpuBackend;
import io.twinserve.engine.live.Completion;
import io.twinserve.engine.live.GenerationRequest;
import io.twinserve.engine.live.LiveConfig;
import io.twinserve.engine.live.LiveEngine;
import io.twinserve.engine.live.TokenSink;
import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.ModelFiles;
import io.twinserve.engine.model.Projection;
import io.twinserve.engine.model.write.RandomModel;
import io.twinserve.engine.sample.SamplingParams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The live loop (the twin's scheduler on the wall clock, the sampler, adapter loads into slots) driving the CUDA
 * backend on an emulated device, against the same loop on the CPU backend: concurrent requests with adapters of
 * two ranks in fewer slots than adapters, so that slots are reloaded, chunked prefills and preemption, greedy
 * decoding. The emulation does the CPU backend's arithmetic to float rounding, so every request must get the same
 * tokens on both; what this checks is that the backend is a drop-in step executor for the loop.
 */
class CudaLiveEngineTest {

    @Test
    void theLiveLoopOnTheCudaBackendGivesTheTokensItGivesOnTheCpu(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("model");
        RandomModel.write(
                new RandomModel.Spec(
                        RandomModel.config(
                                Architecture.LLAMA, 2, 64, 96, 4, 2, 16, 300, DType.BF16, false, 1, List.of(2)),
                        3,
                        1),
                model);
        List<Path> adapters = new ArrayList<>();
        int[] ranks = {4, 8, 8};
        for (int i = 0; i < ranks.length; i++) {
            Path a = dir.resolve("adapter" + i);
            RandomModel.writeAdapter(
                    model, ranks[i], 2.0 * ranks[i], List.of(Projection.values()), 40 + i, DType.BF16, a);
            adapters.add(a);
        }
        List<GenerationRequest> requests = new ArrayList<>();
        Random random = new Random(5);
        for (int i = 0; i < 7; i++) {
            int[] prompt = new int[3 + random.nextInt(30)];
            for (int t = 0; t < prompt.length; t++) {
                prompt[t] = 1 + random.nextInt(299);
            }
            String adapter = i % 4 == 3 ? null : "a" + (i % 3);
            // greedy, seeded temperatures (one with min-p) drawn on the device, and top-p, which the host draws
            SamplingParams sampling = switch (i % 4) {
                case 0 -> SamplingParams.greedy(6 + i);
                case 1 -> new SamplingParams(0.8, 0, 1, 100 + i, 6 + i, List.of(), List.of(), true);
                case 2 ->
                    new SamplingParams(
                            1.2,
                            0,
                            1,
                            100 + i,
                            6 + i,
                            List.of(),
                            List.of(),
                            true,
                            0,
                            0,
                            1,
                            0.05,
                            java.util.Map.of(),
                            -1);
                default -> new SamplingParams(0.9, 0, 0.8, 100 + i, 6 + i, List.of(), List.of(), true);
            };
            requests.add(new GenerationRequest(adapter, prompt, sampling, 0));
        }
        // 2 slots for 3 adapters, a KV cache of 96 tokens for 7 requests of up to 44: loads, reloads and preemption
        LiveConfig limits = new LiveConfig(4, 16, true, true, 3, 64);
        try (ModelFiles files = ModelFiles.open(model)) {
            List<List<Integer>> cpu = run(
                    Backends.create(new BackendSpec.Cpu(files, new CpuBackend.Options(1, 1, 96, 4, 2))),
                    limits,
                    adapters,
                    requests);
            // device draws on and off, and on with decode graphs (which draw inside the graph when every row is the
            // device's)
            for (int variant = 0; variant < 3; variant++) {
                boolean deviceDraws = variant != 1;
                EmulatedGpu gpu = new EmulatedGpu();
                // fp32 logits, so that the draws see the CPU's logits to the bit (bf16 logits move a seeded draw)
                CudaBackend backend = new CudaBackend(
                        files, new CudaBackend.Options(96, 4, 2, 8, false, variant == 2 ? 4 : 0), gpu, false);
                backend.deviceDraws(deviceDraws);
                List<List<Integer>> cuda = run(backend, limits, adapters, requests);
                assertThat(cuda).as("variant " + variant).isEqualTo(cpu);
                if (variant == 2) {
                    assertThat(backend.graphDrawSteps()).isPositive();
                }
                assertThat(gpu.launches).contains("ts_lora_shrink", "ts_lora_expand", "ts_paged_attention");
                if (deviceDraws) {
                    // the greedy and temperature rows were drawn where the logits are, from the same seeded streams
                    assertThat(backend.deviceDrawn()).isPositive();
                    assertThat(gpu.launches).contains("ts_sample_rows");
                } else {
                    assertThat(backend.deviceDrawn()).isZero();
                    assertThat(gpu.launches).doesNotContain("ts_sample_rows");
                }
            }
            assertThat(cpu).allSatisfy(tokens -> assertThat(tokens).isNotEmpty());
        }
    }

    private static List<List<Integer>> run(
            Backend backend, LiveConfig limits, List<Path> adapters, List<GenerationRequest> requests)
            throws Exception {
        List<CompletableFuture<Completion>> done = new ArrayList<>();
        List<List<Integer>> tokens = new ArrayList<>();
        try (backend;
                LiveEngine engine = new LiveEngine(backend, limits, () -> id -> "", List.of())) {
            for (int i = 0; i < adapters.size(); i++) {
                engine.registerAdapter("a" + i, adapters.get(i));
            }
            for (GenerationRequest r : requests) {
                List<Integer> streamed = new ArrayList<>();
                CompletableFuture<Completion> f = new CompletableFuture<>();
                tokens.add(streamed);
                done.add(f);
                engine.submit(r, new TokenSink() {
                    @Override
                    public void onToken(int tokenId, String piece) {
                        streamed.add(tokenId);
                    }

                    @Override
                    public void onFinished(Completion completion) {
                        f.complete(completion);
                    }
                });
            }
            for (CompletableFuture<Completion> f : done) {
                f.get(120, TimeUnit.SECONDS);
            }
        }
        return tokens;
    }

    @Test
    void theEngineBackendChoiceRefusesWhatCudaCannotRunWithTheReason() {
        EngineBackend cpu = EngineBackend.cpu(new CpuBackend.Options(2, 1, 1024, 16, 4));
        assertThat(cpu.cpuOptions()).isEqualTo(new CpuBackend.Options(2, 1, 1024, 16, 4));
        assertThatThrownBy(() -> cpu.on(EngineBackend.Kind.CUDA))
                .hasMessage("tp 2: the CUDA backend runs on one GPU (tp 1)");
        EngineBackend f32 = EngineBackend.cpu(new CpuBackend.Options(1, 1, 1024, 16, 4, DType.F32));
        assertThat(f32.on(EngineBackend.Kind.CUDA).cudaSizing().kvF32()).isTrue();
        assertThat(cpu.cudaSizing().kvF32()).isFalse();
        assertThatThrownBy(() -> EngineBackend.Kind.named("rocm", "compute_config.backend"))
                .hasMessageContaining("compute_config.backend: expected cpu, cuda")
                .hasMessageEndingWith("got 'rocm'");
        // no KV cache asked for: CUDA sizes it from the device's memory plan, the CPU takes its default
        EngineBackend unsized =
                new EngineBackend(EngineBackend.Kind.CUDA, 1, 0, null, 16, 4, 16, null, 0.5, 2048, 256, 4096);
        assertThat(unsized.cpuOptions().kvCacheTokens()).isEqualTo(EngineBackend.DEFAULT_CPU_KV_CACHE_TOKENS);
        Function<Long, CudaMemoryPlan> plan = bytes -> CudaMemoryPlan.plan(
                RandomModel.config(Architecture.LLAMA, 2, 64, 96, 4, 2, 16, 300, DType.BF16, false, 1, List.of(2)),
                unsized.cudaSizing().request(bytes));
        CudaMemoryPlan onOneGib = plan.apply(1L << 30);
        CudaMemoryPlan onTwoGib = plan.apply(2L << 30);
        assertThat(unsized.cudaSizing().options(onOneGib).kvCacheTokens()).isEqualTo(onOneGib.kvCacheTokens());
        // half the memory of a device twice as large: more KV cache, as the twin's memory model has it
        assertThat(onTwoGib.kvCacheTokens()).isGreaterThan(onOneGib.kvCacheTokens());
        assertThat(onOneGib.kvCacheTokens() % 16).isZero();
        // an fp32 cache takes twice the bytes per token: half the tokens in what is left (to a block)
        CudaMemoryPlan f32Plan = CudaMemoryPlan.plan(
                RandomModel.config(Architecture.LLAMA, 2, 64, 96, 4, 2, 16, 300, DType.BF16, false, 1, List.of(2)),
                new EngineBackend(EngineBackend.Kind.CUDA, 1, 0, null, 16, 4, 16, DType.F32, 0.5, 2048, 256, 4096)
                        .cudaSizing()
                        .request(1L << 30));
        assertThat(f32Plan.kvCacheTokens()).isBetween(onOneGib.kvCacheTokens() / 2 - 16, onOneGib.kvCacheTokens() / 2);
    }
}
