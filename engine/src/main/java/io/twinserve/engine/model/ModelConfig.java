package io.twinserve.engine.model;

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
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readString(file));
        } catch (IOException e) {
            throw new ModelFileException(file, "cannot read config.json: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelFileException(file, "config.json is not a JSON object");
        }
        String archName = root.path("architectures")
                .path(0)
                .asText(root.path("model_type").asText(""));
        Architecture arch = Architecture.of(archName);
        if (arch == null) {
            arch = Architecture.of(root.path("model_type").asText(""));
        }
        if (arch == null) {
            throw new ModelFileException(
                    file,
                    "architectures[0] '" + archName + "' (model_type '"
                            + root.path("model_type").asText("") + "') is not supported; expected one of "
                            + Architecture.accepted());
        }
        String act = root.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new ModelFileException(file, "hidden_act '" + act + "' is not supported; expected silu");
        }
        int hidden = positive(file, root, "hidden_size");
        int heads = positive(file, root, "num_attention_heads");
        int kvHeads = root.has("num_key_value_heads")
                        && !root.get("num_key_value_heads").isNull()
                ? positive(file, root, "num_key_value_heads")
                : heads;
        if (heads % kvHeads != 0) {
            throw new ModelFileException(
                    file, "num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        int headDim = root.hasNonNull("head_dim") ? positive(file, root, "head_dim") : hidden / heads;
        if (headDim % 2 != 0) {
            throw new ModelFileException(file, "head_dim " + headDim + " must be even for RoPE");
        }
        RopeScaling scaling = null;
        JsonNode rs = root.path("rope_scaling");
        if (rs.isObject()) {
            String type = rs.path("rope_type").asText(rs.path("type").asText("default"));
            switch (type) {
                case "default" -> {}
                case "llama3" ->
                    scaling = new RopeScaling(
                            "llama3",
                            rs.path("factor").asDouble(8),
                            rs.path("low_freq_factor").asDouble(1),
                            rs.path("high_freq_factor").asDouble(4),
                            rs.path("original_max_position_embeddings").asInt(8192));
                case "linear" ->
                    scaling = new RopeScaling("linear", rs.path("factor").asDouble(1), 0, 0, 0);
                default ->
                    throw new ModelFileException(
                            file,
                            "rope_scaling.rope_type '" + type
                                    + "' is not supported; expected default, llama3 or linear");
            }
        }
        int window = 0;
        JsonNode sw = root.path("sliding_window");
        boolean useWindow =
                arch == Architecture.MISTRAL || root.path("use_sliding_window").asBoolean(false);
        if (useWindow && sw.isNumber() && sw.asInt() > 0) {
            window = sw.asInt();
        }
        List<Integer> eos = new ArrayList<>();
        JsonNode eosNode = root.path("eos_token_id");
        if (eosNode.isArray()) {
            eosNode.forEach(n -> eos.add(n.asInt()));
        } else if (eosNode.isNumber()) {
            eos.add(eosNode.asInt());
        }
        String dtypeName = root.path("torch_dtype").asText(root.path("dtype").asText("bfloat16"));
        DType dtype;
        try {
            dtype = DType.ofTorch(dtypeName);
        } catch (IllegalArgumentException e) {
            throw new ModelFileException(file, "torch_dtype: " + e.getMessage());
        }
        return new ModelConfig(
                arch,
                hidden,
                positive(file, root, "intermediate_size"),
                positive(file, root, "num_hidden_layers"),
                heads,
                kvHeads,
                headDim,
                positive(file, root, "vocab_size"),
                root.path("rms_norm_eps").asDouble(1e-6),
                root.path("rope_theta").asDouble(10000.0),
                scaling,
                root.path("tie_word_embeddings").asBoolean(false),
                arch.qkvBias() || root.path("attention_bias").asBoolean(false),
                root.path("max_position_embeddings").asInt(4096),
                window,
                dtype,
                root.path("bos_token_id").asInt(-1),
                eos);
    }

    private static int positive(Path file, JsonNode root, String field) {
        JsonNode n = root.get(field);
        if (n == null || !n.canConvertToInt() || n.asInt() <= 0) {
            throw new ModelFileException(
                    file,
                    "field " + field + " is " + (n == null ? "missing" : n.toString())
                            + "; expected a positive integer");
        }
        return n.asInt();
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
