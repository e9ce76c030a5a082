package io.twinserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** config.json and adapter_config.json fields of the wrong type are refused naming the field, never defaulted. */
class ConfigJsonFieldTypesTest {
    private static final Path FILE = Path.of("model", "config.json");
    private static final String BASE = """
            {"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 256%s}
            """;

    private static ModelConfig parse(String extra) {
        return ModelConfig.parse(BASE.formatted(extra).getBytes(StandardCharsets.UTF_8), FILE);
    }

    @Test
    void ropeThetaThatIsNotANumberIsRefusedNamingTheField() {
        assertThatThrownBy(() -> parse(", \"rope_theta\": \"abc\""))
                .isInstanceOf(ModelFileException.class)
                .hasMessage(FILE + ": field rope_theta is \"abc\"; expected a positive number");
    }

    @Test
    void wrongTypesOfOtherFieldsAreRefusedNamingEach() {
        assertThatThrownBy(() -> parse(", \"rms_norm_eps\": -1"))
                .hasMessageContaining("field rms_norm_eps is -1; expected a positive number");
        assertThatThrownBy(() -> parse(", \"tie_word_embeddings\": \"yes\""))
                .hasMessageContaining("field tie_word_embeddings is \"yes\"; expected true or false");
        assertThatThrownBy(() -> parse(", \"max_position_embeddings\": 4096.5"))
                .hasMessageContaining("field max_position_embeddings is 4096.5; expected a positive integer");
        assertThatThrownBy(() -> parse(", \"eos_token_id\": [2, \"x\"]"))
                .hasMessageContaining("field eos_token_id[1] is \"x\"; expected a token id");
        assertThatThrownBy(() -> parse(", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": \"8\"}"))
                .hasMessageContaining("field rope_scaling.factor is \"8\"; expected a positive number");
        assertThatThrownBy(() -> parse(", \"hidden_size\": 2, \"head_dim\": null"))
                .hasMessageContaining("head_dim 0 (hidden_size / num_attention_heads) must be positive and even");
    }

    @Test
    void nullAndAbsentFieldsTakeHuggingFaceDefaults() {
        ModelConfig c = parse(", \"rope_theta\": null, \"rope_scaling\": null, \"bos_token_id\": null");
        assertThat(c.ropeTheta()).isEqualTo(10000.0);
        assertThat(c.ropeScaling()).isNull();
        assertThat(c.bosTokenId()).isEqualTo(-1);
        assertThat(parse(", \"rope_theta\": 500000.0").ropeTheta()).isEqualTo(500000.0);
    }

    @Test
    void adapterAlphaOfTheWrongTypeIsRefusedNamingTheField() {
        Path file = Path.of("adapter", "adapter_config.json");
        assertThatThrownBy(() -> AdapterConfig.parse(
                        "{\"r\": 8, \"lora_alpha\": \"abc\", \"target_modules\": [\"q_proj\"]}"
                                .getBytes(StandardCharsets.UTF_8),
                        file))
                .isInstanceOf(ModelFileException.class)
                .hasMessage(file + ": field lora_alpha is \"abc\"; expected a positive number");
        assertThatThrownBy(() -> AdapterConfig.parse("{\"r\": \"8\"}".getBytes(StandardCharsets.UTF_8), file))
                .hasMessage(file + ": r is \"8\"; expected an integer from 1 to 256");
    }
}
