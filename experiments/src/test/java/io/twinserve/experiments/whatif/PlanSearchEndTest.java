package io.twinserve.experiments.whatif;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.placement.PlanSearch;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Why {@code plan --verify}'s search down ended, as {@link Plans#searchEnd} tells it: a configuration met the SLO,
 * every count down to one adapter per GPU was tried, or the budget ran out first.
 */
class PlanSearchEndTest {
    private static List<PlanSearch.Alternative> tried(int... servedPerGpu) {
        return Arrays.stream(servedPerGpu)
                .mapToObj(n -> new PlanSearch.Alternative(n, n, null, null))
                .toList();
    }

    @Test
    void aConfigurationThatMeetsEndsIt() {
        assertThat(Plans.searchEnd(64, true, 12, tried(64, 32), true)).isEqualTo(PlanOutcome.SearchEnd.MET);
    }

    @Test
    void runsToSpareOrALastRunAtOneAdapterMeanEveryCountWasTried() {
        assertThat(Plans.searchEnd(64, true, 12, tried(64, 32, 16, 8, 4, 2, 1), false))
                .isEqualTo(PlanOutcome.SearchEnd.ONE_ADAPTER);
        // the budget spent exactly on the last count: still every count tried
        assertThat(Plans.searchEnd(8, true, 4, tried(8, 4, 2, 1), false)).isEqualTo(PlanOutcome.SearchEnd.ONE_ADAPTER);
    }

    @Test
    void aBudgetSpentAboveOneAdapterIsTheBudget() {
        assertThat(Plans.searchEnd(64, true, 3, tried(64, 32, 16), false)).isEqualTo(PlanOutcome.SearchEnd.BUDGET);
    }

    @Test
    void aPlanAtOneAdapterThatMissesHasNothingBelowIt() {
        assertThat(Plans.searchEnd(1, true, 12, List.of(), false)).isEqualTo(PlanOutcome.SearchEnd.ONE_ADAPTER);
        // no search: the run met the SLO, or the budget was 0, or the plan has counts below it that were not run
        assertThat(Plans.searchEnd(1, false, 12, List.of(), false)).isNull();
        assertThat(Plans.searchEnd(1, true, 0, List.of(), false)).isNull();
        assertThat(Plans.searchEnd(16, true, 12, List.of(), false)).isNull();
    }
}
