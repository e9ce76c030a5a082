package io.twinserve.traces.spec;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;

/**
 * Coverage-guided fuzzing of the workload spec reader (YAML bytes, as read from a file): a spec either
 * parses into a validated {@link WorkloadSpec}, or fails with a {@link SpecException} that names the file
 * and says what was wrong. Anything else (a Jackson or decoding exception, an NPE, a stack overflow) is a
 * crash. Regression inputs: {@code src/test/resources/io/twinserve/traces/spec/
 * WorkloadSpecsFuzzTestInputs/parsesOrRefusesNamingFileAndKey/}.
 */
class WorkloadSpecsFuzzTest {
    private static final Path FILE = Path.of("fuzzed-workload.yaml");

    @FuzzTest(maxDuration = "10s")
    void parsesOrRefusesNamingFileAndKey(byte[] input) {
        try {
            WorkloadSpec spec = WorkloadSpecs.parse(WorkloadSpecs.decode(input, FILE), FILE);
            assertThat(spec).isNotNull();
        } catch (SpecException e) {
            assertThat(e.file()).isEqualTo(FILE);
            assertThat(e.getMessage()).startsWith(FILE.toString()).doesNotContain("com.fasterxml");
            assertThat(e.problem()).isNotBlank();
        }
    }
}
