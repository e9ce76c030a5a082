package io.twinserve.engine.model.write;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.Projection;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a random model in Hugging Face layout (what {@code twinserve model init-random} does): the
 * config, the weights as one file or as index-listed shards, and the generation config. Weights are
 * scaled so activations keep unit size through the layers, which keeps logits well apart (useful for
 * comparing token choices across backends).
 */
public final class RandomModel {
    private RandomModel() {}

    /**
     * @param shards number of weight files (1 writes {@code model.safetensors})
     */
    public record Spec(ModelConfig config, long seed, int shards) {
        public Spec {
            if (shards < 1 || shards > config.numLayers() + 2) {
                throw new IllegalArgumentException(
                        "shards must be between 1 and layers + 2 = " + (config.numLayers() + 2) + ", got " + shards);
            }
        }
    }

    /** A config with the defaults of the architecture for a small random model. */
    public static ModelConfig config(
            Architecture arch,
            int layers,
            int hidden,
            int intermediate,
            int heads,
            int kvHeads,
            int headDim,
            int vocab,
            DType dtype,
            boolean tied,
            int bosId,
            List<Integer> eosIds) {
        ModelConfig.RopeScaling scaling =
                arch == Architecture.LLAMA ? new ModelConfig.RopeScaling("llama3", 8.0, 1.0, 4.0, 64) : null;
        return new ModelConfig(
                arch,
                hidden,
                intermediate,
                layers,
                heads,
                kvHeads,
                headDim,
                vocab,
                arch == Architecture.LLAMA ? 1e-5 : 1e-6,
                arch == Architecture.LLAMA ? 500000.0 : 1000000.0,
                scaling,
                tied,
                arch.qkvBias(),
                4096,
                0,
                dtype,
                bosId,
                eosIds);
    }

    /** Writes the model files into {@code dir} (created if needed); returns the bytes of weights written. */
    public static long write(Spec spec, Path dir) throws IOException {
        Files.createDirectories(dir);
        ModelConfig c = spec.config();
        Files.writeString(dir.resolve("config.json"), c.toJson());
        ObjectMapper json = new ObjectMapper();
        ObjectNode gen = json.createObjectNode();
        if (c.bosTokenId() >= 0) {
            gen.put("bos_token_id", c.bosTokenId());
        }
        var eos = gen.putArray("eos_token_id");
        c.eosTokenIds().forEach(eos::add);
        gen.put("do_sample", false);
        Files.writeString(
                dir.resolve("generation_config.json"),
                json.writerWithDefaultPrettyPrinter().writeValueAsString(gen));

        // group tensors by shard: embeddings first, layers spread evenly, head last
        List<SafeTensorsWriter> writers = new ArrayList<>();
        for (int i = 0; i < spec.shards(); i++) {
            writers.add(new SafeTensorsWriter());
        }
        Map<String, Integer> shardOf = new LinkedHashMap<>();
        DType dt = c.dtype();
        int h = c.hiddenSize();
        add(writers.get(0), shardOf, 0, spec, "model.embed_tokens.weight", dt, new long[] {c.vocabSize(), h}, 0, 1.0);
        for (int l = 0; l < c.numLayers(); l++) {
            int shard = spec.shards() == 1 ? 0 : (int) ((long) l * spec.shards() / c.numLayers());
            SafeTensorsWriter w = writers.get(shard);
            String p = "model.layers." + l + ".";
            add(w, shardOf, shard, spec, p + "input_layernorm.weight", dt, new long[] {h}, 1, 0.1);
            add(w, shardOf, shard, spec, p + "post_attention_layernorm.weight", dt, new long[] {h}, 1, 0.1);
            for (Projection proj : Projection.values()) {
                int in = proj.inDim(c);
                add(
                        w,
                        shardOf,
                        shard,
                        spec,
                        proj.modulePath(l).substring(0) + ".weight",
                        dt,
                        new long[] {proj.outDim(c), in},
                        0,
                        1.0 / Math.sqrt(in));
            }
            if (c.attentionBias()) {
                add(w, shardOf, shard, spec, p + "self_attn.q_proj.bias", dt, new long[] {c.qDim()}, 0, 0.1);
                add(w, shardOf, shard, spec, p + "self_attn.k_proj.bias", dt, new long[] {c.kvDim()}, 0, 0.1);
                add(w, shardOf, shard, spec, p + "self_attn.v_proj.bias", dt, new long[] {c.kvDim()}, 0, 0.1);
            }
            if (c.architecture().qkNorm()) {
                add(w, shardOf, shard, spec, p + "self_attn.q_norm.weight", dt, new long[] {c.headDim()}, 1, 0.1);
                add(w, shardOf, shard, spec, p + "self_attn.k_norm.weight", dt, new long[] {c.headDim()}, 1, 0.1);
            }
        }
        int last = spec.shards() - 1;
        add(writers.get(last), shardOf, last, spec, "model.norm.weight", dt, new long[] {h}, 1, 0.1);
        if (!c.tieWordEmbeddings()) {
            add(
                    writers.get(last),
                    shardOf,
                    last,
                    spec,
                    "lm_head.weight",
                    dt,
                    new long[] {c.vocabSize(), h},
                    0,
                    1.0 / Math.sqrt(h));
        }
        Map<String, String> meta = Map.of("format", "pt");
        long total = 0;
        if (spec.shards() == 1) {
            writers.get(0).write(dir.resolve("model.safetensors"), meta);
            return writers.get(0).bytes();
        }
        ObjectNode index = json.createObjectNode();
        ObjectNode map = json.createObjectNode();
        for (int i = 0; i < writers.size(); i++) {
            String file = String.format("model-%05d-of-%05d.safetensors", i + 1, writers.size());
            writers.get(i).write(dir.resolve(file), meta);
            total += writers.get(i).bytes();
            for (Map.Entry<String, Integer> e : shardOf.entrySet()) {
                if (e.getValue() == i) {
                    map.put(e.getKey(), file);
                }
            }
        }
        index.putObject("metadata").put("total_size", total);
        index.set("weight_map", map);
        Files.writeString(
                dir.resolve("model.safetensors.index.json"),
                json.writerWithDefaultPrettyPrinter().writeValueAsString(index));
        return total;
    }

