package io.twinserve.experiments.validate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.Projection;
import io.twinserve.engine.model.write.RandomModel;
import io.twinserve.engine.profile.EngineProfile;
import io.twinserve.engine.profile.EngineProfiler;
import io.twinserve.engine.profile.ProfileGrid;
import io.twinserve.traces.Request;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.WorkloadSpecs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The test-sized twin-against-live run: a tiny random model, its quick profile, two adapters and a few
 * dozen requests. It checks that the report is complete and consistent, never how large the error is.
 */
class TwinVsLiveTest {
    @TempDir
    static Path tmp;

    static Path model;
    static Path profile;
    static Map<String, Path> adapters = new LinkedHashMap<>();

    @BeforeAll
    static void profileATinyModel() throws Exception {
        model = tmp.resolve("tiny-llama");
        RandomModel.write(
                new RandomModel.Spec(
                        RandomModel.config(
                                Architecture.LLAMA, 2, 64, 128, 4, 2, 16, 300, DType.BF16, true, 1, List.of(2)),
                        3,
                        1),
                model);
        int[] ranks = {4, 8};
        for (int i = 0; i < ranks.length; i++) {
            Path dir = tmp.resolve("adapter-" + i);
            RandomModel.writeAdapter(
                    model, ranks[i], 2 * ranks[i], List.of(Projection.values()), 30 + i, DType.BF16, dir);
            adapters.put("a" + i, dir);
        }
        profile = tmp.resolve("profile");
        Path scratch = Files.createDirectories(tmp.resolve("scratch"));
        EngineProfiler.Measurements m = EngineProfiler.measure(
                new EngineProfiler.Options(model, 1, 1, ProfileGrid.quick()), scratch, done -> {});
        EngineProfile.write(m, profile, "tiny-llama", Map.of());
    }

    @Test
    void sessionTurnsReuseTheirConversationsPrefixOnBothSides() throws Exception {
        // three turns a session, each prompt the conversation so far (prompt and answer) plus 20 new tokens
        var spec = WorkloadSpecs.parse("""
                seed: 5
                duration_s: 6
                arrivals: {type: poisson, rate: 1}
                adapters: {count: 2, ranks: [4, 8]}
                lengths: {prompt: {type: fixed, value: 20}, output: {type: fixed, value: 6}}
                sessions: {turns: {type: fixed, value: 3}, think_time_s: {type: fixed, value: 1.5}, block_size: 16}
                """, Path.of("sessions.yaml"));
        List<Request> workload = new ArrayList<>();
        try (WorkloadGenerator g = new WorkloadGenerator(spec, null)) {
            for (Request q = g.next(); q != null; q = g.next()) {
                workload.add(q);
            }
        }
        assertThat(workload).anyMatch(q -> q.turnIndex() == 2);
        TwinVsLiveReport r = TwinVsLive.run(
                new TwinVsLive.Setup(model, adapters, profile, null, workload, "sessions", 5, 4, 0),
                Map.of("twinserve", "test"),
                x -> {});
        long prompt = workload.stream().mapToLong(Request::promptTokens).sum();
        assertThat(r.twin().promptTokens()).isEqualTo(prompt);
        assertThat(r.live().promptTokens()).isEqualTo(prompt);
        String cached = r.notes().stream()
                .filter(n -> n.startsWith("prompt tokens served from the prefix cache"))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no prefix-cache note in " + r.notes()));
        // "twin X, live Y": both reuse the earlier turns' blocks
        var m = java.util.regex.Pattern.compile("twin (\\d+), live (\\d+)").matcher(cached);
        assertThat(m.find()).as(cached).isTrue();
        assertThat(Long.parseLong(m.group(1))).as(cached).isPositive();
        assertThat(Long.parseLong(m.group(2))).as(cached).isPositive();
        assertThat(r.notes()).noneMatch(n -> n.contains("were dropped"));
    }

