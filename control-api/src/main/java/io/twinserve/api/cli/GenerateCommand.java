package io.twinserve.api.cli;

import io.twinserve.engine.backend.EngineBackend;
import io.twinserve.engine.backend.cpu.CpuBackend;
import io.twinserve.engine.chat.ChatMessage;
import io.twinserve.engine.chat.ChatTemplate;
import io.twinserve.engine.live.Completion;
import io.twinserve.engine.live.GenerationRequest;
import io.twinserve.engine.live.LiveEngine;
import io.twinserve.engine.live.TokenSink;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.sample.SamplingParams;
import io.twinserve.engine.serve.LiveReplicas;
import io.twinserve.engine.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code twinserve generate}: runs prompts through the live loop (the twin's scheduler on the wall clock
 * with the CPU or CUDA backend), streaming tokens as they are made.
 */
@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        description = {
            "Generates text with the real engine: the twin's scheduler, KV manager and adapter cache on the "
                    + "wall clock, with the CPU or CUDA backend as the step executor. Several --prompt options run concurrently in "
                    + "one batch; a single prompt streams its tokens as they come."
        },
        footer = {
            "",
            "Examples:",
            "  twinserve generate --model out/tiny-qwen3 --prompt 'Hello'",
            "  twinserve generate --model out/tiny-qwen3 --adapter a1=out/tiny-qwen3-a1 --use a1 --chat --prompt 'Hi' --max-tokens 32",
            "  twinserve generate --model M --adapter a=A --adapter b=B --use a --use b --prompt one --prompt two"
        })
