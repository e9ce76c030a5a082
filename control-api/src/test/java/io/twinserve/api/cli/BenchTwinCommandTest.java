package io.twinserve.api.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarOutputStream;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bench twin --before}: another build is named by its jar, and what is not one is refused by name. */
class BenchTwinCommandTest {

    @Test
    void aMissingBeforeJarIsRefusedWithItsPath(@TempDir Path dir) {
        Path jar = dir.resolve("no-such.jar");
        Cli r = Cli.run("bench", "twin", "--before", jar.toString());
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.err()).contains("--before " + jar + ": no such file");
    }

    @Test
    void aJarWithoutTheBenchmarkIsRefusedWithWhatWasExpected(@TempDir Path dir) throws Exception {
        Path jar = dir.resolve("other.jar");
        try (var out = new JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new ZipEntry("README"));
            out.write("not twinserve".getBytes(StandardCharsets.UTF_8));
        }
        Cli r = Cli.run("bench", "twin", "--before", jar.toString());
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.err())
                .contains("--before " + jar + ": not a twinserve application jar")
                .contains("io.twinserve.experiments.bench.TwinBenchmark.measure(int, double[], double)");
    }
}
