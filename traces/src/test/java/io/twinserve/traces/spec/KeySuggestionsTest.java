package io.twinserve.traces.spec;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class KeySuggestionsTest {
    private static final List<String> KEYS = List.of("temperature", "top_p", "max_tokens");

    @Test
    void suggestsTheClosestKeyForATypo() {
        assertThat(KeySuggestions.didYouMean("temprature", KEYS)).isEqualTo("; did you mean 'temperature'?");
        assertThat(KeySuggestions.didYouMean("top-p", KEYS)).isEqualTo("; did you mean 'top_p'?");
    }

    @Test
    void suggestsNothingForAKeyFarFromEveryCandidate() {
        assertThat(KeySuggestions.didYouMean("colour", KEYS)).isEmpty();
    }

    @Test
    void aKeyOfFiftyMillionCharactersIsAnsweredWithoutASuggestion() {
        // a request body may carry a key of megabytes; comparing it cell by cell took gigabytes of heap
        String huge = "t".repeat(50_000_000);
        assertThat(KeySuggestions.didYouMean(huge, KEYS)).isEmpty();
    }
}