final class GenerateCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, description = "model directory (Hugging Face layout)")
    Path model;

    @Option(names = "--adapter", description = "NAME=DIR: a PEFT adapter to serve (repeatable)")
    Map<String, Path> adapters = new LinkedHashMap<>();

    @Option(
            names = "--use",
            description = "adapter NAME for the prompt in the same position (repeatable; one applies to all)")
    List<String> use = new ArrayList<>();

    @Option(names = "--prompt", required = true, description = "prompt text (repeatable: the prompts run concurrently)")
    List<String> prompts;

    @Option(names = "--chat", description = "wrap each prompt as a user message with the model's chat template")
    boolean chat;

    @Option(names = "--system", description = "system message (with --chat)")
    String system;

    @Option(names = "--max-tokens", description = "tokens to generate at most (default: ${DEFAULT-VALUE})")
    int maxTokens = 64;

    @Option(names = "--temperature", description = "0 for greedy (default: ${DEFAULT-VALUE})")
    double temperature;

    @Option(names = "--top-k", description = "0 for no limit (default: ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--top-p", description = "nucleus sampling mass (default: ${DEFAULT-VALUE})")
    double topP = 1.0;

    @Option(names = "--seed", description = "sampling seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--stop", description = "stop string (repeatable)")
    List<String> stop = new ArrayList<>();

    @Option(names = "--ignore-eos", description = "keep generating after the end-of-sequence token")
    boolean ignoreEos;

    @Option(
            names = "--backend",
            defaultValue = "cpu",
            description = "The backend: " + EngineCommand.BACKENDS + " (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--tp", description = "tensor-parallel shards (default: ${DEFAULT-VALUE})")
    int tp = 1;

    @Option(names = "--threads", description = "worker threads (default: all cores)")
    int threads;

    @Option(
            names = "--kv-cache-len",
            description = "KV cache capacity in tokens (default: 8192 on the CPU; on CUDA what the GPU's memory"
                    + " holds after the weights, adapter slots and activations, at 90% of it)")
    Long kvCacheLen;

    @Option(
            names = "--kv-cache-dtype",
            description = "auto (bf16, or f32 for f32 models), bf16 or f32 " + "(default: ${DEFAULT-VALUE})")
    String kvCacheDtype = "auto";

    @Option(
            names = "--max-adapters",
            description = "adapter slots (default: ${DEFAULT-VALUE}); on CUDA each is reserved at the largest rank of"
                    + " the --adapter directories, at least 16")
    int maxAdapters = 4;

    @Option(names = "--max-cpu-adapters", description = "adapters kept in host memory (default: ${DEFAULT-VALUE})")
    int maxCpuAdapters = 16;

    @Option(names = "--max-num-seqs", description = "sequences per step (default: ${DEFAULT-VALUE})")
    int maxNumSeqs = 32;

    @Option(names = "--max-num-batched-tokens", description = "tokens per step (default: ${DEFAULT-VALUE})")
    int maxNumBatchedTokens = 512;

    @Override
    public Integer call() throws Exception {
        EngineBackend.Kind kind = EngineCommand.backend(backend, spec.commandLine());
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (use.size() > 1 && use.size() != prompts.size()) {
            throw new IllegalArgumentException("--use given " + use.size() + " times for " + prompts.size()
                    + " prompts; give it once (for all) or once per prompt");
        }
        if (!Files.isDirectory(model)) {
            throw new IllegalArgumentException("--model " + model + ": not a directory; expected a model directory in "
                    + "Hugging Face layout (config.json, *.safetensors, tokenizer.json)");
        }
        Path tokenizerFile = model.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokenizerFile)) {
            throw new IllegalArgumentException(tokenizerFile + ": missing; generate needs the model's tokenizer.json");
        }
        Tokenizer tokenizer = LiveReplicas.tokenizer(model);
        ChatTemplate template = chat ? LiveReplicas.requiredChatTemplate(model) : null;
        // max_model_len 0: as long as the model's positions and the KV cache allow
        int maxRank = EngineBackend.DEFAULT_MAX_RANK;
        for (Path a : adapters.values()) {
            maxRank = Math.max(maxRank, LoraAdapter.readRank(a));
        }
        LiveReplicas.ModelReplica settings = new LiveReplicas.ModelReplica(
                new EngineBackend(
                        kind,
                        tp,
                        threads,
                        kvCacheLen,
                        16,
                        maxAdapters,
                        maxRank,
                        CpuBackend.kvDtype(kvCacheDtype, "--kv-cache-dtype"),
                        0.9,
                        maxNumBatchedTokens,
                        maxNumSeqs,
                        0),
                maxNumSeqs,
                maxNumBatchedTokens,
                true,
                true,
                maxCpuAdapters,
                0);
        try (LiveReplicas.Replica replica = LiveReplicas.model(model, settings, LiveReplicas.detokenizer(tokenizer))) {
            LiveEngine engine = replica.engine();
            adapters.forEach(engine::registerAdapter);
            boolean streaming = prompts.size() == 1;
            List<CompletableFuture<Completion>> done = new ArrayList<>();
            long start = System.nanoTime();
            for (int i = 0; i < prompts.size(); i++) {
                String text = prompts.get(i);
                int[] ids;
                if (template != null) {
                    List<ChatMessage> messages = new ArrayList<>();
                    if (system != null) {
                        messages.add(new ChatMessage("system", system));
                    }
                    messages.add(new ChatMessage("user", text));
                    ids = tokenizer.encode(template.render(messages, true), false);
                } else {
                    ids = tokenizer.encode(text, true);
                }
                String adapter = use.isEmpty() ? null : use.get(use.size() == 1 ? 0 : i);
                CompletableFuture<Completion> f = new CompletableFuture<>();
                done.add(f);
                engine.submit(
                        new GenerationRequest(
                                adapter,
                                ids,
                                new SamplingParams(
                                        temperature, topK, topP, seed + i, maxTokens, stop, List.of(), ignoreEos),
                                0),
                        new TokenSink() {
                            @Override
                            public void onToken(int tokenId, String piece) {
                                if (streaming) {
                                    out.print(piece);
                                    out.flush();
                                }
                            }

                            @Override
                            public void onFinished(Completion completion) {
                                f.complete(completion);
                            }
                        });
            }
            long tokens = 0;
            for (int i = 0; i < done.size(); i++) {
                Completion c = done.get(i).get();
                tokens += c.completionTokens();
                if (streaming) {
                    out.println();
                } else {
                    out.printf(
                            "[%d%s] %s%n",
                            i + 1, use.isEmpty() ? "" : " " + use.get(use.size() == 1 ? 0 : i), c.text());
                }
                err.printf(
                        "request %d: %s, %d prompt + %d completion tokens, TTFT %.1f ms, %.1f ms in all%n",
                        i + 1,
                        c.reason().name().toLowerCase(Locale.ROOT),
                        c.promptTokens(),
                        c.completionTokens(),
                        c.ttftNs() / 1e6,
                        c.latencyNs() / 1e6);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            LiveEngine.Stats s = engine.stats();
            err.printf(
                    "%d tokens in %.2f s (%.1f tokens/s), %d steps, %d preemptions, %d adapter loads from storage%n",
                    tokens, seconds, tokens / seconds, s.steps(), s.preemptions(), s.adapterStorageLoads());
        }
        return 0;
    }
}
