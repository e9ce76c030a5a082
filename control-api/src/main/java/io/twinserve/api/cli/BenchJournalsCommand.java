package io.twinserve.api.cli;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.twinserve.api.server.infra.DataServices;
import io.twinserve.api.server.infra.Dependencies;
import io.twinserve.api.server.infra.Redis;
import io.twinserve.api.server.interactions.Interaction;
import io.twinserve.api.server.interactions.InteractionWriter;
import io.twinserve.api.server.usage.UsageStats;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code twinserve bench journals}: what the crash journals cost a request, against the same recording without them
 * in the same run.
 */
@Command(
        name = "journals",
        mixinStandardHelpOptions = true,
        description = {
            "What the crash journals (usage.journal.*, interactions.journal.*) cost each request: a usage count and an",
            "interaction recorded with their journals and without (a data folder that cannot hold one), in the same",
            "JVM, rounds in turns, on one thread. An embedded Redis is started; no PostgreSQL (interactions queue)."
        },
        footer = {"", "Examples:", "  ./twinserve bench journals", "  ./twinserve bench journals --records 500000"})
final class BenchJournalsCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--records",
            paramLabel = "N",
            defaultValue = "200000",
            description = "Usage counts per round; a quarter as many interactions (default ${DEFAULT-VALUE}).")
    int records;

    @Option(
            names = "--rounds",
            paramLabel = "N",
            defaultValue = "7",
            description = "Rounds of each mode, the median reported (default ${DEFAULT-VALUE}).")
    int rounds;

    @Option(
            names = "--text-bytes",
            paramLabel = "N",
            defaultValue = "800",
            description = "Characters of prompt and of completion text per interaction (default ${DEFAULT-VALUE}).")
    int textBytes;

    @Override
    public Integer call() throws Exception {
        if (records < 4 || rounds < 1 || textBytes < 0) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "--records must be >= 4, --rounds >= 1 and --text-bytes >= 0");
        }
        PrintWriter out = spec.commandLine().getOut();
        Path dir = Files.createTempDirectory("twinserve-bench-journals");
        // the database is never used: only the embedded Redis starts
        DataServices services = DataServices.resolve("postgresql://unused:unused@127.0.0.1:1/unused", null, dir, false);
        Path notAFolder = Files.writeString(dir.resolve("not-a-folder"), "");
        String text = "x".repeat(textBytes);
        double[][] usage = new double[2][rounds];
        double[][] interactions = new double[2][rounds];
        try (Redis redis = new Redis(services.redis().toString(), 1_000)) {
            for (int round = 0; round < rounds; round++) {
                // in turns, each mode first every other round
                for (int k = 0; k < 2; k++) {
                    boolean journal = (round + k) % 2 == 0;
                    Path data = journal ? Files.createDirectories(dir.resolve("round-" + round)) : notAFolder;
                    UsageStats u = new UsageStats(
                            redis,
                            new Dependencies(new SimpleMeterRegistry(), 1, 50),
                            new SimpleMeterRegistry(),
                            data.toString());
                    long t0 = System.nanoTime();
                    for (int i = 0; i < records; i++) {
                        u.record(i % 50, "bench", "adapter-" + (i % 32), 200, 150);
                    }
                    usage[journal ? 1 : 0][round] = (System.nanoTime() - t0) / 1e3 / records;
                    int n = records / 4;
                    InteractionWriter w = new InteractionWriter(
                            DSL.using(SQLDialect.POSTGRES), new SimpleMeterRegistry(), data.toString(), n + 10);
                    OffsetDateTime now = OffsetDateTime.now();
                    List<Interaction> rows = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) {
                        rows.add(new Interaction(
                                "bench-" + round + "-" + k + "-" + i,
                                "chat.completions",
                                "bench",
                                "adapter",
                                1L,
                                200,
                                150,
                                12.5,
                                900.0,
                                200,
                                "length",
                                now,
                                now,
                                text,
                                text));
                    }
                    long t1 = System.nanoTime();
                    for (Interaction row : rows) {
                        w.record(row);
                    }
                    interactions[journal ? 1 : 0][round] = (System.nanoTime() - t1) / 1e3 / n;
                    w.close();
                }
            }
        } finally {
            services.close();
            BenchApiCommand.deleteTree(dir);
        }
        out.printf("%-30s %12s %12s %8s%n", "per request (median)", "in memory", "journaled", "ratio");
        row(out, "usage count", usage);
        row(out, "interaction (" + 2 * textBytes + " chars of text)", interactions);
        out.printf(
                "%d usage counts and %d interactions per round, %d rounds of each, one thread%n",
                records, records / 4, rounds);
        return 0;
    }

    private static void row(PrintWriter out, String what, double[][] us) {
        double plain = median(us[0]);
        double journaled = median(us[1]);
        out.printf("%-30s %9.2f us %9.2f us %7.1fx%n", what, plain, journaled, journaled / plain);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
