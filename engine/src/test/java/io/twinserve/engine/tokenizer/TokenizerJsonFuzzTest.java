package io.twinserve.engine.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;

/**
 * Coverage-guided fuzzing of {@code tokenizer.json}: it either loads, and then encodes and decodes a short
 * text, or fails with a {@link TokenizerFormatException} naming the file. Anything else (an index out of
 * bounds from a negative id, an allocation driven by a huge id) is a crash.
 */
class TokenizerJsonFuzzTest {
    private static final Path FILE = Path.of("fuzzed", "tokenizer.json");

    @FuzzTest(maxDuration = "10s")
    void loadsOrRefusesNamingTheField(byte[] input) {
        Tokenizer tokenizer;
        try {
            tokenizer = Tokenizer.parse(input, FILE);
        } catch (TokenizerFormatException e) {
            assertThat(e.getMessage()).startsWith(FILE + ": ");
            return;
        }
        int[] ids;
        try {
            ids = tokenizer.encode("Hello, wörld! 12 <s>", true);
        } catch (TokenizerFormatException e) {
            // normalizers that lengthen text without bound (replacements feeding each other) are refused on use
            assertThat(e.getMessage()).startsWith(FILE + ": normalizer: lengthens a text of");
            return;
        } catch (IllegalArgumentException e) {
            // documented: a character with no token, no byte fallback and no unk_token
            assertThat(e.getMessage()).contains("is not in the vocabulary");
            return;
        }
        for (int id : ids) {
            assertThat(id).isNotNegative();
        }
        assertThat(tokenizer.decode(ids)).isNotNull();
    }
}