    @Test
    void reportsPredictedAgainstMeasuredFiguresForTheSameRequestsAndTokens(@TempDir Path out) throws Exception {
        List<Request> workload = new SyntheticWorkload(36, 30, 12, 8).generate(List.of("a0", "a1"), 11);
        long outputTokens = workload.stream().mapToLong(Request::outputTokens).sum();
        long promptTokens = workload.stream().mapToLong(Request::promptTokens).sum();
        List<String> status = new ArrayList<>();
        TwinVsLiveReport r = TwinVsLive.run(
                new TwinVsLive.Setup(model, adapters, profile, null, workload, "synthetic", 5, 4, 0),
                Map.of("twinserve", "test"),
                status::add);

        assertThat(status).anyMatch(s -> s.startsWith("twin:")).anyMatch(s -> s.startsWith("live: replaying"));
        // both sides served every request and every token of the workload
        for (SideFigures side : List.of(r.twin(), r.live())) {
            assertThat(side.requests())
                    .as("%s", side == r.twin() ? "twin" : "live")
                    .isEqualTo(36);
            assertThat(side.outputTokens()).isEqualTo(outputTokens);
            assertThat(side.promptTokens())
                    .as("%s: %s", side == r.twin() ? "twin" : "live", side)
                    .isEqualTo(promptTokens);
            assertThat(side.makespanS()).isPositive().isFinite();
            assertThat(side.outputTokensPerS()).isCloseTo(outputTokens / side.makespanS(), within(1e-9));
            assertThat(side.steps()).isPositive();
            assertThat(side.adapterLoads()).isPositive();
        }
        assertThat(r.comparison())
                .extracting(TwinVsLiveReport.Metric::name)
                .containsExactly("output_tokens_per_s", "mean_ttft_ms", "p50_ttft_ms", "mean_latency_ms");
        for (TwinVsLiveReport.Metric m : r.comparison()) {
            assertThat(m.predicted()).as(m.name()).isPositive().isFinite();
            assertThat(m.measured()).as(m.name()).isPositive().isFinite();
            assertThat(m.relativeError())
                    .as(m.name())
                    .isCloseTo(Math.abs(m.predicted() - m.measured()) / m.measured(), within(1e-12));
            assertThat(m.signedRelativeError()).isCloseTo((m.predicted() - m.measured()) / m.measured(), within(1e-12));
        }
        assertThat(r.comparison().get(0).predicted()).isEqualTo(r.twin().outputTokensPerS());
        assertThat(r.comparison().get(0).measured()).isEqualTo(r.live().outputTokensPerS());
        assertThat(r.comparison().get(2).measured()).isEqualTo(r.live().p50TtftMs());
        // the step model was checked on every live step
        assertThat(r.stepModel().steps()).isEqualTo(r.live().steps());
        assertThat(r.stepModel().predictedS()).isPositive();
        assertThat(r.stepModel().measuredS()).isPositive();
        assertThat(r.stepModel().groups())
                .extracting(TwinVsLiveReport.StepGroup::kind)
                .containsExactly("decode only", "with a prefill chunk");
        assertThat(r.stepModel().groups().stream()
                        .mapToLong(TwinVsLiveReport.StepGroup::steps)
                        .sum())
                .isEqualTo(r.stepModel().steps());
        assertThat(r.stepModel().groups().stream()
                        .mapToDouble(TwinVsLiveReport.StepGroup::predictedS)
                        .sum())
                .isCloseTo(r.stepModel().predictedS(), within(1e-9));
        // both sides ran the profile's deployment: the quick grid's largest step is 8 tokens
        assertThat(r.settings().maxNumBatchedTokens()).isEqualTo(8);
        assertThat(r.settings().adapterSlots()).isEqualTo(2);
        assertThat(r.settings().threads()).isEqualTo(1);
        assertThat(r.workload().adapters())
                .extracting(TwinVsLiveReport.AdapterUse::rank)
                .containsExactly(4, 8);
        assertThat(r.workload().adapters().stream()
                        .mapToInt(TwinVsLiveReport.AdapterUse::requests)
                        .sum())
                .isEqualTo(36);

        r.write(out);
        JsonNode json =
                new ObjectMapper().readTree(out.resolve(TwinVsLiveReport.JSON).toFile());
        assertThat(json.path("settings").path("kv_cache_len").asLong())
                .isEqualTo(r.settings().kvCacheTokens());
        assertThat(json.path("comparison")).hasSize(4);
        assertThat(json.path("comparison").get(1).path("relative_error").asDouble())
                .isEqualTo(r.comparison().get(1).relativeError());
        assertThat(json.path("live").path("output_tokens").asLong()).isEqualTo(outputTokens);
        assertThat(json.path("provenance").path("seed").asLong()).isEqualTo(5);
        assertThat(json.path("provenance").path("load_average_before_live").asText())
                .isNotEmpty();
        assertThat(Files.readString(out.resolve(TwinVsLiveReport.MARKDOWN)))
                .contains("| output_tokens_per_s (tokens/s) |")
                .contains("max_num_batched_tokens 8")
                .contains("adapter `a1`: rank 8");
        assertThat(r.summaryLines()).hasSize(7);
        List<String> steps = Files.readAllLines(out.resolve(TwinVsLiveReport.STEPS));
        assertThat(steps.getFirst()).startsWith("step,kind,sequences,new_tokens,");
        assertThat(steps).hasSize((int) r.live().steps() + 1);
        double twinMs = 0;
        for (String line : steps.subList(1, steps.size())) {
            twinMs += Double.parseDouble(line.substring(line.lastIndexOf(',') + 1));
        }
        assertThat(twinMs / 1e3).isCloseTo(r.stepModel().predictedS(), within(1e-3 + 1e-6 * steps.size()));
    }

    @Test
    void refusesAModelThatIsNotTheProfiledOne() throws Exception {
        Path other = tmp.resolve("other-model");
        RandomModel.write(
                new RandomModel.Spec(
                        RandomModel.config(
                                Architecture.LLAMA, 3, 64, 128, 4, 2, 16, 300, DType.BF16, true, 1, List.of(2)),
                        3,
                        1),
                other);
        List<Request> workload = new SyntheticWorkload(2, 10, 4, 2).generate(List.of(), 1);
        assertThatThrownBy(() -> TwinVsLive.run(
                        new TwinVsLive.Setup(other, Map.of(), profile, null, workload, "w", 1, 0, 0),
                        Map.of(),
                        s -> {}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--model " + other)
                .hasMessageContaining("is not the model profiled")
                .hasMessageContaining("3/64/4/2/16/128/300 against the profile's 2/64/4/2/16/128/300");
    }

    @Test
    void refusesAProfileFolderWithoutItsDeploymentNamingTheFile(@TempDir Path empty) throws Exception {
        for (String f : new String[] {"gpus.yaml", "models.yaml", "mlp.csv", "calibration.yaml"}) {
            Files.copy(profile.resolve(f), empty.resolve(f));
        }
        assertThatThrownBy(() -> EngineProfileFolder.read(empty, null))
                .hasMessageContaining(empty.resolve("deployment.yaml").toString())
                .hasMessageContaining("expected a deployment spec");
        assertThatThrownBy(() -> EngineProfileFolder.read(tmp.resolve("nowhere"), null))
                .hasMessageContaining("not a folder")
                .hasMessageContaining("twinserve engine profile");
    }
}
