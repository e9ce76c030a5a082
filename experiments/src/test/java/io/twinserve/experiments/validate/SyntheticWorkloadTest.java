package io.twinserve.experiments.validate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.traces.Request;
import java.util.List;
import org.junit.jupiter.api.Test;

class SyntheticWorkloadTest {
    @Test
    void givesTheSameArrivalsAndLengthsWithOrWithoutAdapters() {
        SyntheticWorkload w = new SyntheticWorkload(50, 2, 40, 10);
        List<Request> lora = w.generate(List.of("a", "b"), 3);
        List<Request> base = w.generate(List.of(), 3);
        assertThat(base).extracting(Request::adapterId).containsOnlyNulls();
        assertThat(lora).extracting(Request::adapterId).containsOnly("a", "b").contains("a", "b");
        for (int i = 0; i < 50; i++) {
            assertThat(base.get(i).withAdapterId(lora.get(i).adapterId())).isEqualTo(lora.get(i));
        }
        assertThat(w.generate(List.of("a", "b"), 3)).isEqualTo(lora);
    }

    @Test
    void drawsLengthsWithinHalfTheirMeanEitherSideAndArrivalsInOrder() {
        List<Request> r = new SyntheticWorkload(200, 5, 40, 10).generate(List.of("a"), 9);
        assertThat(r).allSatisfy(q -> {
            assertThat(q.promptTokens()).isBetween(20, 60);
            assertThat(q.outputTokens()).isBetween(5, 15);
        });
        for (int i = 1; i < r.size(); i++) {
            assertThat(r.get(i).arrivalNs()).isGreaterThanOrEqualTo(r.get(i - 1).arrivalNs());
        }
    }

    @Test
    void refusesANonPositiveRateNamingTheOption() {
        assertThatThrownBy(() -> new SyntheticWorkload(5, 0, 10, 10))
                .hasMessageContaining("--rate")
                .hasMessageContaining("got 0.0");
    }
}
