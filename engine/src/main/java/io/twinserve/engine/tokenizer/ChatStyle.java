package io.twinserve.engine.tokenizer;

import java.util.List;

/** The family whose special tokens, pre-tokenizer regex and chat template a written test tokenizer imitates. */
public enum ChatStyle {
    /** Llama 3: {@code <|begin_of_text|>} as BOS, {@code <|eot_id|>} ends a turn, header tokens around roles. */
    LLAMA3(
            // Source: meta-llama/Meta-Llama-3-8B tokenizer.json, pre_tokenizer.pretokenizers[0].pattern.Regex.
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            List.of("<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"),
            "<|begin_of_text|>",
            "<|eot_id|>",
            List.of("<|eot_id|>", "<|end_of_text|>"),
            "{{- bos_token }}{%- for message in messages %}"
                    + "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}"
                    + "{%- endfor %}{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"),
    /** Qwen (ChatML): {@code <|im_start|>role\n...<|im_end|>}, no BOS. */
    QWEN(
            // Source: Qwen/Qwen3-0.6B tokenizer.json, pre_tokenizer.pretokenizers[0].pattern.Regex.
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
            null,
            "<|im_end|>",
            List.of("<|im_end|>", "<|endoftext|>"),
            "{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
                    + "{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}");

    private final String preTokenizerRegex;
    private final List<String> specialTokens;
    private final String bosToken;
    private final String eosToken;
    private final List<String> stopTokens;
    private final String chatTemplate;

    ChatStyle(
            String preTokenizerRegex,
            List<String> specialTokens,
            String bosToken,
            String eosToken,
            List<String> stopTokens,
            String chatTemplate) {
        this.preTokenizerRegex = preTokenizerRegex;
        this.specialTokens = specialTokens;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.stopTokens = stopTokens;
        this.chatTemplate = chatTemplate;
    }

    String preTokenizerRegex() {
        return preTokenizerRegex;
    }

    /** The named special tokens, in id order after the BPE vocabulary. */
    public List<String> specialTokens() {
        return specialTokens;
    }

    /** The BOS token's text, or null when the style adds none. */
    String bosToken() {
        return bosToken;
    }

    String eosToken() {
        return eosToken;
    }

    List<String> stopTokens() {
        return stopTokens;
    }

    String chatTemplate() {
        return chatTemplate;
    }
}
