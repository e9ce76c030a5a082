package io.twinserve.api.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code twinserve engine}: the real inference engine's tools. */
@Command(
        name = "engine",
        mixinStandardHelpOptions = true,
        description = "The real inference engine: profile a backend for the twin, and check the twin against it.",
        subcommands = {EngineProfileCommand.class, EngineValidateCommand.class},
        footer = {
            "",
            "Examples:",
            "  twinserve engine profile --model DIR --backend cpu -o out/cpu-profile",
            "  twinserve engine validate --model DIR --adapter a=A_DIR --profile out/cpu-profile -o out/twin-vs-live"
        })
final class EngineCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /**
     * Fails with what to do when the JVM runs without the Vector API, which the engine's CPU kernels need
     * (the module is still incubating, so the launcher must add it).
     */
    static void requireVectorApi() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            throw new IllegalArgumentException("the CPU backend needs the Vector API: run with"
                    + " JAVA_OPTS='--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED'");
        }
    }

    /** Only the CPU backend exists so far; the CUDA one will plug in here. */
    static void requireCpu(String backend, CommandLine command) {
        if (!"cpu".equals(backend)) {
            throw new CommandLine.ParameterException(
                    command, "--backend: only 'cpu' is available, got '" + backend + "'");
        }
    }
}
