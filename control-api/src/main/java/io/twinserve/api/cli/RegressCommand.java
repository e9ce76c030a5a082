package io.twinserve.api.cli;

import io.twinserve.experiments.regression.RegressionSuite;
import io.twinserve.twin.profile.Profiles;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code twinserve regress}: the regression suite of simulated scenarios against their goldens. */
@Command(
        name = "regress",
        mixinStandardHelpOptions = true,
        description = {
            "Run the regression scenarios (experiments/regression/scenarios) and compare each result with its",
            "golden exactly. Exit code 1 on any difference. --update rewrites the goldens and prints what changed."
        },
        footer = {"", "Examples:", "  twinserve regress", "  twinserve regress --update"})
final class RegressCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--update", description = "Rewrite the goldens with the current results.")
    boolean update;

    @Option(
            names = "--dir",
            paramLabel = "DIR",
            defaultValue = "experiments/regression",
            description = "The suite folder (default ${DEFAULT-VALUE}).")
    Path dir;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        RegressionSuite suite = new RegressionSuite(dir, Profiles.builtIn());
        List<RegressionSuite.Result> results = update ? suite.update() : suite.check();
        int failed = 0;
        for (RegressionSuite.Result r : results) {
            if (r.passed()) {
                out.printf("%-32s %s%n", r.name(), update ? "unchanged" : "ok");
                continue;
            }
            failed++;
            out.printf("%-32s %s%n", r.name(), update ? "updated:" : "DIFFERS:");
            for (String d : r.differences()) {
                out.println("    " + d);
            }
        }
        if (update) {
            out.printf("%d scenarios, %d goldens changed%n", results.size(), failed);
            return 0;
        }
        out.printf("%d scenarios, %d differ%n", results.size(), failed);
        return failed == 0 ? 0 : 1;
    }
}
