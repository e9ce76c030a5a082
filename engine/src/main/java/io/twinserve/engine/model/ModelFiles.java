package io.twinserve.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A model directory in Hugging Face layout: {@code config.json}, one {@code model.safetensors} or shards
 * listed by {@code model.safetensors.index.json}, {@code generation_config.json} and the tokenizer files.
 * Weights stay memory-mapped until {@link #close()}; every tensor the architecture needs is checked
 * against {@code config.json} when the model opens.
 */
public final class ModelFiles implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One decoder layer's weights ({@code null} where the architecture has none). */
    public record LayerWeights(
            Tensor inputNorm,
            Tensor postAttentionNorm,
            Tensor q,
            Tensor k,
            Tensor v,
            Tensor o,
            Tensor qBias,
            Tensor kBias,
            Tensor vBias,
            Tensor qNorm,
            Tensor kNorm,
            Tensor gate,
            Tensor up,
            Tensor down) {}

    private final Path dir;
    private final ModelConfig config;
    private final Arena arena;
    private final Map<String, Located> tensors;
    private final Tensor embed;
    private final Tensor finalNorm;
    private final Tensor lmHead;
    private final List<LayerWeights> layers;
    private final List<Integer> stopTokenIds;

    private record Located(SafeTensorsFile file, SafeTensorsFile.Entry entry) {}

    private ModelFiles(Path dir, ModelConfig config, Arena arena, Map<String, Located> tensors, List<Integer> stops) {
        this.dir = dir;
        this.config = config;
        this.arena = arena;
        this.tensors = tensors;
        this.stopTokenIds = List.copyOf(stops);
        int h = config.hiddenSize();
        this.embed = tensor("model.embed_tokens.weight", config.vocabSize(), h);
        this.finalNorm = tensor("model.norm.weight", 1, h);
        this.lmHead = config.tieWordEmbeddings() && !tensors.containsKey("lm_head.weight")
                ? embed
                : tensor("lm_head.weight", config.vocabSize(), h);
        List<LayerWeights> ls = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            boolean bias = config.attentionBias();
            boolean qkNorm = config.architecture().qkNorm();
            ls.add(new LayerWeights(
                    tensor(p + "input_layernorm.weight", 1, h),
                    tensor(p + "post_attention_layernorm.weight", 1, h),
                    tensor(p + "self_attn.q_proj.weight", config.qDim(), h),
                    tensor(p + "self_attn.k_proj.weight", config.kvDim(), h),
                    tensor(p + "self_attn.v_proj.weight", config.kvDim(), h),
                    tensor(p + "self_attn.o_proj.weight", h, config.qDim()),
                    bias ? tensor(p + "self_attn.q_proj.bias", 1, config.qDim()) : null,
                    bias ? tensor(p + "self_attn.k_proj.bias", 1, config.kvDim()) : null,
                    bias ? tensor(p + "self_attn.v_proj.bias", 1, config.kvDim()) : null,
                    qkNorm ? tensor(p + "self_attn.q_norm.weight", 1, config.headDim()) : null,
                    qkNorm ? tensor(p + "self_attn.k_norm.weight", 1, config.headDim()) : null,
                    tensor(p + "mlp.gate_proj.weight", config.intermediateSize(), h),
                    tensor(p + "mlp.up_proj.weight", config.intermediateSize(), h),
                    tensor(p + "mlp.down_proj.weight", h, config.intermediateSize())));
        }
        this.layers = List.copyOf(ls);
    }

    /** Opens and validates a model directory. */
    public static ModelFiles open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new ModelFileException(dir, "not a model directory (expected config.json and *.safetensors in it)");
        }
        Path configFile = dir.resolve("config.json");
        if (!Files.isRegularFile(configFile)) {
            throw new ModelFileException(configFile, "missing: a model directory needs config.json");
        }
        ModelConfig config = ModelConfig.read(configFile);
        List<Path> files = weightFiles(dir);
        Arena arena = Arena.ofShared();
        try {
            Map<String, Located> tensors = new HashMap<>();
            for (Path f : files) {
                SafeTensorsFile st = SafeTensorsFile.open(f, arena);
                for (SafeTensorsFile.Entry e : st.entries().values()) {
                    tensors.put(e.name(), new Located(st, e));
                }
            }
            return new ModelFiles(dir, config, arena, tensors, stopTokens(dir, config));
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static List<Path> weightFiles(Path dir) {
        Path index = dir.resolve("model.safetensors.index.json");
        if (Files.isRegularFile(index)) {
            JsonNode map;
            try {
                map = JSON.readTree(Files.readString(index)).path("weight_map");
            } catch (IOException e) {
                throw new ModelFileException(index, "cannot read the shard index: " + e.getMessage(), e);
            }
            if (!map.isObject() || map.isEmpty()) {
                throw new ModelFileException(
                        index, "weight_map is missing or empty; expected {tensor name: shard file}");
            }
            TreeSet<String> names = new TreeSet<>();
            map.properties().forEach(e -> names.add(e.getValue().asText()));
            List<Path> out = new ArrayList<>();
            for (String n : names) {
                Path shard = dir.resolve(n);
                if (!Files.isRegularFile(shard)) {
                    throw new ModelFileException(
                            index, "weight_map names shard " + n + ", which is missing from " + dir);
                }
                out.add(shard);
            }
            return out;
        }
        Path single = dir.resolve("model.safetensors");
        if (!Files.isRegularFile(single)) {
            throw new ModelFileException(dir, "no weights: expected model.safetensors or model.safetensors.index.json");
        }
        return List.of(single);
    }

    private static List<Integer> stopTokens(Path dir, ModelConfig config) {
        List<Integer> stops = new ArrayList<>(config.eosTokenIds());
        Path gen = dir.resolve("generation_config.json");
        if (Files.isRegularFile(gen)) {
            try {
                JsonNode eos = JSON.readTree(Files.readString(gen)).path("eos_token_id");
                if (eos.isNumber()) {
                    stops.add(eos.asInt());
                }
                eos.forEach(n -> stops.add(n.asInt()));
            } catch (IOException e) {
                throw new ModelFileException(gen, "cannot read generation_config.json: " + e.getMessage(), e);
            }
        }
        return stops.stream().distinct().toList();
    }

    /** A tensor checked against the shape {@code config.json} implies. */
    private Tensor tensor(String name, int rows, int cols) {
        Located l = tensors.get(name);
        if (l == null) {
            throw new ModelFileException(
                    dir,
                    "tensor " + name + " is missing from " + describeFiles() + "; config.json ("
                            + config.architecture().className() + ") needs it");
        }
        long[] shape = l.entry.shape();
        boolean matches = rows == 1
                ? shape.length == 1 && shape[0] == cols
                : shape.length == 2 && shape[0] == rows && shape[1] == cols;
        if (!matches) {
            throw new ModelFileException(
                    l.file.path(),
                    "tensor " + name + " has shape " + Arrays.toString(shape) + " but config.json implies "
                            + (rows == 1 ? "[" + cols + "]" : "[" + rows + ", " + cols + "]"));
        }
        return Tensor.dense(name, l.entry.dtype(), rows, cols, l.file.bytes(l.entry));
    }

    private String describeFiles() {
        TreeSet<String> names = new TreeSet<>();
        tensors.values().forEach(l -> names.add(l.file.path().getFileName().toString()));
        return names.isEmpty() ? dir.toString() : String.join(", ", names);
    }

    public Path dir() {
        return dir;
    }

    public ModelConfig config() {
        return config;
    }

    public Tensor embed() {
        return embed;
    }

    public Tensor finalNorm() {
        return finalNorm;
    }

    public Tensor lmHead() {
        return lmHead;
    }

    public List<LayerWeights> layers() {
        return layers;
    }

    /** Token ids that end generation: {@code config.json}'s and {@code generation_config.json}'s eos ids. */
    public List<Integer> stopTokenIds() {
        return stopTokenIds;
    }

    /** Tensor names with their files, for diagnostics. */
    public Map<String, String> tensorFiles() {
        Map<String, String> out = new LinkedHashMap<>();
        tensors.forEach((k, v) -> out.put(k, v.file.path().getFileName().toString()));
        return out;
    }

    /** Bytes of weights mapped. */
    public long weightBytes() {
        long b = 0;
        for (Located l : tensors.values()) {
            b += l.entry.end() - l.entry.begin();
        }
        return b;
    }

    @Override
    public void close() {
        arena.close();
    }
}
