package io.twinserve.placement;

import io.twinserve.traces.Provenance;
import io.twinserve.twin.profile.Profiles;
import java.nio.file.Path;
import java.util.List;

/** Small sweeps shared by the placement tests: ten-minute windows so that they run in seconds. */
final class SweepFixtures {
    private SweepFixtures() {}

    /** The study's length shape as a sweep's {@code lengths} entry (indented for a top-level key). */
    static final String STUDY_LENGTHS = """
      lengths:
        - name: study
          lengths:
            prompt: {type: lognormal, mean: 223.5, std: 250}
            output: {type: lognormal, mean: 195.7, std: 180}
            min_prompt: 4
            max_prompt: 1024
            min_output: 4
            max_total: 2048
      """;

    static final String SMALL = """
      name: test-small
      seed: 11
      window_s: 600
      models:
        - {model: llama-3.1-8b, calibrations: [vllm-0.8.5-h100-64gb/llama-3.1-8b]}
      served: [16, 64, 128]
      slots: [16, 64]
      rates: [3.2, 1.6, 0.4, 0.1, 0.025, 0.00625]
      ranks: [[8, 16, 32], [16, 16, 16]]
      replica: {max_num_seqs: 2048, prefix_caching: false}
      """ + STUDY_LENGTHS;

    static Sweep sweep(String yaml) {
        return new Sweep(Sweeps.parse(yaml, Path.of("test.yaml")), Path.of("."), Profiles.builtIn());
    }

    static Dataset run(String yaml, Sweep.Shard shard, int threads) {
        Sweep s = sweep(yaml);
        List<Scenario> scenarios = s.scenarios(shard);
        List<SweepRow> rows = s.run(scenarios, threads, n -> {});
        long sims = rows.stream().filter(SweepRow::fits).count();
        Dataset.Provenance p = new Dataset.Provenance(
                new Provenance(Sweeps.sha256(yaml), s.spec().seed(), "test", "unknown", null, null, null),
                s.spec().name(),
                yaml,
                List.of(),
                s.spec().stopWhenStarving(),
                List.of(shard == null ? "0/1" : shard.toString()),
                s.scenarios(null).size(),
                rows.size(),
                sims,
                rows.stream().filter(r -> r.stoppedAtS() > 0).count(),
                0,
                threads,
                scenarios.size() - rows.size());
        return new Dataset(p, rows);
    }
}
