package io.twinserve.traces.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Spec errors name the file, line and key path, say what was wrong and what is allowed. */
class WorkloadSpecErrorsTest {
    private static final Path FILE = Path.of("spec.yaml");
    private static final String VALID_TAIL = """
      arrivals: {type: poisson, rate: 2}
      lengths:
        prompt: {type: fixed, value: 10}
        output: {type: fixed, value: 5}
      """;

    private static SpecException error(String yaml) {
        try {
            WorkloadSpecs.parse(yaml, FILE);
        } catch (SpecException e) {
            return e;
        }
        throw new AssertionError("expected a SpecException for:\n" + yaml);
    }

    @Test
    void aDeploymentSpecGivenAsAWorkloadSaysWhatItLooksLike() {
        SpecException e = error("""
        name: llama
        model: llama-3.1-8b
        gpu: h100-sxm-80gb
        replica: {max_adapters: 8}
        """);
        assertThat(e.getMessage())
                .startsWith("spec.yaml:2: model is not a known key")
                .endsWith("; the file looks like a deployment spec (it has gpu), not a workload spec");
        // a workload with a misspelt key is not taken for another kind
        assertThat(error("duration_s: 10\nadaptors: {count: 2}\n" + VALID_TAIL).getMessage())
                .doesNotContain("looks like");
    }

    @Test
    void negativeStdNamesTheKeyPathAndTheValue() {
        SpecException e = error("""
        duration_s: 10
        arrivals: {type: poisson, rate: 2}
        lengths:
          prompt: {type: normal, mean: 100, std: -3}
          output: {type: fixed, value: 5}
        """);
        assertThat(e.getMessage()).isEqualTo("spec.yaml:4: lengths.prompt.std must be >= 0, got -3");
        assertThat(e.keyPath()).isEqualTo("lengths.prompt.std");
    }

    @Test
    void aValueYamlFoldedFromTheNextLineSaysSoRatherThanOnlyThatTheValueIsWrong() {
        // an over-indented key: YAML reads "1 duration_s: 10" as seed's value
        SpecException indented = error("seed: 1\n  duration_s: 10\n" + VALID_TAIL);
        assertThat(indented.getMessage())
                .startsWith("spec.yaml:1: seed expected an integer, got '1 duration_s'")
                .contains("runs on into line 2")
                .contains("check the indentation of line 2 and the brackets of line 1");
        // an unclosed flow mapping: the next line joins the rate
        SpecException unclosed = error("""
        duration_s: 10
        arrivals: {type: poisson, rate: 2
        adapters: {count: 2}
        lengths:
          prompt: {type: fixed, value: 10}
          output: {type: fixed, value: 5}
        """);
        assertThat(unclosed.getMessage())
                .startsWith("spec.yaml:2: arrivals.rate expected a number, got '2 adapters'")
                .contains("the brackets of line 2");
        // a wrong value on its own line gets no such hint
        assertThat(error("duration_s: ten minutes\n" + VALID_TAIL).getMessage()).doesNotContain("runs on");
    }

    @Test
    void unknownTopLevelKeySuggestsTheIntendedOne() {
        SpecException e = error("duration_s: 10\nseeed: 4\n" + VALID_TAIL);
        assertThat(e.getMessage())
                .startsWith("spec.yaml:2: seeed is not a known key; did you mean 'seed'?")
                .contains("expected one of");
    }

    @Test
    void aMisspeltKeyIsReportedBeforeTheCheckItsAbsenceUpsets() {
        // without "adapters" the rate tiers have no adapters to spread over; the misspelling is the error to show
        SpecException e = error("""
        duration_s: 10
        arrivals: {type: poisson, rate_tiers: [0.5]}
        adaptors: {count: 4, ranks: [8]}
        lengths:
          prompt: {type: fixed, value: 10}
          output: {type: fixed, value: 5}
        """);
        assertThat(e.keyPath()).isEqualTo("adaptors");
        assertThat(e.getMessage()).startsWith("spec.yaml:3: adaptors is not a known key; did you mean 'adapters'?");
        // and one level down, inside a record
        SpecException nested = error("""
        duration_s: 10
        arrivals: {type: poisson, rate_tiers: [0.5]}
        adapters: {cont: 4, ranks: [8]}
        lengths:
          prompt: {type: fixed, value: 10}
          output: {type: fixed, value: 5}
        """);
        assertThat(nested.keyPath()).isEqualTo("adapters.cont");
        assertThat(nested.getMessage()).contains("did you mean 'count'?");
    }

