package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.api.cli.TwinserveCommand;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

/** What the server tests with a live deployment share: the command line, and a tiny random Llama of real files. */
final class TinyModels {
    private TinyModels() {}

    /** Runs a {@code twinserve} command line in this JVM; fails the test, with its error output, unless it exits 0. */
    static void cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = TwinserveCommand.execute(args, new PrintWriter(out), new PrintWriter(err));
        assertThat(code).as("%s: %s", String.join(" ", args), err).isZero();
    }

    /** A random two-layer Llama (hidden 64, vocabulary 300) in {@code dir}; returns it. */
    static Path llama(Path dir) {
        cli(
                "model",
                "init-random",
                "--arch",
                "llama",
                "--layers",
                "2",
                "--hidden",
                "64",
                "--vocab",
                "300",
                "-o",
                dir.toString());
        return dir;
    }
}
