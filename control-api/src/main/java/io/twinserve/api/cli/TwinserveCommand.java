package io.twinserve.api.cli;

import io.twinserve.engine.backend.cuda.CudaUnavailableException;
import io.twinserve.engine.chat.ChatTemplateException;
import io.twinserve.engine.model.ModelFileException;
import io.twinserve.engine.tokenizer.TokenizerFormatException;
import io.twinserve.traces.format.TraceFormatException;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.twin.memory.InsufficientGpuMemoryException;
import io.twinserve.twin.profile.ProfileException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code twinserve} command: entry point of the application jar. */
@Command(
        name = "twinserve",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {"Plans, simulates and serves LLM inference where many LoRA adapters share one base model.", ""},
        footer = {
            "",
            "Examples:",
            "  twinserve what-if",
            "  twinserve trace gen examples/workloads/chat-sessions.yaml -o out/chat.csv",
            "  twinserve trace stats --json out/chat.csv",
            "  twinserve help trace gen",
            "",
            "Exit codes: 0 success, 1 failure, 2 usage error."
        })
public final class TwinserveCommand implements Runnable {

    /**
     * The subcommands, in the order the usage lists them. Built lazily: picocli reads every command's
     * annotations when it is added, so a run adds only the one it names (the whole tree for usage, help or
     * an unknown name); that is most of a short command's start-up. A switch rather than a map of
     * constructor references, whose lambdas would be spun up at every start.
     */
    private static final List<String> SUBCOMMANDS = List.of(
            "what-if",
            "capacity",
            "sweep",
            "train",
            "plan",
            "trace",
            "calibrate",
            "regress",
            "engine",
            "bench",
            "model",
            "adapter",
            "generate",
            "serve",
            "admin",
            "help");

    private static Object subcommand(String name) {
        return switch (name) {
            case "what-if" -> new WhatIfCommand();
            case "capacity" -> new CapacityCommand();
            case "sweep" -> new SweepCommand();
            case "train" -> new TrainCommand();
            case "plan" -> new PlanCommand();
            case "trace" -> new TraceCommand();
            case "calibrate" -> new CalibrateCommand();
            case "regress" -> new RegressCommand();
            case "engine" -> new EngineCommand();
            case "bench" -> new BenchCommand();
            case "model" -> new ModelCommand();
            case "adapter" -> new AdapterCommand();
            case "generate" -> new GenerateCommand();
            case "serve" -> new ServeCommand();
            case "admin" -> new AdminCommand();
            case "help" -> new CommandLine.HelpCommand();
            default -> throw new IllegalArgumentException("no subcommand " + name);
        };
    }

    /** Every command, as usage and help list them (a test walks it to check each one's usage errors). */
    static CommandLine tree() {
        CommandLine cl = new CommandLine(new TwinserveCommand());
        for (String name : SUBCOMMANDS) {
            cl.addSubcommand(name, subcommand(name));
        }
        return cl;
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command line with the given streams; returns the exit code (used by tests too). */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new TwinserveCommand());
        // added before the settings below, which picocli copies to the subcommands present at the time
        String named = args.length > 0 ? args[0] : "";
        if (named.equals("--version") || named.equals("-V")) {
            // the version needs no subcommand
        } else if (SUBCOMMANDS.contains(named) && !named.equals("help")) {
            cl.addSubcommand(named, subcommand(named));
        } else {
            for (String name : SUBCOMMANDS) {
                cl.addSubcommand(name, subcommand(name));
            }
        }
        cl.setOut(out);
        cl.setErr(err);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            commandLine.getErr().println("error: " + describe(ex));
            if (Boolean.getBoolean("twinserve.debug")) {
                ex.printStackTrace(commandLine.getErr());
            }
            commandLine.getErr().flush();
            return ex instanceof CommandLine.ParameterException ? 2 : 1;
        });
        String unknownTopic = named.equals("help") ? unknownHelpTopic(cl, args) : null;
        if (unknownTopic != null) {
            // picocli's help command ignores what it does not know and prints the top-level usage with exit 0
            err.println((unknownTopic.startsWith("-") ? "Unknown option: '" : "Unknown subcommand: '") + unknownTopic
                    + "'");
            cl.getSubcommands().get("help").usage(err);
            err.flush();
            return 2;
        }
        int code = cl.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    /** The first argument of {@code help ...} that is neither a command below the previous one nor -h/--help. */
    private static String unknownHelpTopic(CommandLine cl, String[] args) {
        CommandLine current = cl;
        for (int i = 1; i < args.length; i++) {
            if (args[i].equals("-h") || args[i].equals("--help")) {
                continue;
            }
            CommandLine sub = current.getSubcommands().get(args[i]);
            if (sub == null) {
                return args[i];
            }
            current = sub;
        }
        return null;
    }

    /** A one-line message for a failure a user can act on; stack traces only with -Dtwinserve.debug. */
    private static String lowerFirst(String s) {
        return s.isEmpty() ? s : Character.toLowerCase(s.charAt(0)) + s.substring(1);
    }

    private static boolean isDirectory(String file) {
        return file != null && java.nio.file.Files.isDirectory(java.nio.file.Path.of(file));
    }

    static String describe(Throwable ex) {
        return switch (ex) {
            case TraceFormatException e -> e.getMessage();
            case InsufficientGpuMemoryException e -> e.getMessage();
            case ProfileException e -> e.getMessage();
            case SpecException e -> e.getMessage();
            case ModelFileException e -> e.getMessage();
            case TokenizerFormatException e -> e.getMessage();
            case ChatTemplateException e -> e.getMessage();
            case CudaUnavailableException e -> e.getMessage();
            case NoSuchFileException e -> e.getFile() + ": " + (e.getReason() == null ? "no such file" : e.getReason());
            case AccessDeniedException e -> e.getFile() + ": permission denied";
            case DirectoryNotEmptyException e -> e.getFile() + ": is a directory (not empty); expected a file path";
            case FileSystemException e ->
                e.getFile() + ": " + (e.getReason() == null ? "cannot be used" : lowerFirst(e.getReason()))
                        + (isDirectory(e.getFile()) ? "; expected a file path" : "");
            case IOException e
            when "Is a directory".equals(e.getMessage()) -> "a path given is a directory; expected a file";
            case IOException e -> e.toString();
            case IllegalArgumentException e -> e.getMessage();
            case UncheckedIOException e -> describe(e.getCause());
            default -> ex.toString();
        };
    }
}
