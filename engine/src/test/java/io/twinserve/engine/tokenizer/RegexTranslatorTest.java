package io.twinserve.engine.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RegexTranslatorTest {

    private static List<String> split(ChatStyle style, String text) {
        List<String> pieces = new ArrayList<>();
        new PreTokenizer.Split(
                        RegexTranslator.compile(style.preTokenizerRegex()), PreTokenizer.Behavior.ISOLATED, false)
                .split(text, true, pieces);
        return pieces;
    }

    @Test
    void whitespaceBeforeAWordStaysWithTheWordExceptTheLastSpace() {
        assertThat(split(ChatStyle.LLAMA3, "a   b")).containsExactly("a", "  ", " b");
        assertThat(split(ChatStyle.LLAMA3, "x\n\n  y")).containsExactly("x", "\n\n", " ", " y");
        assertThat(split(ChatStyle.LLAMA3, "end   ")).containsExactly("end", "   ");
    }

    @Test
    void digitsGroupByThreeForLlamaAndOneForQwen() {
        assertThat(split(ChatStyle.LLAMA3, "1234567")).containsExactly("123", "456", "7");
        assertThat(split(ChatStyle.QWEN, "2024")).containsExactly("2", "0", "2", "4");
    }

    @Test
    void contractionsMatchInAnyCase() {
        assertThat(split(ChatStyle.QWEN, "DON'T we'Re")).containsExactly("DON", "'T", " we", "'Re");
    }

    @Test
    void punctuationRunsKeepTrailingNewlines() {
        assertThat(split(ChatStyle.QWEN, "hello!!!\n\nnext")).containsExactly("hello", "!!!\n\n", "next");
    }

    @Test
    void unicodeLettersDigitsAndSpacesAreRecognised() {
        // U+3000 is White_Space in Unicode (Java's plain \s would miss it); Devanagari marks are not letters.
        assertThat(split(ChatStyle.QWEN, "東京\u3000٣ نص")).containsExactly("東京", "\u3000", "٣", " نص");
        assertThat(RegexTranslator.translate("\\s+(?!\\S)")).isEqualTo("\\p{IsWhite_Space}+(?!\\P{IsWhite_Space})");
        assertThat(RegexTranslator.translate("(?i:'s)")).isEqualTo("(?iu:'s)");
        assertThat(RegexTranslator.translate("[^\\s\\p{L}]")).isEqualTo("[^\\p{IsWhite_Space}\\p{L}]");
        assertThat(RegexTranslator.translate("\\p{Han}+")).isEqualTo("\\p{IsHan}+");
    }

    @Test
    void possessiveAndAtomicGroupsPassThrough() {
        assertThat(RegexTranslator.compile("(?>a+)b|c++").matcher("aab").matches())
                .isTrue();
    }
}
