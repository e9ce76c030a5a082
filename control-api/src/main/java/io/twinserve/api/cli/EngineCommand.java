package io.twinserve.api.cli;

import io.twinserve.engine.backend.EngineBackend;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code twinserve engine}: the real inference engine's tools. */
@Command(
        name = "engine",
        mixinStandardHelpOptions = true,
        description = "The real inference engine: profile a backend for the twin, and check the twin against it.",
        subcommands = {EngineProfileCommand.class, EngineValidateCommand.class, EngineKvCapacityCommand.class},
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

    /** What {@code --backend} takes, for the options' descriptions. */
    static final String BACKENDS = EngineBackend.Kind.CHOICES;

    /**
     * The backend {@code --backend} names: {@code cpu}, or {@code cuda} where a driver and a GPU are found (else
     * one line saying which is missing), or {@code auto} for whichever of the two is there. Anything else is a
     * usage error.
     */
    static EngineBackend.Kind backend(String name, CommandLine command) {
        if (!name.equals("cpu") && !name.equals("cuda") && !name.equals("auto")) {
            throw new CommandLine.ParameterException(
                    command, "--backend: expected " + BACKENDS + ", got '" + name + "'");
        }
        EngineBackend.Kind kind = EngineBackend.Kind.named(name, "--backend");
        if (kind == EngineBackend.Kind.CPU) {
            requireVectorApi();
        }
        return kind;
    }
}
