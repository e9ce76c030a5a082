package io.twinserve.api.cli;

import io.twinserve.placement.Dataset;
import io.twinserve.placement.Scenario;
import io.twinserve.placement.Sweep;
import io.twinserve.placement.SweepRow;
import io.twinserve.placement.SweepSpec;
import io.twinserve.placement.Sweeps;
import io.twinserve.traces.Provenance;
import io.twinserve.twin.profile.Profiles;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code twinserve sweep}: run a grid of workloads and configurations through the twin into a dataset. */
@Command(
        name = "sweep",
        mixinStandardHelpOptions = true,
        subcommands = {SweepCommand.Merge.class},
        description = "Run a sweep spec's scenarios (workloads x configurations) through the twin, in parallel on "
                + "all cores, and write a dataset folder: rows.csv (workload features, configuration, "
                + "measured throughput, starvation and latencies per scenario) and provenance.json (version, "
                + "commit, spec, seeds). With no SPEC it runs the built-in study grid (both calibrated "
                + "models; docs/placement.md). --shard K/N runs every N-th scenario from K so that many "
                + "machines share a sweep; 'sweep merge' joins the shards.",
        footer = {
            "",
            "Examples:",
            "  twinserve sweep -o out/study                       # the whole study grid",
            "  twinserve sweep examples/placement/small.yaml -o out/small",
            "  twinserve sweep -o /data/shard-3 --shard 3/16      # one pod of deploy/sweep-job.yaml",
            "  twinserve sweep merge /data/shard-* -o out/study"
        })
