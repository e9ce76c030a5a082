package io.twinserve.traces.gen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.twinserve.traces.Request;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Arrival processes match their specs. Tolerances are several standard errors wide for the sample
 * sizes used, so the tests fail on a wrong process, not on sampling noise.
 */
class ArrivalStatisticsTest {
    private static final String LENGTHS = """
      lengths: {prompt: {type: fixed, value: 10}, output: {type: fixed, value: 5}}
      """;

    @Test
    void poissonArrivalsHaveTheRequestedRateAndUnitCv() {
        // 100,000 expected arrivals: the count's relative standard error is 0.3%
        List<Request> rs = Generated.all("""
        seed: 11
        duration_s: 2000
        arrivals: {type: poisson, rate: 50}
        """ + LENGTHS);
        assertThat(rs.size() / 2000.0).isCloseTo(50.0, within(0.75));
        assertThat(Generated.gapCv(rs)).isCloseTo(1.0, within(0.02));
        assertThat(rs).allSatisfy(r -> assertThat(r.arrivalNs()).isLessThan(2_000_000_000_000L));
    }

    @Test
    void gammaArrivalsHaveTheRequestedCoefficientOfVariation() {
        // shape 1/9: the CV estimate's relative standard error at n = 200,000 is about 1%
        List<Request> rs = Generated.all("""
        seed: 5
        requests: 200000
        arrivals: {type: gamma, rate: 20, cv: 3}
        """ + LENGTHS);
        double span = rs.getLast().arrivalNs() / 1e9;
        assertThat(rs.size() / span).isCloseTo(20.0, within(20.0 * 0.04));
        assertThat(Generated.gapCv(rs)).isCloseTo(3.0, within(0.15));
    }

    @Test
    void constantArrivalsAreEvenlySpacedFromZero() {
        List<Request> rs = Generated.all("""
        duration_s: 2
        arrivals: {type: constant, rate: 4}
        """ + LENGTHS);
        assertThat(rs)
                .extracting(Request::arrivalNs)
                .containsExactly(
                        0L,
                        250_000_000L,
                        500_000_000L,
                        750_000_000L,
                        1_000_000_000L,
                        1_250_000_000L,
                        1_500_000_000L,
                        1_750_000_000L);
    }

    @Test
    void requestsLimitGivesExactlyThatManyRequestsNumberedInOrder() {
        List<Request> rs = Generated.all("""
        requests: 1234
        arrivals: {type: poisson, rate: 3}
        """ + LENGTHS);
        assertThat(rs).hasSize(1234);
        for (int i = 0; i < rs.size(); i++) {
            assertThat(rs.get(i).id()).isEqualTo(i);
            if (i > 0) {
                assertThat(rs.get(i).arrivalNs())
                        .isGreaterThanOrEqualTo(rs.get(i - 1).arrivalNs());
            }
        }
    }
}
