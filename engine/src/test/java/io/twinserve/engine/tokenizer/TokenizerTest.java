package io.twinserve.engine.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerTest {
    private static final Path BYTE_FALLBACK = Path.of("src/test/resources/tokenizer/tiny-byte-fallback.json");

    @TempDir
    static Path written;

    private static Tokenizer qwen;
    private static Tokenizer llama;
    private static TokenizerWriter.Written llamaIds;

    @BeforeAll
    static void writeTokenizers() {
        TokenizerWriter.writeByteLevelBpe(written.resolve("qwen"), 600, ChatStyle.QWEN);
        llamaIds = TokenizerWriter.writeByteLevelBpe(written.resolve("llama"), 600, ChatStyle.LLAMA3);
        qwen = Tokenizer.load(written.resolve("qwen/tokenizer.json"));
        llama = Tokenizer.load(written.resolve("llama/tokenizer.json"));
    }

    @Test
    void splitsSpecialTokensOutOfTheTextBeforeBpe() {
        int start = qwen.tokenId("<|im_start|>").orElseThrow();
        int end = qwen.tokenId("<|im_end|>").orElseThrow();
        int[] body = qwen.encode("user\nhi there");
        int[] ids = qwen.encode("<|im_start|>user\nhi there<|im_end|>");
        assertThat(ids[0]).isEqualTo(start);
        assertThat(ids[ids.length - 1]).isEqualTo(end);
        assertThat(Arrays.copyOfRange(ids, 1, ids.length - 1)).containsExactly(body);
        assertThat(qwen.isSpecial(start)).isTrue();
        assertThat(qwen.decode(ids)).isEqualTo("<|im_start|>user\nhi there<|im_end|>");
        assertThat(qwen.decode(ids, true)).isEqualTo("user\nhi there");
    }

    @Test
    void aPartialSpecialTokenIsOrdinaryText() {
        int[] ids = qwen.encode("<|im_sta");
        assertThat(ids).doesNotContain(qwen.tokenId("<|im_start|>").orElseThrow());
        assertThat(qwen.decode(ids)).isEqualTo("<|im_sta");
    }

    @Test
    void addsBeginOfTextOnlyWhenSpecialTokensAreRequested() {
        assertThat(llama.encode("hello", true)[0]).isEqualTo(llamaIds.bosId());
        assertThat(llama.encode("hello", true)).hasSize(llama.encode("hello").length + 1);
        assertThat(llama.encode("hello")).doesNotContain(llamaIds.bosId());
        assertThat(qwen.encode("hello", true)).containsExactly(qwen.encode("hello"));
    }

    @Test
    void bytesOutsideTheVocabularyFallBackToByteTokens() {
        Tokenizer tokenizer = Tokenizer.load(BYTE_FALLBACK);
        // "▁hello" is one token; "ü" is not in the vocabulary, so its UTF-8 bytes C3 BC are used.
        assertThat(tokenizer.encode("hello ü")).containsExactly(268, 259, 3 + 0xC3, 3 + 0xBC);
        assertThat(tokenizer.decode(tokenizer.encode("hello ü"))).isEqualTo("hello ü");
        assertThat(tokenizer.encode("hello", true)).containsExactly(1, 268);
        assertThat(tokenizer.token(3 + 0xC3)).isEqualTo("<0xC3>");
    }

    @Test
    void streamDecoderHoldsBackACharacterSplitAcrossByteTokens() {
        Tokenizer tokenizer = Tokenizer.load(BYTE_FALLBACK);
        StreamDecoder stream = tokenizer.streamDecoder();
        List<String> pieces = new ArrayList<>();
        for (int id : tokenizer.encode("hello 👍🏽!")) {
            pieces.add(stream.next(id));
        }
        pieces.add(stream.flush());
        assertThat(String.join("", pieces)).isEqualTo("hello 👍🏽!");
        // The thumbs-up is four byte tokens: nothing comes out until its last byte arrives.
        assertThat(pieces.subList(2, 5)).containsOnly("");
        assertThat(pieces).noneMatch(piece -> piece.contains("\uFFFD"));
    }

    @Test
    void streamDecoderMatchesWholeDecodeOnByteLevelText() {
        String text = "Grüße 👨‍👩‍👧‍👦 and 中文 <|im_end|> done";
        StreamDecoder stream = qwen.streamDecoder();
        StringBuilder streamed = new StringBuilder();
        for (int id : qwen.encode(text)) {
            String piece = stream.next(id);
            assertThat(piece).doesNotContain("\uFFFD");
            streamed.append(piece);
        }
        assertThat(streamed.append(stream.flush()).toString())
                .isEqualTo(qwen.decode(qwen.encode(text)))
                .isEqualTo(text);
        StreamDecoder skipping = qwen.streamDecoder(true);
        assertThat(skipping.next(qwen.tokenId("<|im_end|>").orElseThrow())).isEmpty();
    }

    @Test
    void describesTheVocabulary() {
        assertThat(qwen.vocabSize()).isEqualTo(600);
        assertThat(qwen.token(qwen.tokenId("Ġ").orElseThrow())).isEqualTo("Ġ");
        assertThat(qwen.tokenId("no such token")).isEmpty();
        assertThat(qwen.isSpecial(0)).isFalse();
        assertThatThrownBy(() -> qwen.token(600))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("600");
    }

    @Test
    void malformedMergeNamesTheFileAndTheMergeIndex(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(
                file,
                "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [\"a b\", \"abc\"]}}");
        assertThatThrownBy(() -> Tokenizer.load(file))
                .isInstanceOf(TokenizerFormatException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("model.merges[1]")
                .hasMessageContaining("expected two tokens separated by one space")
                .satisfies(
                        e -> assertThat(((TokenizerFormatException) e).field()).isEqualTo("model.merges[1]"));
    }

    @Test
    void mergeOfUnknownTokenNamesTheToken(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(
                file,
                "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [[\"a\", \"b\"]]}}");
        assertThatThrownBy(() -> Tokenizer.load(file))
                .hasMessageContaining("model.merges[0]")
                .hasMessageContaining("\"ab\" is not in model.vocab");
    }

    @Test
    void unsupportedModelTypesAreNamed(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tokenizer.json");
        for (String type : List.of("WordPiece", "Unigram")) {
            Files.writeString(file, "{\"model\": {\"type\": \"" + type + "\", \"vocab\": {}}}");
            assertThatThrownBy(() -> Tokenizer.load(file))
                    .isInstanceOf(TokenizerFormatException.class)
                    .hasMessageContaining("model.type")
                    .hasMessageContaining("unsupported model type " + type);
        }
    }

    @Test
    void aSequenceWhoseMembersAreNotAListNamesTheField(@TempDir Path dir) throws Exception {
        // found by fuzzing: an object where the list belongs threw a NullPointerException
        Path file = dir.resolve("tokenizer.json");
        String model = "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}";
        for (String part : List.of(
                "\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": {\"x\": {}}}",
                "\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": {\"x\": {}}}",
                "\"decoder\": {\"type\": \"Sequence\", \"decoders\": {\"x\": {}}}")) {
            Files.writeString(file, "{" + model + ", " + part + "}");
            assertThatThrownBy(() -> Tokenizer.load(file))
                    .as(part)
                    .isInstanceOf(TokenizerFormatException.class)
                    .hasMessageContaining(file.toString())
                    .hasMessageContaining("expected a list, got OBJECT");
        }
    }

    @Test
    void aTokenIdBeyondTheLimitIsRefusedNamingTheField(@TempDir Path dir) throws Exception {
        // found by fuzzing: an id of 2^31 - 1 made the reader allocate arrays of that many tokens
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(
                file,
                "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []},"
                        + " \"added_tokens\": [{\"id\": 2147483647, \"content\": \"<s>\"}]}");
        assertThatThrownBy(() -> Tokenizer.load(file))
                .isInstanceOf(TokenizerFormatException.class)
                .hasMessageContaining("added_tokens[0].id")
                .hasMessageContaining("expected an integer from 0 to 16777215, got 2147483647");
        Files.writeString(file, "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 16777216}, \"merges\": []}}");
        assertThatThrownBy(() -> Tokenizer.load(file))
                .isInstanceOf(TokenizerFormatException.class)
                .hasMessageContaining("model.vocab[\"a\"]")
                .hasMessageContaining("expected an integer id from 0 to 16777215, got 16777216");
    }

    @Test
    void missingFieldsAndBrokenJsonAreReported(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, "{\"model\": {\"type\": \"BPE\", \"merges\": []}}");
        assertThatThrownBy(() -> Tokenizer.load(file)).hasMessageContaining("model.vocab: missing");
        Files.writeString(file, "{\"model\": ");
        assertThatThrownBy(() -> Tokenizer.load(file)).hasMessageContaining("cannot read as JSON");
        Files.writeString(file, "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"zero\"}, \"merges\": []}}");
        assertThatThrownBy(() -> Tokenizer.load(file)).hasMessageContaining("model.vocab[\"a\"]");
        Files.writeString(
                file,
                "{\"normalizer\": {\"type\": \"BertNormalizer\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}");
        assertThatThrownBy(() -> Tokenizer.load(file))
                .hasMessageContaining("normalizer.type")
                .hasMessageContaining("BertNormalizer");
    }
}
