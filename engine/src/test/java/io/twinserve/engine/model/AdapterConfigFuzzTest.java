package io.twinserve.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;

/**
 * Coverage-guided fuzzing of PEFT's {@code adapter_config.json}: it either parses into a rank from 1 to
 * {@link LoraAdapter#MAX_RANK} with at least one target projection, or fails with a
 * {@link ModelFileException} naming the file.
 */
class AdapterConfigFuzzTest {
    private static final Path FILE = Path.of("fuzzed", "adapter_config.json");

    @FuzzTest(maxDuration = "10s")
    void parsesOrRefusesNamingTheField(byte[] input) {
        try {
            AdapterConfig c = AdapterConfig.parse(input, FILE);
            assertThat(c.rank()).isBetween(1, LoraAdapter.MAX_RANK);
            assertThat(c.alpha()).isPositive().isFinite();
            assertThat(c.targets()).isNotEmpty();
        } catch (ModelFileException e) {
            assertThat(e.file()).isEqualTo(FILE);
            assertThat(e.getMessage()).startsWith(FILE + ": ");
        }
    }
}
