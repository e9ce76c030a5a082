package io.twinserve.engine.backend.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PlaceholderVocabularyTest {

    @Test
    void everyIdIsADistinctWordWithALeadingSpace() {
        Set<String> words = new HashSet<>();
        for (int id = 0; id < PlaceholderVocabulary.SIZE; id++) {
            String word = PlaceholderVocabulary.word(id);
            assertThat(word).matches(" [a-z]+");
            words.add(word);
        }
        assertThat(words).hasSize(PlaceholderVocabulary.SIZE);
        assertThat(new PlaceholderVocabulary().open().next(0)).isEqualTo(" lorem");
        assertThatThrownBy(() -> PlaceholderVocabulary.word(PlaceholderVocabulary.SIZE))
                .hasMessageContaining("from 0 to 255");
    }

    @Test
    void countsAPieceForEachWordPunctuationAndSpaceRunAndMoreForLongWordsAndNumbers() {
        assertThat(PlaceholderVocabulary.countTokens("")).isZero();
        // "Hello", ",", " world", "!"
        assertThat(PlaceholderVocabulary.countTokens("Hello, world!")).isEqualTo(4);
        // "internationalization" has 20 letters: three pieces of at most 7
        assertThat(PlaceholderVocabulary.countTokens(" internationalization")).isEqualTo(3);
        // " 1234567" is seven digits: three groups of at most 3
        assertThat(PlaceholderVocabulary.countTokens(" 1234567")).isEqualTo(3);
        assertThat(PlaceholderVocabulary.countTokens("it's")).isEqualTo(2);
    }

    @Test
    void equalTextsGetEqualIdsInsideTheVocabularyAndASharedPrefixSharesItsIds() {
        int[] a = PlaceholderVocabulary.encode("You are a helpful assistant. Summarise this report.");
        int[] b = PlaceholderVocabulary.encode("You are a helpful assistant. Translate this letter.");
        assertThat(PlaceholderVocabulary.encode("You are a helpful assistant. Summarise this report."))
                .containsExactly(a);
        assertThat(Arrays.stream(a).boxed().toList())
                .allSatisfy(id -> assertThat(id).isBetween(0, PlaceholderVocabulary.SIZE - 1));
        assertThat(Arrays.copyOf(a, 7)).containsExactly(Arrays.copyOf(b, 7));
        assertThat(a).isNotEqualTo(b);
    }
}
