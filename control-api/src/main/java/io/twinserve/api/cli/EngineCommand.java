package io.twinserve.api.cli;

import io.twinserve.engine.backend.cuda.CudaDriver;
import io.twinserve.engine.backend.cuda.CudaUnavailableException;
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

    /** What {@code --backend} takes, for the options' descriptions. */
    static final String BACKENDS =
            "cpu, cuda (an NVIDIA GPU) or auto (cuda where a GPU and its driver are found, else cpu)";

    /**
     * The backend {@code --backend} names: {@code cpu}, or {@code cuda} where a driver and a GPU are found (else
     * one line saying which is missing), or {@code auto} for whichever of the two is there. Anything else is a
     * usage error.
     */
    static String backend(String name, CommandLine command) {
        return switch (name) {
            case "cpu" -> "cpu";
            case "cuda" -> requireCuda();
            case "auto" -> CudaDriver.available() ? "cuda" : "cpu";
            default ->
                throw new CommandLine.ParameterException(
                        command, "--backend: expected " + BACKENDS + ", got '" + name + "'");
        };
    }

    private static String requireCuda() {
        if (CudaDriver.deviceCount() == 0) {
            throw new CudaUnavailableException("CUDA unavailable: the NVIDIA driver sees no GPU; use --backend cpu");
        }
        return "cuda";
    }

    /**
     * {@link #backend} for a command that runs only the CPU backend so far: CUDA, asked for or picked by
     * {@code auto}, is refused with what does run on it.
     */
    static void cpuOnly(String name, String what, CommandLine command) {
        if (backend(name, command).equals("cuda")) {
            throw new CudaUnavailableException(what + " runs the CPU backend only so far; the CUDA backend runs in"
                    + " `twinserve model logits --backend cuda` (docs/engine.md); use --backend cpu");
        }
    }
}
