package io.twinserve.api.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A spec file that is not UTF-8, given to any command that reads one, fails (exit 1) with one line naming the
 * file, the line and the byte offset, never Java's "Input length = 1".
 */
class InvalidUtf8SpecFilesCliTest {
    private static Path latin1(Path dir) throws IOException {
        return Files.write(
                dir.resolve("latin1.yaml"), "# spec\nname: caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1));
    }

    private static void refused(Path file, String... args) {
        Cli cli = Cli.run(args);
        assertThat(cli.exitCode()).as(String.join(" ", args) + ": " + cli.err()).isEqualTo(1);
        assertThat(cli.err())
                .contains(file + ":2: ")
                .contains("is not valid UTF-8: byte 0xe9 at offset 16")
                .doesNotContain("Input length");
    }

    @Test
    void capacitySpec(@TempDir Path dir) throws IOException {
        Path file = latin1(dir);
        refused(file, "capacity", file.toString());
        refused(file, "plan", "--capacity", file.toString());
    }

    @Test
    void workloadAndDeploymentSpecs(@TempDir Path dir) throws IOException {
        Path file = latin1(dir);
        refused(file, "plan", "--workload", file.toString());
        refused(file, "what-if", "--workload", file.toString());
        refused(file, "what-if", "--deployment", file.toString());
        refused(file, "what-if", "--cluster", file.toString());
    }
}
