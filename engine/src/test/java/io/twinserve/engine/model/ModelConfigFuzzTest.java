package io.twinserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;

/**
 * Coverage-guided fuzzing of {@code config.json}: it either parses into a config whose sizes are all
 * positive, or fails with a {@link ModelFileException} that names the file. Anything else is a crash.
 */
class ModelConfigFuzzTest {
    private static final Path FILE = Path.of("fuzzed", "config.json");

    @FuzzTest(maxDuration = "10s")
    void parsesOrRefusesNamingTheField(byte[] input) {
        try {
            ModelConfig c = ModelConfig.parse(input, FILE);
            assertThat(c.hiddenSize()).isPositive();
            assertThat(c.headDim()).isPositive().isEven();
            assertThat(c.numHeads() % c.numKvHeads()).isZero();
            assertThat(c.ropeTheta()).isPositive().isFinite();
            assertThat(c.rmsNormEps()).isPositive().isFinite();
        } catch (ModelFileException e) {
            assertThat(e.file()).isEqualTo(FILE);
            assertThat(e.getMessage()).startsWith(FILE + ": ");
        }
    }
}
