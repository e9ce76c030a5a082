package io.twinserve.engine.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;

/**
 * The fields of a PEFT {@code adapter_config.json} the engine uses, type-checked: a wrong type is an
 * error naming the field ({@code "lora_alpha": "abc"} is not read as the default).
 *
 * @param rank {@code r}, 1 to {@link LoraAdapter#MAX_RANK}
 * @param alpha {@code lora_alpha}, default {@code r}
 * @param rsLora {@code use_rslora}: scale by {@code alpha / sqrt(r)} instead of {@code alpha / r}
 */
public record AdapterConfig(int rank, double alpha, boolean rsLora, Set<Projection> targets) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public AdapterConfig {
        targets = Set.copyOf(targets);
    }

    /** Reads {@code adapter_config.json}. */
    public static AdapterConfig read(Path configFile) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(configFile);
        } catch (IOException e) {
            throw new ModelFileException(configFile, "cannot read: " + e.getMessage(), e);
        }
        return parse(bytes, configFile);
    }

    /** Parses {@code adapter_config.json} bytes; {@code configFile} is used only in messages. */
    public static AdapterConfig parse(byte[] bytes, Path configFile) {
        JsonNode cfg;
        try {
            cfg = JSON.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new ModelFileException(configFile, "is not valid JSON: " + ConfigFields.describe(e), e);
        } catch (IOException e) {
            throw new ModelFileException(configFile, "cannot read: " + e.getMessage(), e);
        }
        if (cfg == null || !cfg.isObject()) {
            throw new ModelFileException(configFile, "is not a JSON object; expected PEFT's adapter_config.json");
        }
        ConfigFields f = new ConfigFields(configFile, cfg);
        String peftType = f.text("peft_type", "LORA");
        if (!peftType.equals("LORA")) {
            throw new ModelFileException(configFile, "peft_type '" + peftType + "' is not supported; expected LORA");
        }
        JsonNode r = cfg.path("r");
        if (!r.isIntegralNumber() || !r.canConvertToInt() || r.intValue() < 1 || r.intValue() > LoraAdapter.MAX_RANK) {
            throw new ModelFileException(
                    configFile, "r is " + r + "; expected an integer from 1 to " + LoraAdapter.MAX_RANK);
        }
        int rank = r.intValue();
        double alpha = f.positiveNumber("lora_alpha", rank);
        boolean rs = f.bool("use_rslora", false);
        if (f.bool("fan_in_fan_out", false)) {
            throw new ModelFileException(
                    configFile, "fan_in_fan_out true is not supported (GPT-2 style Conv1D weights)");
        }
        if (f.bool("use_dora", false)) {
            throw new ModelFileException(configFile, "use_dora true is not supported; expected plain LoRA");
        }
        Set<Projection> targets = EnumSet.noneOf(Projection.class);
        JsonNode tm = cfg.path("target_modules");
        if (tm.isTextual() && tm.textValue().equals("all-linear")) {
            targets.addAll(EnumSet.allOf(Projection.class));
        } else if (tm.isTextual()) {
            targets.add(projection(configFile, tm.textValue()));
        } else if (tm.isArray()) {
            for (int i = 0; i < tm.size(); i++) {
                String name = f.text(tm.get(i), "target_modules[" + i + "]");
                if (name.equals("all-linear") && tm.size() == 1) {
                    targets.addAll(EnumSet.allOf(Projection.class));
                } else {
                    targets.add(projection(configFile, name));
                }
            }
        } else if (!tm.isMissingNode() && !tm.isNull()) {
            throw new ModelFileException(
                    configFile, "field target_modules is " + tm.getNodeType() + "; expected a list of projections");
        }
        if (targets.isEmpty()) {
            throw new ModelFileException(
                    configFile, "target_modules is empty or missing; expected a list of projections");
        }
        return new AdapterConfig(rank, alpha, rs, targets);
    }

    private static Projection projection(Path configFile, String name) {
        Projection p = Projection.ofPeft(name);
        if (p == null) {
            throw new ModelFileException(
                    configFile,
                    "target_modules entry '" + name
                            + "' is not supported; expected among q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj");
        }
        return p;
    }
}