    @Test
    void unknownNestedKeySuggestsTheIntendedOne() {
        SpecException e = error("""
        duration_s: 10
        arrivals: {type: poisson, rate: 2}
        lengths:
          prompt: {type: fixed, value: 10}
          output: {type: fixed, value: 5}
          max_promt: 100
        """);
        assertThat(e.keyPath()).isEqualTo("lengths.max_promt");
        assertThat(e.getMessage()).contains("did you mean 'max_prompt'?").startsWith("spec.yaml:6:");
    }

    @Test
    void unknownTypeSuggestsTheIntendedOneAndListsTheChoices() {
        SpecException e = error("""
        duration_s: 10
        arrivals: {type: poison, rate: 2}
        lengths: {prompt: {type: fixed, value: 10}, output: {type: fixed, value: 5}}
        """);
        assertThat(e.getMessage())
                .contains("arrivals.type 'poison' is not a known type; did you mean 'poisson'?")
                .contains("poisson, gamma, constant, trace");
    }

    @Test
    void missingTypeIsNamed() {
        SpecException e = error("""
        duration_s: 10
        arrivals: {rate: 2}
        lengths: {prompt: {type: fixed, value: 10}, output: {type: fixed, value: 5}}
        """);
        assertThat(e.getMessage()).contains("arrivals.type is required; expected one of poisson");
    }

    @Test
    void aFractionWhereAWholeNumberGoesIsRefusedNotTruncated() {
        SpecException requests = error("requests: 1.5\n" + VALID_TAIL);
        assertThat(requests.getMessage()).startsWith("spec.yaml:1: requests").contains("1.5");
        SpecException count = error("duration_s: 10\nadapters: {count: 2.5}\n" + VALID_TAIL);
        assertThat(count.getMessage()).contains("adapters.count").contains("2.5");
    }

    @Test
    void aRateThatWouldMakeMoreRequestsThanCanBeSimulatedIsRefused() {
        SpecException e = error("""
        duration_s: 10
        arrivals: {type: poisson, rate: 1e300}
        lengths: {prompt: {type: fixed, value: 10}, output: {type: fixed, value: 5}}
        """);
        assertThat(e.getMessage())
                .contains("arrivals.rate")
                .contains("about 1.00e+301 requests")
                .contains("at most 10,000,000,000");
    }

    @Test
    void wrongValueTypeSaysWhatWasExpected() {
        SpecException e = error("""
        duration_s: 10
        arrivals: {type: poisson, rate: fast}
        lengths: {prompt: {type: fixed, value: 10}, output: {type: fixed, value: 5}}
        """);
        assertThat(e.getMessage()).contains("arrivals.rate").contains("expected a number, got 'fast'");
    }

    @Test
    void missingRequiredSectionsAndConflictingKeysAreReported() {
        assertThat(error("duration_s: 10\narrivals: {type: poisson, rate: 2}\n").getMessage())
                .contains("lengths is required");
        assertThat(error(VALID_TAIL).getMessage()).contains("duration_s is required");
        assertThat(error("duration_s: 10\nrequests: 5\n" + VALID_TAIL).getMessage())
                .contains("requests cannot be given together with duration_s");
        assertThat(error("duration_s: -1\n" + VALID_TAIL).getMessage()).contains("duration_s must be > 0, got -1");
    }

    @Test
    void rateTiersRejectBaseShareAndPopularity() {
        String tiers = """
        duration_s: 10
        arrivals: {type: poisson, rate_tiers: [1.6, 0.8]}
        lengths: {prompt: {type: fixed, value: 10}, output: {type: fixed, value: 5}}
        """;
        assertThat(error(tiers + "adapters: {count: 4, base_share: 0.2}\n").getMessage())
                .contains("adapters.base_share must be 0 with arrivals.rate_tiers");
        assertThat(error(tiers + "adapters: {count: 4, popularity: {type: zipf, exponent: 1}}\n")
                        .getMessage())
                .contains("adapters.popularity cannot be combined with arrivals.rate_tiers");
        assertThat(error(tiers).getMessage()).contains("adapters.count is 0");
        assertThat(error(tiers.replace("rate_tiers: [1.6, 0.8]", "rate: 1, rate_tiers: [1]") + "adapters: {count: 4}\n")
                        .getMessage())
                .contains("rate_tiers cannot be given together with rate");
    }

