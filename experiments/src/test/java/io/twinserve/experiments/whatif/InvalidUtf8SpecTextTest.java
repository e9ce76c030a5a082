package io.twinserve.experiments.whatif;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.experiments.regression.RegressionSuite;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The specs the experiments read (what-if and plan workloads, regression scenarios) are strict UTF-8: a
 * Latin-1 byte is a {@link SpecException} naming the file, the line and the byte offset.
 */
class InvalidUtf8SpecTextTest {
    private static Path latin1(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        return Files.write(file, "# spec\nname: caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void workloadSpecText(@TempDir Path dir) throws IOException {
        Path file = latin1(dir.resolve("workload.yaml"));
        assertThatThrownBy(() -> SpecText.read(file))
                .isInstanceOf(SpecException.class)
                .hasMessageStartingWith(file + ":2: ")
                .hasMessageContaining("is not valid UTF-8: byte 0xe9 at offset 16");
    }

    @Test
    void regressionScenario(@TempDir Path dir) throws IOException {
        Path file = latin1(dir.resolve("scenarios").resolve("latin1.yaml"));
        assertThatThrownBy(() -> new RegressionSuite(dir, Profiles.builtIn()).check())
                .isInstanceOf(SpecException.class)
                .hasMessageStartingWith(file + ":2: ")
                .hasMessageContaining("is not valid UTF-8: byte 0xe9 at offset 16");
    }
}
