package io.twinserve.twin.profile;

/**
 * Hugging Face config.json texts for tests. The values are the architecture facts of the published
 * config.json of meta-llama/Llama-3.1-8B (https://huggingface.co/meta-llama/Llama-3.1-8B, Llama 3.1
 * Community License), retyped.
 */
public final class HuggingFaceConfigs {
    private HuggingFaceConfigs() {}

    public static final String LLAMA_3_1_8B = """
      {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": false,
        "attention_dropout": 0.0,
        "bos_token_id": 128000,
        "eos_token_id": 128001,
        "hidden_act": "silu",
        "hidden_size": 4096,
        "initializer_range": 0.02,
        "intermediate_size": 14336,
        "max_position_embeddings": 131072,
        "mlp_bias": false,
        "model_type": "llama",
        "num_attention_heads": 32,
        "num_hidden_layers": 32,
        "num_key_value_heads": 8,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": {
          "factor": 8.0,
          "low_freq_factor": 1.0,
          "high_freq_factor": 4.0,
          "original_max_position_embeddings": 8192,
          "rope_type": "llama3"
        },
        "rope_theta": 500000.0,
        "tie_word_embeddings": false,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.43.0.dev0",
        "use_cache": true,
        "vocab_size": 128256
      }
      """;
}
