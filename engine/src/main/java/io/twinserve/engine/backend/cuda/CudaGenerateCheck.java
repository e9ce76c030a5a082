package io.twinserve.engine.backend.cuda;

import io.twinserve.engine.backend.EngineBackend;
import io.twinserve.engine.live.Completion;
import io.twinserve.engine.live.GenerationRequest;
import io.twinserve.engine.live.TokenSink;
import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.write.RandomModel;
import io.twinserve.engine.sample.SamplingParams;
import io.twinserve.engine.serve.LiveReplicas;
import io.twinserve.engine.tokenizer.ChatStyle;
import io.twinserve.engine.tokenizer.Tokenizer;
import io.twinserve.engine.tokenizer.TokenizerWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * What {@code twinserve generate --backend cuda} does, without the application's command line (which does not
 * travel to the GPU machine): a random Llama-architecture model of about 1B parameters (16 layers, hidden 2048,
 * MLP 8192, 32/8 heads of 64, a byte-level BPE tokenizer of 32,000 entries) written to {@code DIR} unless there,
 * then one prompt through the live loop (the twin's scheduler, the sampler, the detokenizer) on the CUDA backend,
 * its tokens streamed to stdout as they come, then the time to the first token and the decode rate.
 *
 * <p>{@code java ... CudaGenerateCheck DIR [MAX_TOKENS]}; exits 1 when no token came.
 */
public final class CudaGenerateCheck {
    private CudaGenerateCheck() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "out/random-1b");
        int maxTokens = 64;
        if (args.length > 1) {
            try {
                maxTokens = Integer.parseInt(args[1]);
            } catch (NumberFormatException e) {
                System.err.println("error: MAX_TOKENS must be a whole number, got '" + args[1] + "'");
                System.exit(2);
                return;
            }
        }
        // before writing 2 GB of model: without a driver, say so in one line at once
        try {
            EngineBackend.Kind.requireCuda();
        } catch (CudaUnavailableException e) {
            // one line, as the kernel check says it (not JCuda's page of nested stack traces)
            System.err.println("error: " + e.getMessage());
            System.exit(3);
            return;
        }
        if (!Files.isRegularFile(dir.resolve("model.safetensors"))
                && !Files.isRegularFile(dir.resolve("config.json"))) {
            long t0 = System.nanoTime();
            Files.createDirectories(dir);
            TokenizerWriter.Written tok = TokenizerWriter.writeByteLevelBpe(dir, 32000, ChatStyle.LLAMA3);
            ModelConfig config = RandomModel.config(
                    Architecture.LLAMA,
                    16,
                    2048,
                    8192,
                    32,
                    8,
                    64,
                    Math.max(32000, tok.vocabSize()),
                    DType.BF16,
                    true,
                    tok.bosId(),
                    tok.stopIds());
            long bytes = RandomModel.write(new RandomModel.Spec(config, 1, 1), dir);
            System.out.printf(
                    Locale.ROOT, "wrote %s: %.2f GB in %.1f s%n", dir, bytes / 1e9, (System.nanoTime() - t0) / 1e9);
        }
        Tokenizer tokenizer = LiveReplicas.tokenizer(dir);
        LiveReplicas.ModelReplica settings = new LiveReplicas.ModelReplica(
                new EngineBackend(EngineBackend.Kind.CUDA, 1, 0, 8192L, 16, 1, 16, null, 0.9, 2048, 16, 0),
                16,
                2048,
                true,
                true,
                1,
                0);
        long open = System.nanoTime();
        try (LiveReplicas.Replica replica = LiveReplicas.model(dir, settings, LiveReplicas.detokenizer(tokenizer))) {
            System.out.printf(
                    Locale.ROOT,
                    "CUDA backend up in %.1f s (%s)%n",
                    (System.nanoTime() - open) / 1e9,
                    ((CudaBackend) replica.backend()).deviceName());
            int[] ids = tokenizer.encode("The quick brown fox jumps over the lazy dog, and then", true);
            CompletableFuture<Completion> done = new CompletableFuture<>();
            long start = System.nanoTime();
            long[] first = {0};
            int[] count = {0};
            replica.engine()
                    .submit(
                            new GenerationRequest(
                                    null,
                                    ids,
                                    new SamplingParams(0, 0, 1, 0, maxTokens, List.of(), List.of(), true),
                                    0),
                            new TokenSink() {
                                @Override
                                public void onToken(int tokenId, String piece) {
                                    if (count[0]++ == 0) {
                                        first[0] = System.nanoTime();
                                    }
                                    System.out.print(piece);
                                    System.out.flush();
                                }

                                @Override
                                public void onFinished(Completion completion) {
                                    done.complete(completion);
                                }
                            });
            Completion c = done.get(300, TimeUnit.SECONDS);
            long end = System.nanoTime();
            System.out.println();
            double decodeS = (end - first[0]) / 1e9;
            System.out.printf(
                    Locale.ROOT,
                    "generate --backend cuda: %d tokens streamed (%s), TTFT %.1f ms, decode %.1f tokens/s%n",
                    c.completionTokens(),
                    c.reason(),
                    (first[0] - start) / 1e6,
                    count[0] > 1 ? (count[0] - 1) / decodeS : 0.0);
            System.exit(count[0] > 0 ? 0 : 1);
        }
    }
}
