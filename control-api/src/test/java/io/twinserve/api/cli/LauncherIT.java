package io.twinserve.api.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The launcher script, {@code ./twinserve}, as a user calls it, on the jar this build packaged (run in the verify
 * phase, after the package phase made it). A redirection in the launcher once sent every command's standard error to
 * /dev/null: a bad option exited 2 without a word.
 */
class LauncherIT {
    @Test
    void aCommandsErrorsReachTheCaller() throws Exception {
        Path root = Path.of("").toAbsolutePath().getParent();
        Path launcher = root.resolve("twinserve");
        assumeTrue(
                Files.isRegularFile(root.resolve("control-api/target/twinserve.jar")),
                "no packaged jar (run in the verify phase)");
        // the streams into files: the wait below then bounds the run, and neither pipe can fill and block it
        Path out = Files.createTempFile("launcher", ".out");
        Path err = Files.createTempFile("launcher", ".err");
        ProcessBuilder pb = new ProcessBuilder("bash", launcher.toString(), "bench", "twin", "--repeat=abc")
                .directory(root.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(out.toFile())
                .redirectError(err.toFile());
        pb.environment().remove("TWINSERVE_REBUILD");
        Process p = pb.start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("the launcher ended").isTrue();
        String stderr = Files.readString(err, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(stderr).isEqualTo(2);
        assertThat(stderr).contains("Invalid value for option '--repeat': 'abc' is not an int");
        assertThat(Files.readString(out, StandardCharsets.UTF_8)).isEmpty();
        Files.delete(out);
        Files.delete(err);
    }
}
