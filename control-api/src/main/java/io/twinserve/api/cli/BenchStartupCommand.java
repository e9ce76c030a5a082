package io.twinserve.api.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code twinserve bench startup}: how long the command line takes to start, as a user runs it (the
 * launcher script), against the JVM's own empty start on the same jar in the same run.
 */
@Command(
        name = "startup",
        mixinStandardHelpOptions = true,
        description = {
            "Time short commands through the launcher script (process start to exit, the median of --repeat",
            "runs in turns) against the JVM starting an empty main on the application jar in the same run."
        },
        footer = {"", "Example:", "  ./twinserve bench startup --repeat 15"})
final class BenchStartupCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--repeat",
            paramLabel = "N",
            defaultValue = "11",
            description = "Runs of each command, in turns; the median is reported (default ${DEFAULT-VALUE}).")
    int repeat;

    @Option(
            names = "--launcher",
            paramLabel = "FILE",
            defaultValue = "./twinserve",
            description = "The launcher script to time (default ${DEFAULT-VALUE}, run from the repository root).")
    Path launcher;

    @Override
    public Integer call() throws Exception {
        if (repeat < 1) {
            throw new IllegalArgumentException("--repeat must be >= 1, got " + repeat);
        }
        if (!Files.isExecutable(launcher)) {
            throw new IllegalArgumentException("--launcher " + launcher + ": not an executable file (run this from the "
                    + "repository root, or name the twinserve script)");
        }
        Path jar = Path.of(StartupProbe.class
                .getProtectionDomain()
                .getCodeSource()
                .getLocation()
                .toURI());
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String script = launcher.toAbsolutePath().toString();
        Map<String, List<String>> commands = new LinkedHashMap<>();
        commands.put("JVM, empty main (baseline)", List.of(java, "-cp", jar.toString(), StartupProbe.class.getName()));
        commands.put("twinserve --version", List.of(script, "--version"));
        commands.put("twinserve what-if --help", List.of(script, "what-if", "--help"));
        commands.put("twinserve trace stats --help", List.of(script, "trace", "stats", "--help"));
        commands.put("twinserve what-if --window=60", List.of(script, "what-if", "--window=60"));
        // once each first: the launcher prepares its start-up cache after a build, which is not start-up
        for (List<String> c : commands.values()) {
            run(c);
        }
        Map<String, double[]> seconds = new LinkedHashMap<>();
        commands.keySet().forEach(k -> seconds.put(k, new double[repeat]));
        for (int i = 0; i < repeat; i++) {
            for (Map.Entry<String, List<String>> c : commands.entrySet()) {
                seconds.get(c.getKey())[i] = run(c.getValue());
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        out.printf(
                Locale.ROOT,
                "bench startup: JVM %s, %d cores, median of %d runs each, in turns%n",
                Runtime.version(),
                Runtime.getRuntime().availableProcessors(),
                repeat);
        double baseline = median(seconds.values().iterator().next());
        out.printf(Locale.ROOT, "%-34s %9s %9s%n", "command", "seconds", "x empty");
        for (Map.Entry<String, double[]> e : seconds.entrySet()) {
            double m = median(e.getValue());
            out.printf(Locale.ROOT, "%-34s %9.3f %9.2f%n", e.getKey(), m, m / baseline);
        }
        return 0;
    }

    /** Seconds from start to exit of one process; fails on a non-zero exit, with what it printed. */
    private static double run(List<String> command) throws IOException, InterruptedException {
        Path output = Files.createTempFile("twinserve-bench-startup", ".txt");
        try {
            ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(command))
                    .redirectErrorStream(true)
                    .redirectOutput(output.toFile());
            long t0 = System.nanoTime();
            int code = pb.start().waitFor();
            long t1 = System.nanoTime();
            if (code != 0) {
                throw new IllegalStateException(String.join(" ", command) + " exited with " + code + ": "
                        + Files.readString(output).strip());
            }
            return (t1 - t0) / 1e9;
        } finally {
            Files.deleteIfExists(output);
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
