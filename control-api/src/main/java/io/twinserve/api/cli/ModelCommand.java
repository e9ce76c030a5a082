package io.twinserve.api.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinserve.engine.backend.Backend;
import io.twinserve.engine.backend.EngineBackend;
import io.twinserve.engine.backend.SequenceLogits;
import io.twinserve.engine.backend.cpu.CpuBackend;
import io.twinserve.engine.backend.cuda.CudaBackend;
import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.ModelFiles;
import io.twinserve.engine.model.write.RandomModel;
import io.twinserve.engine.serve.LiveReplicas;
import io.twinserve.engine.tokenizer.ChatStyle;
import io.twinserve.engine.tokenizer.TokenizerWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code twinserve model}: writes random models in Hugging Face layout and dumps the engine's logits. */
@Command(
        name = "model",
        mixinStandardHelpOptions = true,
        description = "Model files: write a random model for tests and benchmarks, or dump the engine's logits.",
        subcommands = {ModelCommand.InitRandom.class, ModelCommand.Logits.class})
final class ModelCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(
            name = "init-random",
            mixinStandardHelpOptions = true,
            description = {
                "Writes a random model in Hugging Face layout: config.json, safetensors weights (one file or "
                        + "index-listed shards), generation_config.json, and a byte-level BPE tokenizer.json with "
                        + "tokenizer_config.json and its chat template."
            },
            footer = {
                "",
                "Examples:",
                "  twinserve model init-random --arch qwen3 --layers 2 --hidden 64 -o out/tiny-qwen3",
                "  twinserve model init-random --arch llama --layers 16 --hidden 2048 --intermediate 8192 --heads 32 "
                        + "--kv-heads 8 -o out/llama-1b"
            })
    static final class InitRandom implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--arch", description = "llama, mistral, qwen2 or qwen3 (default: ${DEFAULT-VALUE})")
        String arch = "llama";

        @Option(names = "--layers", description = "decoder layers (default: ${DEFAULT-VALUE})")
        int layers = 4;

        @Option(names = "--hidden", description = "hidden size (default: ${DEFAULT-VALUE})")
        int hidden = 256;

        @Option(names = "--intermediate", description = "MLP size (default: 3 x hidden)")
        int intermediate;

        @Option(names = "--heads", description = "attention heads (default: hidden / 32, at least 1)")
        int heads;

        @Option(names = "--kv-heads", description = "key/value heads (default: heads / 2 when even)")
        int kvHeads;

        @Option(names = "--head-dim", description = "head dimension (default: hidden / heads)")
        int headDim;

        @Option(names = "--vocab", description = "vocabulary size, tokenizer included (default: ${DEFAULT-VALUE})")
        int vocab = 1024;

        @Option(names = "--dtype", description = "bf16, f16 or f32 (default: ${DEFAULT-VALUE})")
        String dtype = "bf16";

        @Option(names = "--tie-embeddings", description = "share the embedding and LM head weights")
        boolean tie;

        @Option(
                names = "--shards",
                description = "weight files; above 1 writes model.safetensors.index.json (default: ${DEFAULT-VALUE})")
        int shards = 1;

        @Option(names = "--seed", description = "random seed (default: ${DEFAULT-VALUE})")
        long seed;

        @Option(
                names = {"-o", "--output"},
                required = true,
                description = "model directory to write")
        Path output;

        @Override
        public Integer call() throws Exception {
            Architecture a = Architecture.of(arch.toLowerCase(Locale.ROOT));
            if (a == null) {
                throw new IllegalArgumentException(
                        "--arch '" + arch + "' is not supported; expected llama, mistral, qwen2 or qwen3");
            }
            int h = heads > 0 ? heads : Math.max(1, hidden / 32);
            int kv = kvHeads > 0 ? kvHeads : (h % 2 == 0 ? h / 2 : h);
            int hd = headDim > 0 ? headDim : hidden / h;
            int inter = intermediate > 0 ? intermediate : 3 * hidden;
            if (hidden < 1 || layers < 1 || hd < 2 || hd % 2 != 0) {
                throw new IllegalArgumentException("--hidden " + hidden + " / --heads " + h + " gives head_dim " + hd
                        + "; expected an even head dimension of at least 2 and at least one layer");
            }
            ChatStyle style = a == Architecture.QWEN2 || a == Architecture.QWEN3 ? ChatStyle.QWEN : ChatStyle.LLAMA3;
            Files.createDirectories(output);
            TokenizerWriter.Written tok = TokenizerWriter.writeByteLevelBpe(output, vocab, style);
            ModelConfig config = RandomModel.config(
                    a,
                    layers,
                    hidden,
                    inter,
                    h,
                    kv,
                    hd,
                    Math.max(vocab, tok.vocabSize()),
                    DType.ofTorch(dtype.toLowerCase(Locale.ROOT)),
                    tie,
                    tok.bosId(),
                    tok.stopIds());
            long bytes = RandomModel.write(new RandomModel.Spec(config, seed, shards), output);
            spec.commandLine()
                    .getOut()
                    .printf(
                            "wrote %s: %s, %d layers, hidden %d, MLP %d, %d heads (%d KV, dim %d), "
                                    + "vocab %d, %,d parameters, %.1f MiB of %s weights%n",
                            output,
                            a.className(),
                            layers,
                            hidden,
                            inter,
                            h,
                            kv,
                            hd,
                            config.vocabSize(),
                            config.parameters(),
                            bytes / 1048576.0,
                            config.dtype());
            return 0;
        }
    }

    @Command(
            name = "logits",
            mixinStandardHelpOptions = true,
            description = {
                "Runs the CPU backend on one sequence and writes the logits at every position as JSON "
                        + "(for comparing with another implementation, e.g. scripts/gpu/compare_transformers.py)."
            })
    static final class Logits implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--model", required = true, description = "model directory")
        Path model;

        @Option(
                names = "--backend",
                defaultValue = "cpu",
                description = "The backend: " + EngineCommand.BACKENDS + " (default: ${DEFAULT-VALUE}).")
        String backend;

        @Option(names = "--adapter", description = "a PEFT adapter directory to apply")
        Path adapter;

        @Option(names = "--tokens", split = ",", description = "token ids, comma-separated")
        int[] tokens;

        @Option(
                names = "--prompt",
                description = "text to tokenize with the model's tokenizer.json instead of --tokens")
        String prompt;

        @Option(names = "--tp", description = "tensor-parallel shards (default: ${DEFAULT-VALUE})")
        int tp = 1;

        @Option(
                names = "--kv-cache-dtype",
                description = "auto (bf16, or f32 for f32 models), bf16 or f32 " + "(default: ${DEFAULT-VALUE})")
        String kvCacheDtype = "auto";

        @Option(
                names = "--chunk",
                description = "tokens per forward step, each step reading the KV cache the "
                        + "earlier ones wrote; 1 decodes token by token (default: the whole sequence in one step)")
        int chunk;

        @Option(
                names = {"-o", "--output"},
                required = true,
                description = "JSON file to write")
        Path output;

        @Override
        public Integer call() throws Exception {
            EngineBackend.Kind kind = EngineCommand.backend(backend, spec.commandLine());
            try (ModelFiles files = ModelFiles.open(model)) {
                int[] ids = tokens;
                if (ids == null) {
                    if (prompt == null) {
                        throw new IllegalArgumentException("give --tokens or --prompt");
                    }
                    ids = LiveReplicas.tokenizer(model).encode(prompt, true);
                }
                // a backend only, no live loop: one sequence's forward passes, laid out by SequenceLogits
                DType kvDtype = CpuBackend.kvDtype(kvCacheDtype, "--kv-cache-dtype");
                EngineBackend engine = SequenceLogits.backend(kind, tp, ids.length, adapter, kvDtype, chunk);
                try (Backend backend = engine.create(files)) {
                    float[] logits = SequenceLogits.run(backend, files, ids, adapter, chunk);
                    DType stored = backend instanceof CpuBackend cpu
                            ? cpu.kvCacheDtype()
                            : ((CudaBackend) backend).kvCacheDtype();
                    ObjectNode root = SequenceLogits.document(
                            model,
                            adapter,
                            tp,
                            chunk == 0 ? ids.length : chunk,
                            backend.name(),
                            stored,
                            tokens == null ? prompt : null,
                            ids,
                            logits);
                    new ObjectMapper().writeValue(output.toFile(), root);
                }
            }
            return 0;
        }
    }
}