final class SweepCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(
            index = "0",
            arity = "0..1",
            paramLabel = "SPEC",
            description = "A sweep spec (.yaml), or a built-in one: study-grid (the default: the adapter-caching"
                    + " study's grid), diverse-grid (the study's grid over three length shapes and two burstinesses, sampled"
                    + " by family) or training-grid (the shipped model's: diverse-grid's shapes on a denser rate ladder, stopping"
                    + " each family after its first served count that misses the SLO).")
    Path file;

    @Option(
            names = {"-o", "--output"},
            paramLabel = "DATASET",
            description = "The dataset folder to write (required).")
    Path output;

    @Option(names = "--shard", paramLabel = "K/N", description = "Run shard K (0-based) of N.")
    String shard;

    @Option(names = "--threads", paramLabel = "N", description = "Simulations in parallel (default: all cores).")
    Integer threads;

    @Option(names = "--model", paramLabel = "NAME", description = "Only the scenarios of this model (repeatable).")
    List<String> onlyModels;

    @Option(
            names = "--sample",
            paramLabel = "N",
            description = "A seeded random sample of N scenarios instead of the grid.")
    Integer sample;

    @Option(names = "--full-windows", description = "Simulate starving runs to the end of their window too (slow).")
    boolean fullWindows;

    @Option(
            names = "--profiles",
            paramLabel = "DIR",
            description = "Extra GPU and model profiles (gpus*.yaml, models*.yaml).")
    Path profilesDir;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (output == null) {
            // not picocli's required=true: that would also demand it of 'sweep merge'
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "Missing required option: '--output=DATASET' (the dataset folder to write)");
        }
        Profiles profiles = WhatIfCommand.profiles(profilesDir);
        String builtIn =
                file == null ? Sweeps.STUDY_GRID : !Files.exists(file) ? Sweeps.BUILT_IN.get(file.toString()) : null;
        String yaml = builtIn != null ? Sweeps.builtInText(builtIn) : Sweeps.read(file);
        Path name = builtIn != null ? Path.of("<built-in " + builtIn + ">") : file;
        Path base = builtIn != null
                ? Path.of("").toAbsolutePath()
                : file.toAbsolutePath().getParent();
        SweepSpec s = Sweeps.parse(yaml, name);
        if (onlyModels != null && !onlyModels.isEmpty()) {
            List<SweepSpec.ModelEntry> kept = new ArrayList<>();
            for (SweepSpec.ModelEntry m : s.models()) {
                if (onlyModels.contains(m.model())) {
                    kept.add(m);
                }
            }
            if (kept.size() != onlyModels.size()) {
                throw new IllegalArgumentException("--model: the spec's models are "
                        + String.join(
                                ", ",
                                s.models().stream()
                                        .map(SweepSpec.ModelEntry::model)
                                        .toList()) + "; got " + onlyModels);
            }
            s = with(s, kept, s.sample(), s.stopWhenStarving());
        }
        if (sample != null || fullWindows) {
            s = with(
                    s,
                    s.models(),
                    sample != null ? sample : s.sample(),
                    fullWindows ? Boolean.FALSE : s.stopWhenStarving());
        }
        // what was actually run goes into the provenance: the spec text plus the command's overrides
        String effective = yaml
                + (onlyModels == null ? "" : "\n# --model " + String.join(" --model ", onlyModels))
                + (sample == null ? "" : "\n# --sample " + sample)
                + (fullWindows ? "\n# --full-windows" : "");
        Sweep.Shard sh = shard == null ? new Sweep.Shard(0, 1) : Sweep.Shard.parse(shard);
        Sweep sweep = new Sweep(s, base, profiles);
        long grid = sweep.scenarios(null).size();
        List<Scenario> scenarios = sweep.scenarios(sh);
        int n = threads != null ? Math.max(1, threads) : Runtime.getRuntime().availableProcessors();
        err.printf(
                Locale.ROOT,
                "%s: %,d scenarios%s on %d threads%n",
                s.name(),
                scenarios.size(),
                sh.count() == 1 ? "" : " (shard " + sh + " of " + grid + ")",
                n);
        err.flush();
        ProgressBar bar = new ProgressBar(err, scenarios.size());
        long start = System.nanoTime();
        List<SweepRow> rows = sweep.run(scenarios, n, bar::update);
        bar.done();
        double seconds = (System.nanoTime() - start) / 1e9;
        long sims = rows.stream().filter(SweepRow::fits).count();
        long stopped = rows.stream().filter(r -> r.stoppedAtS() > 0).count();
        List<String> cals =
                s.models().stream().flatMap(m -> m.calibrations().stream()).toList();
        Dataset.Provenance prov = new Dataset.Provenance(
                Provenance.of(effective, s.seed()),
                s.name(),
                effective,
                cals,
                s.stopWhenStarving(),
                List.of(sh.toString()),
                grid,
                rows.size(),
                sims,
                stopped,
                Math.round(seconds * 10) / 10.0,
                n,
                scenarios.size() - rows.size());
        new Dataset(prov, rows).write(output);
        long starving = rows.stream().filter(SweepRow::starving).count();
        out.printf(
                Locale.ROOT,
                "%s: %,d scenarios, %,d simulations (%,d did not fit), %,d starving (%,d settled early)"
                        + " in %.1f s (%.1f simulations/s on %d threads)%n",
                s.name(),
                rows.size(),
                sims,
                rows.size() - sims,
                starving,
                stopped,
                seconds,
                sims / Math.max(seconds, 1e-9),
                n);
        if (scenarios.size() > rows.size()) {
            out.printf(
                    Locale.ROOT,
                    "%,d more scenarios skipped: served counts past %d after each family's first that misses"
                            + " the SLO (stop_after_miss)%n",
                    scenarios.size() - rows.size(),
                    s.stopAfterMiss());
        }
        out.printf("wrote %s%n", output);
        return 0;
    }

    private static SweepSpec with(SweepSpec s, List<SweepSpec.ModelEntry> models, Integer sample, Boolean stop) {
        return new SweepSpec(
                s.name(),
                s.description(),
                s.seed(),
                s.windowS(),
                models,
                s.pools(),
                s.served(),
                s.slots(),
                s.rates(),
                s.tiers(),
                s.ranks(),
                s.tp(),
                s.kvCacheLen(),
                s.lengths(),
                s.burstiness(),
                s.replica(),
                sample,
                stop,
                sample != null ? null : s.sampleFamilies(),
                sample != null ? null : s.stopAfterMiss(),
                s.slo(),
                s.tierSkew());
    }

    /** A progress bar on a terminal; elsewhere (pod logs) a line every 5%. */
    static final class ProgressBar {
        private final PrintWriter err;
        private final long total;
        private final boolean terminal =
                System.console() != null && System.console().isTerminal();
        private final long startNs = System.nanoTime();
        private long lastNs;
        private long lastStep = -1;

        ProgressBar(PrintWriter err, long total) {
            this.err = err;
            this.total = Math.max(1, total);
        }

        synchronized void update(long done) {
            long now = System.nanoTime();
            double seconds = (now - startNs) / 1e9;
            double eta = done == 0 ? 0 : seconds / done * (total - done);
            if (terminal) {
                if (now - lastNs < 200_000_000L && done < total) {
                    return;
                }
                lastNs = now;
                int width = 30;
                int filled = (int) (width * done / total);
                err.printf(
                        Locale.ROOT,
                        "\r[%s%s] %,d/%,d  %.1f/s  ETA %s   ",
                        "#".repeat(filled),
                        ".".repeat(width - filled),
                        done,
                        total,
                        done / seconds,
                        clock(eta));
                err.flush();
            } else {
                long step = done * 20 / total;
                if (step != lastStep) {
                    lastStep = step;
                    err.printf(
                            Locale.ROOT,
                            "%,d/%,d scenarios (%.0f%%), %.0f s, ETA %s%n",
                            done,
                            total,
                            100.0 * done / total,
                            seconds,
                            clock(eta));
                    err.flush();
                }
            }
        }

        void done() {
            if (terminal) {
                err.print("\r" + " ".repeat(80) + "\r");
                err.flush();
            }
        }

        private static String clock(double s) {
            long t = Math.round(s);
            return String.format(Locale.ROOT, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
        }
    }

    /** {@code twinserve sweep merge}: join the shards of one sweep. */
    @Command(
            name = "merge",
            mixinStandardHelpOptions = true,
            description = "Join the shard folders of one sweep (same spec, every shard once) into one dataset.")
    static final class Merge implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(arity = "1..*", paramLabel = "SHARD", description = "Shard dataset folders.")
        List<Path> shards;

        @Option(
                names = {"-o", "--output"},
                required = true,
                paramLabel = "DATASET",
                description = "The merged dataset folder.")
        Path output;

        @Override
        public Integer call() throws Exception {
            Dataset merged = Dataset.merge(shards);
            merged.write(output);
            spec.commandLine()
                    .getOut()
                    .printf(
                            Locale.ROOT,
                            "merged %d shards: %,d rows, %,d simulations%nwrote %s%n",
                            merged.provenance().shards().size(),
                            merged.rows().size(),
                            merged.provenance().simulations(),
                            output);
            return 0;
        }
    }
}
