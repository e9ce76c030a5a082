package io.twinserve.api.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** what-if --cluster and capacity as a user runs them: tables, JSON, sweeps, plots and bad input. */
class ClusterCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String WORKLOAD = """
      seed: 4
      duration_s: 60
      arrivals: {type: poisson, rate: 3}
      adapters: {count: 8, ranks: [8, 16]}
      lengths: {prompt: {type: lognormal, mean: 300, std: 200}, output: {type: lognormal, mean: 120, std: 80}}
      sessions: {turns: {type: uniform, min: 1, max: 4}, think_time_s: {type: exponential, mean: 5}, block_size: 16}
      """;

    private static Path cluster(Path dir, String router) throws Exception {
        Files.writeString(dir.resolve("w.yaml"), WORKLOAD);
        Path c = dir.resolve("c.yaml");
        Files.writeString(c, """
        pools: [{name: h100, gpu: h100-sxm-80gb, gpus_per_node: 4, nodes: 1, cost_per_gpu_hour: 3.6}]
        deployments:
          - {name: chat, model: llama-3.1-8b, pools: [h100], replicas: {initial: 2}, router: {type: %s},
             replica: {max_adapters: 8}}
        traffic: [{workload: w.yaml}]
        """.formatted(router));
        return c;
    }

    @Test
    void aClusterRunPrintsEachDeploymentItsReplicasAndTheCost(@TempDir Path dir) throws Exception {
        Cli c = Cli.run("what-if", "--cluster", cluster(dir, "cache_aware").toString());
        assertThat(c.exitCode()).as(c.err()).isZero();
        assertThat(c.out())
                .contains("deployment         chat: llama-3.1-8b, router cache_aware")
                .contains("timed out (408")
                .contains("pool h100")
                .contains("total cost");
        Cli j = Cli.run("what-if", "--cluster", cluster(dir, "cache_aware").toString(), "--json");
        JsonNode d = JSON.readTree(j.out()).get("summary").get("deployments").get(0);
        assertThat(d.get("replica_details")).hasSize(2);
        // two GPUs for the 60 s window at 3.6 per GPU-hour
        assertThat(d.get("gpu_hours").asDouble()).isCloseTo(2 * 60 / 3600.0, Offset.offset(1e-6));
        assertThat(d.get("cost").asDouble()).isCloseTo(0.12, Offset.offset(1e-6));
    }

    @Test
    void sessionsSentToADeploymentThatDoesNotCachePrefixesAreNoted(@TempDir Path dir) throws Exception {
        Path c = cluster(dir, "least_loaded");
        Files.writeString(
                c,
                Files.readString(c)
                        .replace("replica: {max_adapters: 8}", "replica: {max_adapters: 8, prefix_caching: false}"));
        Cli off = Cli.run("what-if", "--cluster", c.toString());
        assertThat(off.exitCode()).as(off.err()).isZero();
        assertThat(off.err())
                .contains("note: w.yaml: its multi-turn sessions repeat each earlier turn as the next prompt's prefix")
                .contains("but deployment chat of " + c + " has replica.prefix_caching: false")
                .contains("(a sweep of deployments[0].replica.prefix_caching=true,false compares)");
        // the run's document carries it, as the API's cluster jobs do
        JsonNode doc = JSON.readTree(
                Cli.run("what-if", "--cluster", c.toString(), "--json").out());
        assertThat(doc.get("notices")).hasSize(1);
        assertThat(doc.get("notices").get(0).get("level").asText()).isEqualTo("note");
        // not where the deployment caches prefixes (the default), nor when the sweep compares it
        Cli on = Cli.run("what-if", "--cluster", cluster(dir, "least_loaded").toString(), "--json");
        assertThat(on.err()).doesNotContain("note:");
        assertThat(JSON.readTree(on.out()).has("notices")).isFalse();
        Cli swept = Cli.run(
                "what-if", "--cluster", c.toString(), "--sweep", "deployments[0].replica.prefix_caching=true,false");
        assertThat(swept.exitCode()).as(swept.err()).isZero();
        assertThat(swept.err()).doesNotContain("note:");
        // --workload in place of the spec's traffic is looked at too
        Path plain = dir.resolve("plain.yaml");
        Files.writeString(plain, WORKLOAD.replaceAll("(?m)^\\s*sessions:.*$", ""));
        Cli replaced = Cli.run("what-if", "--cluster", c.toString(), "--workload", plain.toString());
        assertThat(replaced.exitCode()).as(replaced.err()).isZero();
        assertThat(replaced.err()).doesNotContain("note:");
    }

    @Test
    void aRouterSweepPrintsOneRowPerRouterAndDrawsThePlot(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("ttft.png");
        Cli c = Cli.run(
                "what-if",
                "--cluster",
                cluster(dir, "least_loaded").toString(),
                "--sweep",
                "deployments[0].router.type=round_robin,session_affinity,cache_aware",
                "--plot",
                png.toString());
        assertThat(c.exitCode()).as(c.err()).isZero();
        assertThat(c.out()).contains("round_robin").contains("session_affinity").contains("cache_aware");
        assertThat(Files.readAllBytes(png)).startsWith((byte) 0x89, (byte) 'P', (byte) 'N', (byte) 'G');
    }

    @Test
    void aClusterThatCannotBePlacedNamesTheDeploymentAndTheReason(@TempDir Path dir) throws Exception {
        Path c = dir.resolve("bad.yaml");
        Files.writeString(dir.resolve("w.yaml"), WORKLOAD);
        Files.writeString(c, """
        pools: [{name: small, gpu: l4, gpus_per_node: 2, nodes: 1}]
        deployments: [{name: huge, model: llama-3.1-70b, pools: [small], replica: {tp: 2}}]
        traffic: [{workload: w.yaml}]
        """);
        Cli r = Cli.run("what-if", "--cluster", c.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err())
                .contains("deployments[0]")
                .contains("'huge' cannot be placed")
                .contains("insufficient GPU memory")
                .contains("does not fit even at tp 2");
        Files.writeString(c, """
        pools: [{name: small, gpu: l4, gpus_per_node: 2, nodes: 1}]
        deployments: [{name: wide, model: llama-3.2-1b, pools: [small], replica: {tp: 4}}]
        traffic: [{workload: w.yaml}]
        """);
        Cli t = Cli.run("what-if", "--cluster", c.toString());
        assertThat(t.err())
                .contains("'wide' cannot be placed")
                .contains("tp 4 needs 4 GPUs in one node, but its nodes have 2");
    }

    @Test
    void capacitySearchRanksCandidatesAndWritesAParetoPlot(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("w.yaml"), WORKLOAD);
        Path spec = dir.resolve("cap.yaml");
        Files.writeString(spec, """
        name: small-search
        workload: w.yaml
        model: llama-3.1-8b
        replica: {max_adapters: 8}
        pools:
          - {name: h100, gpu: h100-sxm-80gb, gpus_per_node: 2, nodes: 1, cost_per_gpu_hour: 3}
          - {name: a100, gpu: a100-sxm-80gb, gpus_per_node: 2, nodes: 1, cost_per_gpu_hour: 1.8}
        slo: {ttft_p90_ms: 3000}
        search: {replicas: [1, 2]}
        rate: {target_scale: 1, min_scale: 0.5, max_scale: 8, step: 1.5}
        """);
        Path png = dir.resolve("pareto.png");
        Cli c = Cli.run("capacity", spec.toString(), "--plot", png.toString());
        assertThat(c.exitCode()).as(c.err()).isZero();
        assertThat(c.out())
                .contains("small-search: 4 candidates (4 placeable)")
                .contains("meets target")
                .contains("pareto");
        assertThat(Files.readAllBytes(png)).startsWith((byte) 0x89, (byte) 'P', (byte) 'N', (byte) 'G');
        Cli j = Cli.run("capacity", spec.toString(), "--plot", png.toString(), "--json");
        JsonNode first = JSON.readTree(j.out()).get("candidates").get(0);
        assertThat(first.get("meets_target").asBoolean()).isTrue();
        assertThat(first.get("probes").size()).isGreaterThan(0);
    }
}
