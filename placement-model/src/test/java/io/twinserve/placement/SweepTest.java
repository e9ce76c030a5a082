package io.twinserve.placement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.traces.spec.DistributionSpec;
import io.twinserve.traces.spec.SloSpec;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.twin.profile.Profiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.assertj.core.data.Offset;
import org.assertj.core.data.Percentage;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SweepTest {
    static Dataset whole;

    @BeforeAll
    static void runOnce() {
        whole = SweepFixtures.run(SweepFixtures.SMALL, null, 2);
    }

    @Test
    void gridHasEveryCombinationWithSlotsUpToServed() {
        // 20 rate triples x 2 rank triples x (1 + 2 + 2) (served, slots <= served)
        assertThat(whole.rows()).hasSize(200);
        assertThat(whole.rows()).allMatch(r -> r.slots() <= r.served());
        assertThat(whole.rows().stream().map(SweepRow::familyKey).distinct().count())
                .isEqualTo(40);
        assertThat(whole.rows()).allMatch(r -> r.rate1() > r.rate2() && r.rate2() > r.rate3());
        // offered load follows the tiers: served/3 adapters at each rate, tokens at the shape's mean
        SweepRow r = whole.rows().stream()
                .filter(x -> x.served() == 64 && x.fits())
                .findFirst()
                .orElseThrow();
        double expected = WorkloadFeatures.of(r).offeredTps();
        assertThat(r.offeredTps()).isCloseTo(expected, Percentage.withPercentage(10));
    }

    @Test
    void sameRowsWhateverTheThreadsAndShards(@TempDir Path dir) throws Exception {
        Dataset one = SweepFixtures.run(SweepFixtures.SMALL, null, 1);
        assertThat(one.rows()).isEqualTo(whole.rows());
        List<Path> shards = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            Path d = dir.resolve("shard-" + k);
            SweepFixtures.run(SweepFixtures.SMALL, new Sweep.Shard(k, 3), 2).write(d);
            shards.add(d);
        }
        Dataset merged = Dataset.merge(shards);
        assertThat(merged.rows()).isEqualTo(whole.rows());
        assertThat(merged.provenance().shards()).containsExactly("0/3", "1/3", "2/3");
        // and written datasets read back unchanged
        whole.write(dir.resolve("all"));
        assertThat(Dataset.read(dir.resolve("all")).rows()).isEqualTo(whole.rows());
    }

    @Test
    void provenanceReadsBackAndDatasetsWrittenBeforeTheSharedRecordStillRead(@TempDir Path dir) throws Exception {
        whole.write(dir.resolve("now"));
        assertThat(Dataset.read(dir.resolve("now")).provenance()).isEqualTo(whole.provenance());
        // a provenance.json as sweeps wrote it before: version, commit, hash and seed at the top level
        whole.write(dir.resolve("before"));
        String before = """
                {"twinserve_version": "0.1.0-SNAPSHOT", "commit": "0123456789abcdef0123456789abcdef01234567",
                 "spec_name": "small", "spec_yaml": "name: small", "spec_sha256": "abc123", "seed": 7,
                 "calibrations": [], "stop_when_starving": true, "shards": ["0/1"], "grid_scenarios": %d,
                 "scenarios": %d, "simulations": %d, "stopped_early": 0, "elapsed_s": 1.5, "threads": 2,
                 "skipped": 0}
                """.formatted(
                        whole.provenance().gridScenarios(),
                        whole.rows().size(),
                        whole.provenance().simulations());
        java.nio.file.Files.writeString(dir.resolve("before").resolve(Dataset.PROVENANCE), before);
        Dataset.Provenance read = Dataset.read(dir.resolve("before")).provenance();
        assertThat(read.twinserveVersion()).isEqualTo("0.1.0-SNAPSHOT");
        assertThat(read.commit()).isEqualTo("0123456789abcdef0123456789abcdef01234567");
        assertThat(read.specSha256()).isEqualTo("abc123");
        assertThat(read.seed()).isEqualTo(7);
        assertThat(read.run().jvm()).isNull();
        assertThat(read.threads()).isEqualTo(2);
    }

    @Test
    void mergeRefusesMissingRepeatedAndForeignShards(@TempDir Path dir) throws Exception {
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        SweepFixtures.run(SweepFixtures.SMALL, new Sweep.Shard(0, 3), 2).write(a);
        SweepFixtures.run(SweepFixtures.SMALL, new Sweep.Shard(1, 3), 2).write(b);
        assertThatThrownBy(() -> Dataset.merge(List.of(a, b))).hasMessageContaining("shards missing: 2/3");
        assertThatThrownBy(() -> Dataset.merge(List.of(a, a))).hasMessageContaining("holds shard 0/3 a second time");
        Path c = dir.resolve("c");
        SweepFixtures.run(SweepFixtures.SMALL.replace("seed: 11", "seed: 12"), new Sweep.Shard(2, 3), 2)
                .write(c);
        assertThatThrownBy(() -> Dataset.merge(List.of(a, b, c))).hasMessageContaining("comes from another sweep spec");
    }

    @Test
    void settledStarvationAgreesWithFullWindows() {
        String full = SweepFixtures.SMALL.replace("replica:", "stop_when_starving: false\nreplica:");
        Dataset exact = SweepFixtures.run(full, null, 2);
        int stopped = 0;
        for (int i = 0; i < whole.rows().size(); i++) {
            SweepRow early = whole.rows().get(i);
            SweepRow ref = exact.rows().get(i);
            assertThat(ref.stoppedAtS()).isZero();
            assertThat(early.starving()).as("scenario %d", i).isEqualTo(ref.starving());
            if (early.stoppedAtS() > 0) {
                stopped++;
            } else {
                assertThat(early).isEqualTo(ref);
            }
        }
        assertThat(stopped).as("runs settled early").isGreaterThan(20);
    }

    @Test
    void badRowsAndSpecsNameTheFileLineAndKey(@TempDir Path dir) throws Exception {
        whole.write(dir);
        List<String> lines = new ArrayList<>(Files.readAllLines(dir.resolve(Dataset.ROWS)));
        lines.set(
                5,
                lines.get(5)
                        .replaceFirst(
                                ",llama-3.1-8b,h100-64gb,h100-64gb,1,", ",llama-3.1-8b,h100-64gb,h100-64gb,one,"));
        Files.write(dir.resolve(Dataset.ROWS), lines);
        assertThatThrownBy(() -> Dataset.read(dir)).hasMessageContaining("rows.csv:6");
        lines.remove(lines.size() - 1);
        assertThatThrownBy(() -> Sweeps.parse(
                        SweepFixtures.SMALL.replace("ranks: [[8, 16, 32],", "ranks: [[8, 16],"), Path.of("s.yaml")))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("ranks[0]")
                .hasMessageContaining("triple");
        assertThatThrownBy(() -> Sweeps.parse(SweepFixtures.SMALL.replace("slots:", "slotz:"), Path.of("s.yaml")))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("slotz");
        assertThatThrownBy(() -> Sweep.Shard.parse("3/3")).hasMessageContaining("0 <= K < N");
    }

    @Test
    void configurationsThatDoNotFitAreRowsWithTheReason(@TempDir Path tmp) throws Exception {
        String big = SweepFixtures.SMALL
                .replace("served: [16, 64, 128]", "served: [16, 384]")
                .replace("slots: [16, 64]", "slots: [384]")
                .replace("ranks: [[8, 16, 32], [16, 16, 16]]", "ranks: [[32, 32, 32]]");
        Dataset d = SweepFixtures.run(big, null, 2);
        assertThat(d.rows()).isNotEmpty().allMatch(r -> !r.fits() && r.note().contains("insufficient GPU memory"));
        // the reason as the memory model words it, commas and thousands separators included, through the dataset's
        // CSV and back (it once turned every comma into a semicolon: "KV cache 15.03 GiB for 123;136 tokens")
        Path dir = tmp.resolve("unfit");
        d.write(dir);
        String note = d.rows().getFirst().note();
        assertThat(note).contains("tokens, fewer than one sequence").contains(" GiB, adapter slots ");
        assertThat(Dataset.read(dir).rows().getFirst().note()).isEqualTo(note);
    }

    @Test
    void familySamplingKeepsEveryConfigurationOfTheFamiliesItDraws() {
        Sweep sampled = SweepFixtures.sweep(SweepFixtures.SMALL.replace("replica:", "sample_families: 7\nreplica:"));
        List<Scenario> scenarios = sampled.scenarios(null);
        // 7 of the 40 families (20 rate triples x 2 rank triples), each with its 5 configurations
        assertThat(scenarios).hasSize(35);
        Map<String, Long> perFamily = scenarios.stream()
                .collect(Collectors.groupingBy(s -> Arrays.toString(s.rates()) + s.ranks(), Collectors.counting()));
        assertThat(perFamily).hasSize(7).allSatisfy((k, v) -> assertThat(v).isEqualTo(5));
        assertThat(sampled.scenarios(null).stream().map(Scenario::index).toList())
                .isEqualTo(scenarios.stream().map(Scenario::index).toList());
        assertThatThrownBy(() -> SweepFixtures.sweep(
                        SweepFixtures.SMALL.replace("replica:", "sample_families: 3\nsample: 4\nreplica:")))
                .hasMessageContaining("sample_families")
                .hasMessageContaining("cannot be combined with sample");
    }

    @Test
    void stopAfterMissSkipsOnlyWhatNoLabelNeeds(@TempDir Path dir) throws Exception {
        String yaml = SweepFixtures.SMALL.replace("replica:", "stop_after_miss: 0\nreplica:");
        Dataset early = SweepFixtures.run(yaml, null, 2);
        Map<Long, SweepRow> full = new HashMap<>();
        whole.rows().forEach(r -> full.put(r.scenario(), r));
        // what it ran is the whole grid's rows, and it ran less
        assertThat(early.rows()).allMatch(r -> r.equals(full.get(r.scenario())));
        assertThat(early.rows().size()).isLessThan(whole.rows().size());
        assertThat(early.provenance().skipped())
                .isEqualTo(whole.rows().size() - early.rows().size());
        // every skipped scenario lies past its family's first served count where nothing meets the SLO
        SloSpec slo = SloSpec.DEFAULTS;
        Set<Long> ran = new HashSet<>();
        early.rows().forEach(r -> ran.add(r.scenario()));
        for (SweepRow r : whole.rows()) {
            if (!ran.contains(r.scenario())) {
                boolean missedBelow = whole.rows().stream()
                        .filter(x -> x.familyKey().equals(r.familyKey()) && x.served() < r.served())
                        .collect(Collectors.groupingBy(SweepRow::served))
                        .values()
                        .stream()
                        .anyMatch(count -> count.stream().noneMatch(x -> x.meets(slo)));
                assertThat(missedBelow).as("scenario %d skipped", r.scenario()).isTrue();
            }
        }
        // the labels are the whole grid's
        assertThat(servedLabels(early.rows(), slo)).isEqualTo(servedLabels(whole.rows(), slo));
        assertThat(Labels.slots(early.rows(), slo).stream()
                        .map(l -> l.example().scenario())
                        .toList())
                .isEqualTo(Labels.slots(whole.rows(), slo).stream()
                        .map(l -> l.example().scenario())
                        .toList());
        // the same rows whatever the threads and shards (a shard holds whole families)
        assertThat(SweepFixtures.run(yaml, null, 1).rows()).isEqualTo(early.rows());
        List<Path> shards = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            Path d = dir.resolve("shard-" + k);
            SweepFixtures.run(yaml, new Sweep.Shard(k, 3), 2).write(d);
            shards.add(d);
        }
        Dataset merged = Dataset.merge(shards);
        assertThat(merged.rows()).isEqualTo(early.rows());
        assertThat(merged.provenance().skipped()).isEqualTo(early.provenance().skipped());
        assertThatThrownBy(() ->
                        SweepFixtures.sweep(SweepFixtures.SMALL.replace("replica:", "stop_after_miss: -1\nreplica:")))
                .hasMessageContaining("stop_after_miss")
                .hasMessageContaining(">= 0");
        assertThatThrownBy(() -> SweepFixtures.sweep(
                        SweepFixtures.SMALL.replace("replica:", "stop_after_miss: 1\nsample: 4\nreplica:")))
                .hasMessageContaining("stop_after_miss")
                .hasMessageContaining("sample_families");
    }

    @Test
    void aLooserSloIsNamedByItsBound() {
        SloSpec strict = SloSpec.DEFAULTS;
        assertThat(strict.looserBoundThan(strict)).isNull();
        assertThat(SloSpec.resolve(new SloSpec(1_000.0, null, null, null, null, null))
                        .looserBoundThan(strict))
                .isNull();
        assertThat(SloSpec.resolve(new SloSpec(null, null, 250.0, null, null, null))
                        .looserBoundThan(strict))
                .isEqualTo("itl_p99_ms");
        assertThat(SloSpec.resolve(new SloSpec(null, null, null, null, 0.9, null))
                        .looserBoundThan(strict))
                .isEqualTo("min_served_share");
        assertThat(SloSpec.resolve(new SloSpec(null, null, null, null, null, false))
                        .looserBoundThan(strict))
                .isEqualTo("no_starvation");
    }

    private static Map<String, Integer> servedLabels(List<SweepRow> rows, SloSpec slo) {
        Map<String, Integer> m = new TreeMap<>();
        for (Labels.Served s : Labels.served(rows, slo)) {
            m.put(s.example().familyKey() + "|" + s.example().placementKey(), s.optimum());
        }
        return m;
    }

    @Test
    void theTrainingGridIsTheDiverseGridOnADenserRateLadderStoppedAtMisses() {
        SweepSpec t = Sweeps.parse(Sweeps.builtInText(Sweeps.TRAINING_GRID), Path.of("training-grid.yaml"));
        SweepSpec d = Sweeps.parse(Sweeps.builtInText(Sweeps.DIVERSE_GRID), Path.of("diverse-grid.yaml"));
        // the diverse grid's three length shapes, then long prompts with long answers (the corner they leave open)
        assertThat(t.lengths().subList(0, d.lengths().size())).isEqualTo(d.lengths());
        assertThat(t.lengths())
                .extracting(SweepSpec.LengthShape::name)
                .containsExactly("study", "sharegpt", "code", "long");
        SweepSpec.LengthShape longShape = t.lengths().getLast();
        assertThat(((DistributionSpec.LogNormal) longShape.lengths().prompt()).mean())
                .isEqualTo(1000.0);
        assertThat(((DistributionSpec.LogNormal) longShape.lengths().output()).mean())
                .isEqualTo(250.0);
        assertThat(t.burstiness()).isEqualTo(d.burstiness());
        assertThat(t.served()).isEqualTo(d.served());
        assertThat(t.ranks()).isEqualTo(d.ranks());
        assertThat(t.rates()).hasSize(16).contains(3.2, 0.003125);
        // a factor of 2^(2/3) between neighbours, to the 4 significant digits written
        for (int i = 1; i < t.rates().size(); i++) {
            assertThat(t.rates().get(i - 1) / t.rates().get(i)).isCloseTo(Math.pow(2, 2.0 / 3), Offset.offset(0.002));
        }
        // even tiers: skewed families at the same sample size planned worse (docs/placement.md)
        assertThat(t.tierSkew()).containsExactly(0.0);
        assertThat(t.stopAfterMiss()).isEqualTo(1);
        assertThat(t.slo()).isEqualTo(SloSpec.DEFAULTS);
        Sweep sweep = new Sweep(t, Path.of("."), Profiles.builtIn());
        // 2,000 families of each model, every served and slot count of each
        assertThat(sweep.scenarios(null)).hasSize(2 * 2000 * 55);
    }

    @Test
    void theDiverseGridSpansLengthShapesAndBurstiness() {
        SweepSpec d = Sweeps.parse(Sweeps.builtInText(Sweeps.DIVERSE_GRID), Path.of("diverse-grid.yaml"));
        assertThat(d.lengths()).extracting(SweepSpec.LengthShape::name).containsExactly("study", "sharegpt", "code");
        assertThat(d.burstiness()).containsExactly(1.0, 2.0);
        Sweep sweep = new Sweep(d, Path.of("."), Profiles.builtIn());
        // 480 families of each model, every served and slot count of each
        assertThat(sweep.scenarios(null)).hasSize(2 * 480 * 55);
    }
}
