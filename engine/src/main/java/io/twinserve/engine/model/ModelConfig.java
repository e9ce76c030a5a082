package io.twinserve.engine.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A decoder's hyperparameters as {@code config.json} gives them, with Hugging Face's defaults.
 *
 * @param ropeScaling null for plain RoPE
 * @param slidingWindow attention window in tokens, or 0 for full attention
 * @param attentionBias whether q, k, v (and o for Llama's flag) carry a bias
 */
public record ModelConfig(
        Architecture architecture,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int vocabSize,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        boolean tieWordEmbeddings,
        boolean attentionBias,
        int maxPositionEmbeddings,
        int slidingWindow,
        DType dtype,
        int bosTokenId,
        List<Integer> eosTokenIds) {

    /** Llama 3's frequency-dependent RoPE scaling ({@code rope_type: llama3}) or linear scaling. */
    public record RopeScaling(
            String type,
            double factor,
            double lowFreqFactor,
            double highFreqFactor,
            int originalMaxPositionEmbeddings) {}

    public ModelConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    public int qDim() {
        return numHeads * headDim;
    }

    public int kvDim() {
        return numKvHeads * headDim;
    }

    /** Parameters of the base model (embeddings counted once when tied). */
    public long parameters() {
        long attn = (long) hiddenSize * qDim() * 2 + (long) hiddenSize * kvDim() * 2;
        long mlp = 3L * hiddenSize * intermediateSize;
        long perLayer = attn + mlp + 2L * hiddenSize;
        long embed = (long) vocabSize * hiddenSize;
        return perLayer * numLayers + embed * (tieWordEmbeddings ? 1 : 2) + hiddenSize;
    }

    /** Reads {@code config.json}; errors name the file and the field. */
    public static ModelConfig read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new ModelFileException(file, "cannot read config.json: " + e.getMessage(), e);
        }
        return parse(bytes, file);
    }

    /**
     * Parses {@code config.json} bytes, checking the type and range of every field it uses; {@code file} is
     * used only in messages.
     */
    public static ModelConfig parse(byte[] bytes, Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new ModelFileException(file, "config.json is not valid JSON: " + ConfigFields.describe(e), e);
        } catch (IOException e) {
            throw new ModelFileException(file, "cannot read config.json: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelFileException(file, "config.json is not a JSON object");
        }
        ConfigFields f = new ConfigFields(file, root);
        String modelType = f.text("model_type", "");
        JsonNode archs = root.path("architectures");
        String archName = archs.isArray() && !archs.isEmpty() ? f.text(archs.get(0), "architectures[0]") : modelType;
        Architecture arch = Architecture.of(archName);
        if (arch == null) {
            arch = Architecture.of(modelType);
        }
        if (arch == null) {
            throw new ModelFileException(
                    file,
                    "architectures[0] '" + archName + "' (model_type '" + modelType
                            + "') is not supported; expected one of " + Architecture.accepted());
        }
        String act = f.text("hidden_act", "silu");
        if (!act.equals("silu")) {
            throw new ModelFileException(file, "hidden_act '" + act + "' is not supported; expected silu");
        }
        int hidden = f.positiveInt("hidden_size");
        int heads = f.positiveInt("num_attention_heads");
        int kvHeads = root.hasNonNull("num_key_value_heads") ? f.positiveInt("num_key_value_heads") : heads;
        if (heads % kvHeads != 0) {
            throw new ModelFileException(
                    file, "num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        int headDim = root.hasNonNull("head_dim") ? f.positiveInt("head_dim") : hidden / heads;
        if (headDim <= 0 || headDim % 2 != 0) {
            throw new ModelFileException(
                    file,
                    "head_dim " + headDim + (root.hasNonNull("head_dim") ? "" : " (hidden_size / num_attention_heads)")
                            + " must be positive and even for RoPE");
        }
        RopeScaling scaling = null;
        JsonNode rs = root.path("rope_scaling");
        if (!rs.isMissingNode() && !rs.isNull() && !rs.isObject()) {
            throw new ModelFileException(file, "field rope_scaling is " + rs + "; expected an object or null");
        }
        if (rs.isObject()) {
            ConfigFields r = f.nested(rs, "rope_scaling.");
            String type = r.text("rope_type", r.text("type", "default"));
            switch (type) {
                case "default" -> {}
                case "llama3" ->
                    scaling = new RopeScaling(
                            "llama3",
                            r.positiveNumber("factor", 8),
                            r.positiveNumber("low_freq_factor", 1),
                            r.positiveNumber("high_freq_factor", 4),
                            r.positiveInt("original_max_position_embeddings", 8192));
                case "linear" -> scaling = new RopeScaling("linear", r.positiveNumber("factor", 1), 0, 0, 0);
                default ->
                    throw new ModelFileException(
                            file,
                            "rope_scaling.rope_type '" + type
                                    + "' is not supported; expected default, llama3 or linear");
            }
        }
        int window = 0;
        boolean useWindow = arch == Architecture.MISTRAL || f.bool("use_sliding_window", false);
        if (useWindow && root.hasNonNull("sliding_window")) {
            window = f.positiveInt("sliding_window");
        }
        List<Integer> eos = new ArrayList<>();
        JsonNode eosNode = root.path("eos_token_id");
        if (eosNode.isArray()) {
            for (int i = 0; i < eosNode.size(); i++) {
                eos.add(f.tokenId(eosNode.get(i), "eos_token_id[" + i + "]"));
            }
        } else if (!eosNode.isMissingNode() && !eosNode.isNull()) {
            eos.add(f.tokenId(eosNode, "eos_token_id"));
        }
        String dtypeName = f.text("torch_dtype", f.text("dtype", "bfloat16"));
        DType dtype;
        try {
            dtype = DType.ofTorch(dtypeName);
        } catch (IllegalArgumentException e) {
            throw new ModelFileException(file, "torch_dtype: " + e.getMessage());
        }
        return new ModelConfig(
                arch,
                hidden,
                f.positiveInt("intermediate_size"),
                f.positiveInt("num_hidden_layers"),
                heads,
                kvHeads,
                headDim,
                f.positiveInt("vocab_size"),
                f.positiveNumber("rms_norm_eps", 1e-6),
                f.positiveNumber("rope_theta", 10000.0),
                scaling,
                f.bool("tie_word_embeddings", false),
                arch.qkvBias() || f.bool("attention_bias", false),
                f.positiveInt("max_position_embeddings", 4096),
                window,
                dtype,
                root.hasNonNull("bos_token_id") ? f.tokenId(root.get("bos_token_id"), "bos_token_id") : -1,
                eos);
    }

    /** This configuration as {@code config.json} text, in the shape transformers writes. */
    public String toJson() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode n = json.createObjectNode();
        n.putArray("architectures").add(architecture.className());
        n.put("model_type", architecture.modelType());
        n.put("hidden_size", hiddenSize);
        n.put("intermediate_size", intermediateSize);
        n.put("num_hidden_layers", numLayers);
        n.put("num_attention_heads", numHeads);
        n.put("num_key_value_heads", numKvHeads);
        n.put("head_dim", headDim);
        n.put("vocab_size", vocabSize);
        n.put("rms_norm_eps", rmsNormEps);
        n.put("rope_theta", ropeTheta);
        if (ropeScaling != null) {
            ObjectNode r = n.putObject("rope_scaling");
            r.put("rope_type", ropeScaling.type());
            r.put("factor", ropeScaling.factor());
            if (ropeScaling.type().equals("llama3")) {
                r.put("low_freq_factor", ropeScaling.lowFreqFactor());
                r.put("high_freq_factor", ropeScaling.highFreqFactor());
                r.put("original_max_position_embeddings", ropeScaling.originalMaxPositionEmbeddings());
            }
        } else {
            n.putNull("rope_scaling");
        }
        n.put("tie_word_embeddings", tieWordEmbeddings);
        if (architecture == Architecture.LLAMA || architecture == Architecture.QWEN3) {
            n.put("attention_bias", attentionBias);
        }
        n.put("max_position_embeddings", maxPositionEmbeddings);
        if (architecture == Architecture.MISTRAL) {
            if (slidingWindow > 0) {
                n.put("sliding_window", slidingWindow);
            } else {
                n.putNull("sliding_window");
            }
        } else if (architecture == Architecture.QWEN2 || architecture == Architecture.QWEN3) {
            n.put("use_sliding_window", slidingWindow > 0);
            n.put("sliding_window", slidingWindow > 0 ? slidingWindow : maxPositionEmbeddings);
        }
        n.put("hidden_act", "silu");
        n.put(
                "torch_dtype",
                switch (dtype) {
                    case BF16 -> "bfloat16";
                    case F16 -> "float16";
                    case F32 -> "float32";
                });
        if (bosTokenId >= 0) {
            n.put("bos_token_id", bosTokenId);
        }
        if (eosTokenIds.size() == 1) {
            n.put("eos_token_id", eosTokenIds.get(0));
        } else {
            ArrayNode a = n.putArray("eos_token_id");
            eosTokenIds.forEach(a::add);
        }
        n.put("use_cache", true);
        try {
            return json.writerWithDefaultPrettyPrinter().writeValueAsString(n);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