    private static void add(
            SafeTensorsWriter w,
            Map<String, Integer> shardOf,
            int shard,
            Spec spec,
            String name,
            DType dtype,
            long[] shape,
            double mean,
            double std) {
        w.add(name, dtype, shape, new RandomWeights(spec.seed(), name, mean, std));
        shardOf.put(name, shard);
    }

    /**
     * Writes a random PEFT adapter for the model in {@code baseDir}: both {@code A} and {@code B} random
     * (PEFT starts {@code B} at zero, which would make every adapter the base model).
     */
    public static long writeAdapter(
            Path baseDir, int rank, double alpha, List<Projection> targets, long seed, DType dtype, Path outDir)
            throws IOException {
        if (rank < 1 || rank > LoraAdapter.MAX_RANK) {
            throw new IllegalArgumentException("rank must be between 1 and " + LoraAdapter.MAX_RANK + ", got " + rank);
        }
        ModelConfig c = ModelConfig.read(baseDir.resolve("config.json"));
        Files.createDirectories(outDir);
        ObjectMapper json = new ObjectMapper();
        ObjectNode cfg = json.createObjectNode();
        cfg.put("peft_type", "LORA");
        cfg.put("task_type", "CAUSAL_LM");
        cfg.put("base_model_name_or_path", baseDir.toAbsolutePath().normalize().toString());
        cfg.put("r", rank);
        cfg.put("lora_alpha", alpha);
        cfg.put("lora_dropout", 0.0);
        cfg.put("bias", "none");
        cfg.put("fan_in_fan_out", false);
        cfg.put("use_rslora", false);
        cfg.put("inference_mode", true);
        var tm = cfg.putArray("target_modules");
        targets.forEach(t -> tm.add(t.peftName()));
        Files.writeString(
                outDir.resolve("adapter_config.json"),
                json.writerWithDefaultPrettyPrinter().writeValueAsString(cfg));
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (int l = 0; l < c.numLayers(); l++) {
            for (Projection p : targets) {
                String prefix = "base_model.model." + p.modulePath(l);
                w.add(
                        prefix + ".lora_A.weight",
                        dtype,
                        new long[] {rank, p.inDim(c)},
                        new RandomWeights(seed, prefix + ".lora_A", 0, 1.0 / Math.sqrt(p.inDim(c))));
                // sized so scale * B A x moves outputs by about a fifth of the base projection
                w.add(
                        prefix + ".lora_B.weight",
                        dtype,
                        new long[] {p.outDim(c), rank},
                        new RandomWeights(seed, prefix + ".lora_B", 0, 0.2 / Math.sqrt(rank) * rank / alpha));
            }
        }
        w.write(outDir.resolve("adapter_model.safetensors"), Map.of("format", "pt"));
        return w.bytes();
    }
}
