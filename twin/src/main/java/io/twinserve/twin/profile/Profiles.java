package io.twinserve.twin.profile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.twinserve.traces.spec.KeySuggestions;
import io.twinserve.traces.spec.WorkloadSpecs;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The GPU and model profiles a run can name: the built-in ones, plus any YAML files of the same shape in
 * user folders ({@code gpus*.yaml}, {@code models*.yaml}), plus Hugging Face config.json files by path.
 */
public final class Profiles {
    private static final ObjectMapper YAML =
            new YAMLMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, GpuProfile> gpus = new TreeMap<>();
    private final Map<String, ModelProfile> models = new TreeMap<>();

    private Profiles() {}

    public static Profiles builtIn() {
        Profiles p = new Profiles();
        try (InputStream g = Profiles.class.getResourceAsStream("gpus.yaml");
                InputStream m = Profiles.class.getResourceAsStream("models.yaml")) {
            p.addGpus(YAML.readTree(g), "built-in gpus.yaml");
            p.addModels(YAML.readTree(m), "built-in models.yaml");
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the built-in profiles", e);
        }
        return p;
    }

    /** Adds the profiles of every {@code gpus*.yaml} and {@code models*.yaml} in a folder. */
    public Profiles withDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new ProfileException(dir + ": not a folder of profiles");
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.sorted().toList()) {
                String n = f.getFileName().toString();
                if (n.startsWith("gpus") && n.endsWith(".yaml")) {
                    addGpus(YAML.readTree(WorkloadSpecs.readText(f)), f.toString());
                } else if (n.startsWith("models") && n.endsWith(".yaml")) {
                    addModels(YAML.readTree(WorkloadSpecs.readText(f)), f.toString());
                }
            }
        }
        return this;
    }

    public GpuProfile gpu(String name) {
        GpuProfile g = gpus.get(name);
        if (g == null) {
            throw new ProfileException("unknown GPU '" + name + "'" + KeySuggestions.didYouMean(name, gpus.keySet())
                    + "; known: " + String.join(", ", gpus.keySet()));
        }
        return g;
    }

    /** A model by profile name, or by the path of a Hugging Face config.json (or its folder). */
    public ModelProfile model(String nameOrPath) {
        ModelProfile m = models.get(nameOrPath);
        if (m != null) {
            return m;
        }
        Path p = Path.of(nameOrPath);
        if (Files.isDirectory(p)) {
            p = p.resolve("config.json");
        }
        if (Files.isRegularFile(p)) {
            return fromHuggingFaceConfig(p);
        }
        throw new ProfileException("unknown model '" + nameOrPath + "'"
                + KeySuggestions.didYouMean(nameOrPath, models.keySet()) + "; known: "
                + String.join(", ", models.keySet()) + ", or the path of a Hugging Face config.json");
    }

    public Map<String, GpuProfile> gpus() {
        return Collections.unmodifiableMap(gpus);
    }

    public Map<String, ModelProfile> models() {
        return Collections.unmodifiableMap(models);
    }

    /** Reads a Hugging Face config.json of a Llama-family model (Llama, Qwen2/3, Mistral). */
    public static ModelProfile fromHuggingFaceConfig(Path file) {
        JsonNode c;
        try {
            c = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ProfileException(
                    file + ": not a readable JSON file (" + e.getMessage().split("\n")[0] + ")");
        }
        int hidden = requiredInt(c, "hidden_size", file);
        int heads = requiredInt(c, "num_attention_heads", file);
        int kvHeads =
                c.has("num_key_value_heads") ? c.get("num_key_value_heads").asInt() : heads;
        int headDim = c.hasNonNull("head_dim") ? c.get("head_dim").asInt() : hidden / heads;
        String dtype = c.path("torch_dtype").asText("bfloat16");
        String name = c.path("_name_or_path").asText("");
        if (name.isEmpty()) {
            Path parent = file.toAbsolutePath().getParent();
            name = parent == null ? file.toString() : parent.getFileName().toString();
        }
        return new ModelProfile(
                name,
                requiredInt(c, "num_hidden_layers", file),
                hidden,
                heads,
                kvHeads,
                headDim,
                requiredInt(c, "intermediate_size", file),
                requiredInt(c, "vocab_size", file),
                c.path("max_position_embeddings").asInt(4096),
                c.path("tie_word_embeddings").asBoolean(false),
                switch (dtype) {
                    case "float32" -> "fp32";
                    case "float16" -> "fp16";
                    default -> "bf16";
                });
    }

    private static int requiredInt(JsonNode c, String key, Path file) {
        JsonNode v = c.get(key);
        if (v == null || !v.canConvertToInt()) {
            throw new ProfileException(file + ": config.json has no integer '" + key + "'");
        }
        return v.asInt();
    }

    private static final List<String> GPU_KEYS = List.of(
            "memory_gib",
            "hbm_bandwidth",
            "bf16_flops",
            "fp8_flops",
            "interconnect_bandwidth",
            "pcie_bandwidth",
            "source");
    private static final List<String> MODEL_KEYS = List.of(
            "layers",
            "hidden_size",
            "heads",
            "kv_heads",
            "head_dim",
            "intermediate_size",
            "vocab_size",
            "max_model_len",
            "tied_embeddings",
            "dtype",
            "source");

    /**
     * Refuses an entry that is not a mapping, or a key the profile does not read (a misspelt optional key would
     * otherwise be dropped in silence and its default used), naming the file, the entry and the key.
     */
    private static void checkKeys(JsonNode n, String kind, String name, List<String> known, String source) {
        if (!n.isObject()) {
            throw new ProfileException(
                    source + ": " + kind + " '" + name + "' must be a mapping of " + String.join(", ", known));
        }
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!known.contains(key)) {
                throw new ProfileException(source + ": " + kind + " '" + name + "': '" + key + "' is not a known key"
                        + KeySuggestions.didYouMean(key, known) + "; expected one of " + String.join(", ", known));
            }
        }
    }

    /** A profile's check message with the entry it is about (the profiles' own checks name it already). */
    private static String named(String kind, String name, String message) {
        return message.contains(name) ? message : kind + " '" + name + "': " + message;
    }

    private void addGpus(JsonNode root, String source) {
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            var e = it.next();
            JsonNode n = e.getValue();
            checkKeys(n, "GPU", e.getKey(), GPU_KEYS, source);
            try {
                gpus.put(
                        e.getKey(),
                        new GpuProfile(
                                e.getKey(),
                                num(n, "memory_gib"),
                                num(n, "hbm_bandwidth"),
                                num(n, "bf16_flops"),
                                n.path("fp8_flops").asDouble(0),
                                num(n, "interconnect_bandwidth"),
                                num(n, "pcie_bandwidth"),
                                n.path("source").asText("")));
            } catch (IllegalArgumentException ex) {
                throw new ProfileException(source + ": " + named("GPU", e.getKey(), ex.getMessage()));
            }
        }
    }

    private void addModels(JsonNode root, String source) {
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            var e = it.next();
            JsonNode n = e.getValue();
            checkKeys(n, "model", e.getKey(), MODEL_KEYS, source);
            try {
                models.put(
                        e.getKey(),
                        new ModelProfile(
                                e.getKey(),
                                (int) num(n, "layers"),
                                (int) num(n, "hidden_size"),
                                (int) num(n, "heads"),
                                (int) num(n, "kv_heads"),
                                (int) num(n, "head_dim"),
                                (int) num(n, "intermediate_size"),
                                (int) num(n, "vocab_size"),
                                (int) num(n, "max_model_len"),
                                n.path("tied_embeddings").asBoolean(false),
                                n.path("dtype").asText("bf16")));
            } catch (IllegalArgumentException ex) {
                throw new ProfileException(source + ": " + named("model", e.getKey(), ex.getMessage()));
            }
        }
    }

    private static double num(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || !v.isNumber() && !v.isTextual()) {
            throw new IllegalArgumentException("'" + key + "' is required");
        }
        try {
            return v.isNumber() ? v.asDouble() : Double.parseDouble(v.asText());
        } catch (NumberFormatException ex) {
            throw new IllegalArgumentException("'" + key + "' must be a number, got '" + v.asText() + "'");
        }
    }
}
