package io.twinserve.traces.gen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.twinserve.traces.Request;
import io.twinserve.traces.format.TraceFormat;
import io.twinserve.traces.format.TraceWriter;
import io.twinserve.traces.format.TraceWriters;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.traces.spec.WorkloadSpec;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Length distributions, caps, empirical sampling and byte-for-byte determinism. */
class LengthsAndDeterminismTest {
    private static final String HEAD = """
      seed: 2
      requests: 100000
      arrivals: {type: poisson, rate: 10}
      """;

    @Test
    void lognormalLengthsHaveTheRequestedMeanAndStd() {
        List<Request> rs = Generated.all(HEAD + """
        lengths:
          prompt: {type: lognormal, mean: 1000, std: 500}
          output: {type: normal, mean: 200, std: 50}
        """);
        double[] p = rs.stream().mapToDouble(Request::promptTokens).toArray();
        double mean = Arrays.stream(p).average().orElseThrow();
        double std =
                Math.sqrt(Arrays.stream(p).map(v -> (v - mean) * (v - mean)).sum() / (p.length - 1));
        assertThat(mean).isCloseTo(1000, within(10.0));
        assertThat(std).isCloseTo(500, within(15.0));
        double outMean =
                rs.stream().mapToDouble(Request::outputTokens).average().orElseThrow();
        assertThat(outMean).isCloseTo(200, within(1.5));
    }

    @Test
    void clipCapsKeepEveryDrawWithinTheLimits() {
        List<Request> rs = Generated.all(HEAD + """
        lengths:
          prompt: {type: lognormal, mean: 1000, std: 2000}
          output: {type: uniform, min: 1, max: 3000}
          min_prompt: 50
          max_prompt: 2000
          max_output: 1000
          max_total: 2500
        """);
        assertThat(rs).allSatisfy(r -> {
            assertThat(r.promptTokens()).isBetween(50, 2000);
            assertThat(r.outputTokens()).isBetween(1, 1000);
            assertThat(r.totalTokens()).isLessThanOrEqualTo(2500);
        });
        assertThat(rs).extracting(Request::promptTokens).contains(50, 2000);
    }

    @Test
    void resampleCapsDrawTheConditionalDistribution() {
        List<Request> rs = Generated.all(HEAD + """
        lengths:
          prompt: {type: uniform, min: 1, max: 100}
          output: {type: fixed, value: 10}
          min_prompt: 51
          caps: resample
        """);
        assertThat(rs).allSatisfy(r -> assertThat(r.promptTokens()).isBetween(51, 100));
        // uniform on 51..100, not a spike at 51 as clipping would give
        long at51 = rs.stream().filter(r -> r.promptTokens() == 51).count();
        assertThat(at51 / 100000.0).isCloseTo(0.02, within(0.005));
    }

    @Test
    void resampleThatCanNeverSucceedFailsWithAClearMessage() {
        assertThatThrownBy(() -> Generated.all(HEAD + """
        lengths:
          prompt: {type: fixed, value: 10}
          output: {type: fixed, value: 10}
          min_prompt: 20
          caps: resample
        """))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("lengths.caps")
                .hasMessageContaining("caps: clip");
    }

    @Test
    void empiricalPromptAndOutputFromOneFileAreDrawnAsRows(@TempDir Path dir) throws Exception {
        StringBuilder csv = new StringBuilder("TIMESTAMP,ContextTokens,GeneratedTokens\n");
        for (int i = 1; i <= 500; i++) {
            csv.append("XXX,").append(i).append(',').append(i + 1000).append('\n');
        }
        Files.writeString(dir.resolve("lengths.csv"), csv);
        WorkloadSpec spec = Generated.spec("""
        requests: 5000
        arrivals: {type: poisson, rate: 10}
        lengths:
          prompt: {type: empirical, file: lengths.csv, column: ContextTokens}
          output: {type: empirical, file: lengths.csv, column: GeneratedTokens}
        """);
        List<Request> rs = Generated.all(spec, dir);
        assertThat(rs).allSatisfy(r -> assertThat(r.outputTokens()).isEqualTo(r.promptTokens() + 1000));
        assertThat(rs.stream().mapToInt(Request::promptTokens).distinct().count())
                .isGreaterThan(450);
    }

    @Test
    void emptyEmpiricalFileIsASpecErrorNamingTheKey(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("lengths.csv"), "a,b\n");
        WorkloadSpec spec = Generated.spec("""
        requests: 5
        arrivals: {type: poisson, rate: 10}
        lengths:
          prompt: {type: empirical, file: lengths.csv, column: a}
          output: {type: fixed, value: 3}
        """);
        assertThatThrownBy(() -> Generated.all(spec, dir))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("lengths.prompt.file")
                .hasMessageContaining("no rows");
    }

    @Test
    void traceArrivalsReplayTheFileTimesScaled() throws Exception {
        Path azure = Path.of(getClass()
                .getResource("/traces/azure/AzureLLMInferenceTrace_code_head300.csv")
                .toURI());
        WorkloadSpec spec = Generated.spec("""
        arrivals: {type: trace, file: %s, time_scale: 2}
        lengths: {prompt: {type: fixed, value: 5}, output: {type: fixed, value: 5}}
        """.formatted(azure));
        List<Request> rs = Generated.all(spec, null);
        assertThat(rs).hasSize(300);
        // the last row is 216.8382390 s after the first; at twice the rate it comes at half that
        assertThat(rs.getLast().arrivalNs()).isEqualTo(108_419_119_500L);
    }

    @Test
    void theSameSpecAndSeedGiveTheSameBytesAndAnotherSeedDoesNot() throws Exception {
        String yaml = """
        seed: 77
        duration_s: 120
        arrivals: {type: gamma, rate: 5, cv: 2}
        adapters: {count: 12, ranks: [8, 16], popularity: {type: zipf, exponent: 0.9}, base_share: 0.1}
        lengths: {prompt: {type: lognormal, mean: 300, std: 200}, output: {type: lognormal, mean: 100, std: 90}}
        sessions: {turns: {type: uniform, min: 1, max: 4}, think_time_s: {type: exponential, mean: 5}}
        """;
        WorkloadSpec spec = Generated.spec(yaml);
        byte[] first = write(spec, TraceFormat.CSV);
        byte[] second = write(Generated.spec(yaml), TraceFormat.CSV);
        assertThat(first.length).isGreaterThan(10_000);
        assertThat(second).isEqualTo(first);
        assertThat(write(spec, TraceFormat.JSONL)).isEqualTo(write(spec, TraceFormat.JSONL));
        assertThat(write(spec.withSeed(78), TraceFormat.CSV)).isNotEqualTo(first);
    }

    private static byte[] write(WorkloadSpec spec, TraceFormat format) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TraceWriter w = TraceWriters.open(bytes, format)) {
            for (Request r : Generated.all(spec, null)) {
                w.write(r);
            }
        }
        return bytes.toByteArray();
    }
}
