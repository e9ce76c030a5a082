package io.twinserve.twin.slo;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.traces.spec.SloSpec;
import java.util.List;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

class SloVerdictTest {
    @Test
    void everyBoundIsCheckedAndTheMissesAreNamedWithTheirFactor() {
        SloVerdict v = SloVerdict.of(SloSpec.DEFAULTS, true, 31_031, 40_501, 153.3, 0.0, 0.9939, 0);
        assertThat(v.checks()).extracting(SloVerdict.Check::key).containsExactlyElementsOf(SloSpec.KEYS);
        assertThat(v.met()).isFalse();
        assertThat(v.missed()).extracting(SloVerdict.Check::key).containsExactly("ttft_p90_ms", "ttft_p99_ms");
        assertThat(v.line())
                .startsWith("MISSES 2 of 6: TTFT p90 31,031 ms > 2,000 ms (15.5x the bound), TTFT p99 40,501 ms"
                        + " > 5,000 ms (8.1x the bound); holds ITL p99 153 ms <= 200 ms");
        assertThat(v.worstSeverity()).isCloseTo(15.5155, Offset.offset(1e-3));
    }

    @Test
    void aRunThatMeetsEveryBoundSaysSoAndLowerBoundsAreLowerBounds() {
        SloVerdict ok = SloVerdict.of(SloSpec.DEFAULTS, true, 158, 223, 128, 0.0, 0.995, 0);
        assertThat(ok.met()).isTrue();
        assertThat(ok.line()).startsWith("meets: TTFT p90 158 ms <= 2,000 ms");
        assertThat(ok.worstSeverity()).isLessThanOrEqualTo(1);
        SloVerdict underServed = SloVerdict.of(SloSpec.DEFAULTS, true, 158, 223, 128, 0.0, 0.80, 0);
        assertThat(underServed.missed()).extracting(SloVerdict.Check::key).containsExactly("min_served_share");
        assertThat(underServed.line()).contains("served 80.00% < 95.00%");
        SloVerdict starved = SloVerdict.of(SloSpec.DEFAULTS, true, 158, 223, 128, 0.02, 0.99, 3);
        assertThat(starved.missed())
                .extracting(SloVerdict.Check::key)
                .containsExactly("max_timed_out_fraction", "no_starvation");
    }

    @Test
    void anItlBoundWithNoTokenGapsHolds() {
        // every answer one token long: no inter-token gap was measured, so the ITL bound has nothing to miss
        SloVerdict v = SloVerdict.of(SloSpec.DEFAULTS, true, 31.3, 32.5, Double.NaN, 0.0, 1.0, 0);
        assertThat(v.met()).isTrue();
        assertThat(v.line()).contains("ITL p99 none measured <= 200 ms");
        assertThat(v.worstSeverity()).isLessThanOrEqualTo(1);
    }

    @Test
    void noAnswerMissesTheTtftBoundsAndBoundsThatAreOffAreNotChecked() {
        SloVerdict none = SloVerdict.of(SloSpec.DEFAULTS, false, 0, 0, 0, 0, 0, 0);
        assertThat(none.missed())
                .extracting(SloVerdict.Check::key)
                .contains("ttft_p90_ms", "ttft_p99_ms", "min_served_share");
        assertThat(none.line()).contains("TTFT p90 none answered > 2,000 ms");
        SloSpec onlyTtft = SloSpec.resolve(SloSpec.parseAssignments(List.of(
                "ttft_p99_ms=off,itl_p99_ms=off,max_timed_out_fraction=off,min_served_share=off,no_starvation=false")));
        SloVerdict v = SloVerdict.of(onlyTtft, true, 100, 1e9, 1e9, 1, 0, 10);
        assertThat(v.checks()).extracting(SloVerdict.Check::key).containsExactly("ttft_p90_ms");
        assertThat(v.met()).isTrue();
    }
}
