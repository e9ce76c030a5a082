package io.twinserve.traces.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class SloSpecTest {
    private static final String WORKLOAD = """
      duration_s: 60
      arrivals: {type: poisson, rate: 1}
      lengths: {prompt: {type: fixed, value: 10}, output: {type: fixed, value: 10}}
      """;

    @Test
    void laterLayersOverrideTheBoundsTheySetAndInheritTheRest() {
        SloSpec workload = new SloSpec(1000.0, null, 150.0, null, null, null);
        SloSpec deployment = new SloSpec(null, 3000.0, null, 0.05, null, null);
        SloSpec cli = SloSpec.parseAssignments(List.of("ttft_p90_ms=500", "no_starvation=false"));
        assertThat(SloSpec.resolve(workload, deployment, cli))
                .isEqualTo(new SloSpec(500.0, 3000.0, 150.0, 0.05, 0.95, false));
        assertThat(SloSpec.resolve()).isEqualTo(SloSpec.DEFAULTS);
        assertThat(SloSpec.resolve(null, null)).isEqualTo(SloSpec.DEFAULTS);
    }

    @Test
    void theCommandLineTurnsBoundsOffAndNamesBadKeysAndValues() {
        SloSpec off =
                SloSpec.parseAssignments(List.of("itl_p99_ms=off,max_timed_out_fraction=off", "min_served_share=off"));
        assertThat(off.itlP99Ms()).isInfinite();
        assertThat(off.maxTimedOutFraction()).isEqualTo(1.0);
        assertThat(off.minServedShare()).isEqualTo(0.0);
        assertThat(SloSpec.resolve(off).describe())
                .doesNotContain("ITL")
                .doesNotContain("408s")
                .doesNotContain("served")
                .contains("TTFT p90 <= 2,000 ms");
        assertThatThrownBy(() -> SloSpec.parseAssignments(List.of("ttft_p09_ms=1")))
                .hasMessageContaining("--slo ttft_p09_ms")
                .hasMessageContaining("did you mean 'ttft_p90_ms'");
        assertThatThrownBy(() -> SloSpec.parseAssignments(List.of("ttft_p90_ms=fast")))
                .hasMessageContaining("--slo ttft_p90_ms")
                .hasMessageContaining("must be a number (or off), got 'fast'");
        assertThatThrownBy(() -> SloSpec.parseAssignments(List.of("ttft_p90_ms")))
                .hasMessageContaining("expected KEY=VALUE");
        assertThatThrownBy(() -> SloSpec.parseAssignments(List.of("min_served_share=1.5")))
                .hasMessageContaining("min_served_share")
                .hasMessageContaining("must be a share in [0, 1]");
        assertThatThrownBy(() -> SloSpec.parseAssignments(List.of("no_starvation=maybe")))
                .hasMessageContaining("must be true or false");
    }

    @Test
    void aWorkloadSpecCarriesItsSloAndABadBoundNamesItsLine() {
        WorkloadSpec w =
                WorkloadSpecs.parse(WORKLOAD + "slo: {ttft_p90_ms: 800, min_served_share: 0.99}\n", Path.of("w.yaml"));
        assertThat(w.slo()).isEqualTo(new SloSpec(800.0, null, null, null, 0.99, null));
        assertThat(w.withSeed(3).slo()).isEqualTo(w.slo());
        assertThatThrownBy(() -> WorkloadSpecs.parse(WORKLOAD + "slo:\n  ttft_p90_ms: -5\n", Path.of("w.yaml")))
                .hasMessageContaining("w.yaml:5")
                .hasMessageContaining("slo.ttft_p90_ms")
                .hasMessageContaining("> 0");
        assertThatThrownBy(() -> WorkloadSpecs.parse(WORKLOAD + "slo: {ttft_p90: 5}\n", Path.of("w.yaml")))
                .hasMessageContaining("slo.ttft_p90 is not a known key")
                .hasMessageContaining("ttft_p90_ms");
    }
}
