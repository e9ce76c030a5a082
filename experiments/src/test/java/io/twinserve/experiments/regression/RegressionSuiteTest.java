package io.twinserve.experiments.regression;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.twin.profile.Profiles;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** CI's regression gate: every scenario reproduces its golden exactly. */
class RegressionSuiteTest {

    @Test
    void everyScenarioMatchesItsGolden() throws Exception {
        RegressionSuite suite = new RegressionSuite(Path.of("regression"), Profiles.builtIn());
        List<RegressionSuite.Result> results = suite.check();
        assertThat(results).hasSizeGreaterThanOrEqualTo(6);
        for (RegressionSuite.Result r : results) {
            assertThat(r.differences())
                    .as(
                            "scenario %s differs from its golden (run 'twinserve regress --update' only"
                                    + " for an intended change)",
                            r.name())
                    .isEmpty();
        }
    }

    @Test
    void differencesNameEachChangedField() throws Exception {
        String before = "{\"summary\": {\"steps\": 10, \"ttft\": {\"p99_ms\": 1.5}}}";
        String after = "{\"summary\": {\"steps\": 11, \"ttft\": {\"p99_ms\": 1.5}, \"new_field\": true}}";
        assertThat(RegressionSuite.differences(before, after))
                .containsExactly("summary.steps: 10 -> 11", "summary.new_field: (new) -> true");
    }

    @Test
    void aGoldenThatIsNotJsonIsOneDifferenceNamingTheFileAndWhereItBreaks() throws Exception {
        Path golden = Path.of("goldens", "cut.json");
        List<String> diffs = RegressionSuite.goldenDifferences(
                golden, "{\n  \"scenario\" : \"cut\",\n  \"summary\" : {", "{\"scenario\": \"cut\"}");
        assertThat(diffs).hasSize(1);
        assertThat(diffs.get(0))
                .startsWith(golden + ":3:")
                .contains("the golden is not valid JSON")
                .endsWith("rewrite it with twinserve regress --update");
    }
}
