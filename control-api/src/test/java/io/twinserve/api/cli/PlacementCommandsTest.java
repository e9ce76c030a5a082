package io.twinserve.api.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** sweep, sweep merge, train and plan from the command line, as a user runs them. */
class PlacementCommandsTest {
  static final String SPEC = """
      name: cli-small
      seed: 2
      window_s: 600
      models:
        - {model: llama-3.1-8b, calibrations: [vllm-0.8.5-h100-64gb/llama-3.1-8b]}
      served: [16, 64, 128]
      slots: [16, 64]
      rates: [3.2, 1.6, 0.4, 0.1, 0.025, 0.00625]
      ranks: [[8, 16, 32]]
      lengths:
        - name: study
          lengths:
            prompt: {type: lognormal, mean: 223.5, std: 250}
            output: {type: lognormal, mean: 195.7, std: 180}
            min_prompt: 4
            max_prompt: 1024
            min_output: 4
            max_total: 2048
      replica: {max_num_seqs: 2048, prefix_caching: false}
      """;

  @Test
  void sweepShardsMergeTrainAndPlan(@TempDir Path dir) throws Exception {
    Path spec = dir.resolve("spec.yaml");
    Files.writeString(spec, SPEC);
    for (int k = 0; k < 2; k++) {
      Cli c = Cli.run("sweep", spec.toString(), "-o", dir.resolve("shard-" + k).toString(), "--shard", k + "/2");
      assertThat(c.exitCode()).as(c.err()).isZero();
      assertThat(c.out()).contains("cli-small: 50 scenarios");
    }
    Cli merge = Cli.run("sweep", "merge", dir.resolve("shard-0").toString(), dir.resolve("shard-1").toString(), "-o",
        dir.resolve("all").toString());
    assertThat(merge.exitCode()).as(merge.err()).isZero();
    assertThat(merge.out()).contains("merged 2 shards: 100 rows");
    assertThat(Files.readString(dir.resolve("all/provenance.json"))).contains("\"spec_sha256\"").contains("\"commit\"");

    Cli train = Cli.run("train", dir.resolve("all").toString(), "-o", dir.resolve("model").toString(), "--folds", "3");
    assertThat(train.exitCode()).as(train.err()).isZero();
    assertThat(train.out()).contains("served").contains("slots").contains("throughput").contains("starving");

    Path workload = dir.resolve("w.yaml");
    Files.writeString(workload, """
        name: w
        seed: 1
        duration_s: 600
        arrivals: {type: poisson, rate_tiers: [0.4, 0.1, 0.025]}
        adapters: {count: 48, ranks: [8, 16, 32]}
        lengths:
          prompt: {type: lognormal, mean: 223.5, std: 250}
          output: {type: lognormal, mean: 195.7, std: 180}
          min_prompt: 4
          max_prompt: 1024
          min_output: 4
          max_total: 2048
        """);
    Cli plan = Cli.run("plan", "--workload", workload.toString(), "--model", dir.resolve("model").toString(), "--verify");
    assertThat(plan.exitCode()).as(plan.err()).isZero();
    assertThat(plan.out()).contains("served adapters per GPU").contains("why (the trees' paths)")
        .contains("verification: one replica of the plan in the twin");

    Cli unknown = Cli.run("plan", "--model", dir.resolve("model").toString(), "--feature", "temperature=3");
    assertThat(unknown.exitCode()).isNotZero();
    assertThat(unknown.err()).contains("unknown feature 'temperature'");

    Files.writeString(dir.resolve("model/served.tribuo"), "not a model");
    Cli corrupt = Cli.run("plan", "--model", dir.resolve("model").toString());
    assertThat(corrupt.exitCode()).isNotZero();
    assertThat(corrupt.err()).contains("served.tribuo").contains("not a readable Tribuo model");
  }

  @Test
  void shippedModelPlansTheBuiltInWorkload() {
    Cli plan = Cli.run("plan", "--json");
    assertThat(plan.exitCode()).as(plan.err()).isZero();
    assertThat(plan.out()).contains("\"served_per_gpu\"").contains("\"max_adapters\"").contains("\"throughput_tps\"");
  }
}
