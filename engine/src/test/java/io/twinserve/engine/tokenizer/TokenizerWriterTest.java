package io.twinserve.engine.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinserve.engine.chat.ChatMessage;
import io.twinserve.engine.chat.ChatTemplate;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class TokenizerWriterTest {

    @ParameterizedTest
    @EnumSource(ChatStyle.class)
    void writtenTokenizerRoundTripsRandomText(ChatStyle style, @TempDir Path dir) {
        TokenizerWriter.writeByteLevelBpe(dir, 800, style);
        Tokenizer tokenizer = Tokenizer.load(dir.resolve("tokenizer.json"));
        Random random = new Random(7);
        int[][] ranges = {{0x20, 0x7E}, {0xA0, 0x24F}, {0x400, 0x4FF}, {0x4E00, 0x4FFF}, {0x1F600, 0x1F64F}, {0x9, 0xD}
        };
        for (int i = 0; i < 500; i++) {
            StringBuilder text = new StringBuilder();
            for (int n = random.nextInt(40); n > 0; n--) {
                int[] range = ranges[random.nextInt(ranges.length)];
                text.appendCodePoint(range[0] + random.nextInt(range[1] - range[0] + 1));
            }
            String expected =
                    style == ChatStyle.QWEN ? Normalizer.normalize(text, Normalizer.Form.NFC) : text.toString();
            assertThat(tokenizer.decode(tokenizer.encode(text.toString()))).isEqualTo(expected);
        }
    }

    @ParameterizedTest
    @EnumSource(ChatStyle.class)
    void vocabularyHasExactlyTheRequestedSize(ChatStyle style, @TempDir Path dir) {
        for (int size : new int[] {256 + style.specialTokens().size(), 300, 5000, 20000}) {
            TokenizerWriter.Written written = TokenizerWriter.writeByteLevelBpe(dir.resolve("v" + size), size, style);
            Tokenizer tokenizer = Tokenizer.load(dir.resolve("v" + size + "/tokenizer.json"));
            assertThat(written.vocabSize()).isEqualTo(size);
            assertThat(tokenizer.vocabSize()).isEqualTo(size);
            for (int id = 0; id < size; id++) {
                assertThat(tokenizer.token(id)).isNotNull();
            }
            assertThat(tokenizer.token(written.eosId()))
                    .isEqualTo(style == ChatStyle.QWEN ? "<|im_end|>" : "<|eot_id|>");
            assertThat(written.stopIds()).allMatch(tokenizer::isSpecial);
        }
    }

    @Test
    void recordsSpecialTokenIdsOfEachStyle(@TempDir Path dir) {
        TokenizerWriter.Written llama = TokenizerWriter.writeByteLevelBpe(dir.resolve("llama"), 1000, ChatStyle.LLAMA3);
        Tokenizer tokenizer = Tokenizer.load(dir.resolve("llama/tokenizer.json"));
        assertThat(tokenizer.token(llama.bosId())).isEqualTo("<|begin_of_text|>");
        assertThat(llama.stopIds())
                .containsExactly(
                        tokenizer.tokenId("<|eot_id|>").orElseThrow(),
                        tokenizer.tokenId("<|end_of_text|>").orElseThrow());
        TokenizerWriter.Written qwen = TokenizerWriter.writeByteLevelBpe(dir.resolve("qwen"), 1000, ChatStyle.QWEN);
        assertThat(qwen.bosId()).isEqualTo(-1);
        assertThat(qwen.stopIds()).hasSize(2).startsWith(qwen.eosId());
    }

    @Test
    void writesTheHuggingFaceSchema(@TempDir Path dir) throws Exception {
        TokenizerWriter.writeByteLevelBpe(dir, 512, ChatStyle.LLAMA3);
        JsonNode root =
                new ObjectMapper().readTree(dir.resolve("tokenizer.json").toFile());
        assertThat(root.fieldNames())
                .toIterable()
                .containsExactly(
                        "version",
                        "truncation",
                        "padding",
                        "added_tokens",
                        "normalizer",
                        "pre_tokenizer",
                        "post_processor",
                        "decoder",
                        "model");
        assertThat(root.path("model").fieldNames())
                .toIterable()
                .containsExactly(
                        "type",
                        "dropout",
                        "unk_token",
                        "continuing_subword_prefix",
                        "end_of_word_suffix",
                        "fuse_unk",
                        "byte_fallback",
                        "ignore_merges",
                        "vocab",
                        "merges");
        assertThat(root.path("added_tokens").get(0).fieldNames())
                .toIterable()
                .containsExactly("id", "content", "single_word", "lstrip", "rstrip", "normalized", "special");
        assertThat(root.path("model").path("vocab").path("!").asInt()).isZero();
        assertThat(root.path("model").path("vocab").path("Ġ").asInt()).isEqualTo(220);
        JsonNode config =
                new ObjectMapper().readTree(dir.resolve("tokenizer_config.json").toFile());
        assertThat(config.path("bos_token").asText()).isEqualTo("<|begin_of_text|>");
        assertThat(config.path("eos_token").asText()).isEqualTo("<|eot_id|>");
    }

    @Test
    void sameSizeAndStyleWriteIdenticalFiles(@TempDir Path dir) throws Exception {
        TokenizerWriter.writeByteLevelBpe(dir.resolve("a"), 700, ChatStyle.QWEN);
        TokenizerWriter.writeByteLevelBpe(dir.resolve("b"), 700, ChatStyle.QWEN);
        assertThat(Files.readString(dir.resolve("a/tokenizer.json")))
                .isEqualTo(Files.readString(dir.resolve("b/tokenizer.json")));
    }

    @ParameterizedTest
    @EnumSource(ChatStyle.class)
    void writtenChatTemplateRendersAConversation(ChatStyle style, @TempDir Path dir) {
        TokenizerWriter.writeByteLevelBpe(dir, 600, style);
        String rendered = ChatTemplate.load(dir.resolve("tokenizer_config.json"))
                .render(List.of(new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi")), true);
        assertThat(rendered)
                .isEqualTo(
                        switch (style) {
                            case LLAMA3 ->
                                "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                                        + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
                            case QWEN ->
                                "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n";
                        });
    }

    @Test
    void rejectsVocabularyTooSmallForBytesAndSpecials(@TempDir Path dir) {
        assertThatThrownBy(() -> TokenizerWriter.writeByteLevelBpe(dir, 260, ChatStyle.LLAMA3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least 261")
                .hasMessageContaining("260");
    }
}
