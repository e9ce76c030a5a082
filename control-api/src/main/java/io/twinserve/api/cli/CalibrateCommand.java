package io.twinserve.api.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import io.twinserve.twin.calibrate.Calibrator;
import io.twinserve.twin.calibrate.FitRow;
import io.twinserve.twin.calibrate.SlotBreakdown;
import io.twinserve.twin.perf.Calibration;
import io.twinserve.twin.profile.Profiles;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code twinserve calibrate}: fit the twin to a measurement set and report every row's error. */
@Command(
        name = "calibrate",
        mixinStandardHelpOptions = true,
        description = {
            "Fit the twin's memory and performance parameters to measurements (a folder with setup.yaml and",
            "data/), reproduce every measured row with the fitted twin, print each row's error and write one",
            "calibration file per model. See docs/calibration.md."
        },
        footer = {
            "",
            "Examples:",
            "  twinserve calibrate calibration/vllm-0.8.5-h100-64gb",
            "  twinserve calibrate calibration/vllm-0.8.5-h100-64gb --replay-poisson",
            "  twinserve calibrate calibration/vllm-0.8.5-h100-64gb \\",
            "      -o twin/src/main/resources/io/twinserve/twin/calibrations/vllm-0.8.5-h100-64gb"
        })
final class CalibrateCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FOLDER", description = "A calibration folder (setup.yaml and data/).")
    Path folder;

    @Option(
            names = {"-o", "--output"},
            paramLabel = "DIR",
            description = "Where to write the calibration files (default: out/calibrations/<setup name>).")
    Path output;

    @Option(names = "--json", description = "Print the fit rows as JSON.")
    boolean json;

    @Option(
            names = "--replay-poisson",
            description = "Also replay the scheduler-overhead table's ten-minute Poisson runs in full with the fitted "
                    + "twin and report their completed requests and mean ITL (about a minute on 2 cores).")
    boolean replayPoisson;

    static ObjectMapper yaml() {
        ObjectMapper m = new ObjectMapper(new YAMLFactory()
                .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));
        m.setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
        m.enable(SerializationFeature.INDENT_OUTPUT);
        return m;
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Calibrator calibrator = Calibrator.forFolder(folder, Profiles.builtIn());
        Calibrator.Result result = (replayPoisson ? calibrator.replayingPoissonRuns() : calibrator).run();
        Path dir = output != null
                ? output
                : Path.of(
                        "out",
                        "calibrations",
                        folder.toAbsolutePath().normalize().getFileName().toString());
        Files.createDirectories(dir);
        ObjectMapper yaml = yaml();
        for (Calibration c : result.calibrations()) {
            Path file = dir.resolve(c.model() + ".yaml");
            String header = "# Written by 'twinserve calibrate " + folder + "'. Do not edit: re-run the command.\n";
            Files.writeString(file, header + yaml.writeValueAsString(c));
        }
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("output", dir.toString());
            doc.put("worst", result.worst());
            doc.put("rows", result.rows());
            Map<String, Object> fits = new LinkedHashMap<>();
            for (Calibration c : result.calibrations()) {
                fits.put(
                        c.name(),
                        Map.of(
                                "families",
                                c.fit().path("families"),
                                "leave_one_family_out",
                                c.fit().path("leave_one_family_out")));
            }
            doc.put("fits", fits);
            out.println(Json.write(doc));
            return 0;
        }
        out.printf(
                Locale.ROOT,
                "%-22s %-40s %-40s %-18s %12s %12s %8s%n",
                "model",
                "file",
                "row",
                "quantity",
                "measured",
                "twin",
                "error");
        for (FitRow r : result.rows()) {
            out.printf(
                    Locale.ROOT,
                    "%-22s %-40s %-40s %-18s %12.3f %12.3f %7.2f%%%n",
                    r.model(),
                    r.file(),
                    r.row(),
                    r.quantity(),
                    r.measured(),
                    r.predicted(),
                    r.errorPct());
        }
        Map<String, FitRow> worstPerFile = new LinkedHashMap<>();
        for (FitRow r : result.rows()) {
            worstPerFile.merge(r.file(), r, (a, b) -> Math.abs(b.errorPct()) > Math.abs(a.errorPct()) ? b : a);
        }
        out.println();
        for (FitRow r : worstPerFile.values()) {
            out.printf(
                    Locale.ROOT,
                    "worst in %-40s %7.2f%%  (%s, %s, %s)%n",
                    r.file(),
                    r.errorPct(),
                    r.model(),
                    r.row(),
                    r.quantity());
        }
        for (Calibration c : result.calibrations()) {
            out.println();
            out.printf(
                    Locale.ROOT,
                    "%s: every family in-sample, and held out (fitted without it, then predicted)%n",
                    c.name());
            out.printf(
                    Locale.ROOT,
                    "  %-38s %6s %12s %12s %10s %14s %14s%n",
                    "family",
                    "rows",
                    "mean |err|",
                    "max |err|",
                    "within 5%",
                    "held-out mean",
                    "held-out max");
            Map<String, JsonNode> heldOut = new LinkedHashMap<>();
            c.fit()
                    .path("leave_one_family_out")
                    .forEach(f -> heldOut.put(f.get("family").asText(), f));
            for (JsonNode f : c.fit().path("families")) {
                JsonNode h = heldOut.get(f.get("family").asText());
                out.printf(
                        Locale.ROOT,
                        "  %-38s %6d %11.2f%% %11.2f%% %10d %14s %14s%n",
                        f.get("family").asText(),
                        f.get("rows").asInt(),
                        f.get("mean_abs_error_pct").asDouble(),
                        f.get("max_abs_error_pct").asDouble(),
                        f.get("within_5_pct").asInt(),
                        h == null
                                ? "-"
                                : String.format(
                                        Locale.ROOT,
                                        "%.2f%%",
                                        h.get("mean_abs_error_pct").asDouble()),
                        h == null
                                ? "-"
                                : String.format(
                                        Locale.ROOT,
                                        "%.2f%%",
                                        h.get("max_abs_error_pct").asDouble()));
            }
            for (JsonNode f : c.fit().path("families")) {
                if (f.has("total_rate_error_pct")) {
                    out.printf(
                            Locale.ROOT,
                            "  %-38s total over its runs' rates: %+.2f%%%n",
                            f.get("family").asText(),
                            f.get("total_rate_error_pct").asDouble());
                }
            }
            JsonNode client = c.fit().path("burst_client");
            if (!client.isMissingNode()) {
                out.printf(
                        Locale.ROOT,
                        "  the benchmark client's time around a burst (read from %d prefill bursts, not part of the"
                                + " twin): %.3f ms a request before the engine sees it, %.3f ms after the last token of a one-token burst%n",
                        client.path("runs").asInt(),
                        client.path("before_ms_per_request").asDouble(),
                        client.path("after_ms_per_request").asDouble());
            }
        }
        for (SlotBreakdown b : SlotBreakdown.of(result.rows(), "poisson_runs_")) {
            out.println();
            out.printf(Locale.ROOT, "%s by adapter slots%n", b.family());
            StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "  %-30s", "slots"));
            StringBuilder completed =
                    new StringBuilder(String.format(Locale.ROOT, "  %-30s", "completed/s, total error"));
            StringBuilder itl = new StringBuilder(String.format(Locale.ROOT, "  %-30s", "mean ITL, mean signed error"));
            for (int i = 0; i < b.slots().size(); i++) {
                head.append(String.format(Locale.ROOT, " %7d", b.slots().get(i)));
                completed.append(String.format(
                        Locale.ROOT, " %+6.1f%%", b.completedTotalPct().get(i)));
                itl.append(String.format(
                        Locale.ROOT, " %+6.1f%%", b.itlMeanSignedPct().get(i)));
            }
            out.println(head);
            out.println(completed);
            out.println(itl);
        }
        out.printf(
                Locale.ROOT,
                "wrote %d calibration files to %s%n",
                result.calibrations().size(),
                dir);
        return 0;
    }
}