    @Test
    void listElementErrorsNameTheIndex() {
        SpecException e = error("duration_s: 10\n" + VALID_TAIL + "adapters: {count: 3, ranks: [8, 0, 16]}\n");
        assertThat(e.getMessage()).contains("adapters.ranks[1] must be >= 1, got 0");
    }

    @Test
    void popularityWeightsMustMatchTheAdapterCount() {
        SpecException e = error("duration_s: 10\n" + VALID_TAIL
                + "adapters: {count: 3, popularity: {type: weights, weights: [1, 2]}}\n");
        assertThat(e.getMessage()).contains("popularity.weights must list one weight per adapter (3), got 2");
    }

    @Test
    void emptyDuplicateAndMalformedYamlAreClearErrors() {
        assertThat(error("  \n").getMessage()).contains("the spec is empty");
        assertThat(error("duration_s: 10\nduration_s: 20\n" + VALID_TAIL).getMessage())
                .contains("duration_s");
        assertThat(error("duration_s: 10\narrivals: {type: poisson\n").getMessage())
                .startsWith("spec.yaml:")
                .contains("is not valid YAML");
        assertThat(error("duration_s: [10]\n" + VALID_TAIL).getMessage())
                .isEqualTo("spec.yaml:1: duration_s expected a number, got a list");
    }

    @Test
    void unknownBaseShareAndCapsValuesAreReported() {
        assertThat(error("duration_s: 10\n" + VALID_TAIL + "adapters: {count: 2, base_share: 1.5}\n")
                        .getMessage())
                .contains("adapters.base_share must be <= 1, got 1.5");
        SpecException caps = error("""
        duration_s: 10
        arrivals: {type: poisson, rate: 2}
        lengths: {prompt: {type: fixed, value: 10}, output: {type: fixed, value: 5}, caps: trim}
        """);
        assertThat(caps.getMessage()).contains("lengths.caps").contains("clip, resample");
    }

    @Test
    void everyExampleWorkloadInTheRepositoryParses() throws Exception {
        Path examples = Path.of("..", "examples", "workloads");
        List<Path> specs;
        try (Stream<Path> files = Files.list(examples)) {
            specs = files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        assertThat(specs).hasSizeGreaterThanOrEqualTo(5);
        for (Path p : specs) {
            WorkloadSpec spec = WorkloadSpecs.load(p);
            assertThat(spec.arrivals()).as(p.toString()).isNotNull();
        }
    }

    @Test
    void outputLengthOfTwoToTheSixtyThirdIsRefusedNamingTheKeyAndTheBound() {
        SpecException e = error("""
        duration_s: 10
        arrivals: {type: poisson, rate: 2}
        lengths:
          prompt: {type: fixed, value: 10}
          output: {type: fixed, value: 9223372036854775808}
        """);
        assertThat(e.keyPath()).isEqualTo("lengths.output.value");
        assertThat(e.line()).isEqualTo(5);
        assertThat(e.getMessage()).contains("must be at most 16777216 tokens").contains("9.223372036854776E18");
    }

    @Test
    void hugeMeanPromptLengthAndTooLargeIntegerCapAreRefused() {
        assertThat(error("""
        duration_s: 10
        arrivals: {type: poisson, rate: 2}
        lengths:
          prompt: {type: lognormal, mean: 1e12, std: 5}
          output: {type: fixed, value: 5}
        """).keyPath()).isEqualTo("lengths.prompt.mean");
        assertThat(error("""
        duration_s: 10
        arrivals: {type: poisson, rate: 2}
        lengths:
          prompt: {type: fixed, value: 10}
          output: {type: fixed, value: 5}
          max_output: 9223372036854775808
        """).getMessage()).contains("lengths.max_output").contains("expected an integer");
    }

    @Test
    void invalidUtf8NamesTheFileLineAndOffset(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("latin1.yaml");
        byte[] text = "duration_s: 10\nname: caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1);
        Files.write(file, text);
        assertThatThrownBy(() -> WorkloadSpecs.load(file))
                .isInstanceOfSatisfying(SpecException.class, e -> {
                    assertThat(e.file()).isEqualTo(file);
                    assertThat(e.line()).isEqualTo(2);
                })
                .hasMessageStartingWith(file + ":2: ")
                .hasMessageContaining("is not valid UTF-8: byte 0xe9 at offset 24");
    }
}
