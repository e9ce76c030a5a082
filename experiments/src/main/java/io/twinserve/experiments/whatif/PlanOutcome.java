package io.twinserve.experiments.whatif;

import com.fasterxml.jackson.annotation.JsonValue;
import io.twinserve.placement.PlacementModel;
import io.twinserve.placement.PlanSearch;
import io.twinserve.placement.PlanTwin;
import io.twinserve.placement.Planner;
import io.twinserve.traces.spec.SloSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A plan and what came of it: the workload's name, the placement model, the SLO it is judged by, the
 * planner's request, the plan and the notes; with verification, the twin's run of the plan, the search
 * downwards when it missed (and the corrected configuration) and upwards for more adapters per GPU (and the
 * improved one), and at the pool's other trained tps the plan the trees give there, its run and searches (and the
 * configuration there that serves more adapters per GPU than the answer at the plan's tp, if one does). Without
 * verification those are null and empty.
 */
public record PlanOutcome(
        String workload,
        PlacementModel model,
        SloSpec slo,
        Planner.Request request,
        Planner.Plan plan,
        List<String> notes,
        PlanTwin.Verification verification,
        List<PlanSearch.Alternative> search,
        PlanSearch.Alternative corrected,
        List<PlanSearch.Alternative> searchUp,
        PlanSearch.Alternative improved,
        SearchEnd searchEnded,
        List<PlanSearch.AtTp> otherTps,
        PlanSearch.Alternative betterTp,
        String deployment) {
    /**
     * Why the downward search ended: a configuration met the SLO, the budget was spent, or every adapter count
     * down to one per GPU missed it.
     */
    public enum SearchEnd {
        MET,
        BUDGET,
        ONE_ADAPTER;

        /** The JSON value. */
        @JsonValue
        public String json() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public PlanOutcome {
        notes = List.copyOf(notes);
        search = List.copyOf(search);
        searchUp = List.copyOf(searchUp);
        otherTps = List.copyOf(otherTps);
    }

    /** The answer at the plan's tp: the better configuration, else the corrected one, else the plan's run if it met. */
    public static PlanSearch.Alternative answerAt(
            Planner.Plan plan,
            PlanTwin.Verification v,
            PlanSearch.Alternative improved,
            PlanSearch.Alternative corrected) {
        if (improved != null) {
            return improved;
        }
        if (corrected != null) {
            return corrected;
        }
        return v != null && v.simulated().fits() && v.verdict().met()
                ? new PlanSearch.Alternative(plan.servedPerGpu(), plan.maxAdapters(), v.simulated(), v.verdict())
                : null;
    }

    /** The answer at the plan's tp ({@link #answerAt}); null without verification or when none met the SLO. */
    public PlanSearch.Alternative atPlanTp() {
        return answerAt(plan, verification, improved, corrected);
    }

    /**
     * Where {@link #answer} comes from: the plan itself (unverified, or its run met the SLO), a configuration of the
     * verification's searches, or none (the plan's run missed the SLO and the searches found nothing that meets it).
     */
    public enum AnswerSource {
        PLAN,
        NONE,
        CORRECTED,
        IMPROVED,
        BETTER_TP;

        /** The JSON value. */
        @JsonValue
        public String json() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * The configuration to deploy: with verification, the configuration at another tp that serves more adapters per
     * GPU, else the better configuration of the search upwards, else the corrected one, else the plan when its run met
     * the SLO, each with the twin's throughput and offered load for it; null when none met it. The plan without
     * verification.
     */
    public Planner.Plan answer() {
        return switch (answerSource()) {
            case PLAN ->
                verification == null
                        ? plan
                        : verified(
                                plan,
                                new PlanSearch.Alternative(
                                        plan.servedPerGpu(),
                                        plan.maxAdapters(),
                                        verification.simulated(),
                                        verification.verdict()));
            case NONE -> null;
            case CORRECTED -> verified(plan, corrected);
            case IMPROVED -> verified(plan, improved);
            case BETTER_TP ->
                verified(
                        otherTps.stream()
                                .filter(a -> a.tp() == betterTp.simulated().tp())
                                .findFirst()
                                .orElseThrow()
                                .plan(),
                        betterTp);
        };
    }

    /** Which configuration {@link #answer} is. */
    public AnswerSource answerSource() {
        if (betterTp != null) {
            return AnswerSource.BETTER_TP;
        }
        if (improved != null) {
            return AnswerSource.IMPROVED;
        }
        if (corrected != null) {
            return AnswerSource.CORRECTED;
        }
        return verification == null
                        || (verification.simulated().fits()
                                && verification.verdict().met())
                ? AnswerSource.PLAN
                : AnswerSource.NONE;
    }

    private static Planner.Plan verified(Planner.Plan base, PlanSearch.Alternative a) {
        return PlanSearch.withConfiguration(base, a)
                .withFigures(
                        a.simulated().throughputTps(),
                        a.simulated().offeredTps(),
                        a.verdict().met(),
                        Map.of(),
                        // the trees' warnings, less the slots lowered to start (the answer's slots are the twin's)
                        base.warnings().stream()
                                .filter(w -> !w.startsWith("max_adapters lowered from"))
                                .toList());
    }

    /** Whether the twin confirmed the plan; false when it was not verified. */
    public boolean confirmed() {
        return verification != null && verification.confirmed();
    }

    /** The JSON of {@code twinserve plan --json}. */
    public Map<String, Object> document() {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("workload", workload);
        doc.put("placement_model", model.source());
        doc.put("slo", slo);
        doc.put("model_slo", model.slo());
        doc.put("request", request);
        doc.put("plan", plan);
        if (deployment != null) {
            doc.put("deployment", deployment);
        }
        doc.put("notes", notes);
        if (verification != null) {
            doc.put("verification", verification);
            doc.put("confirmed", verification.confirmed());
            doc.put("search", search);
            doc.put("corrected", corrected);
            doc.put("search_ended", searchEnded);
            doc.put("search_up", searchUp);
            doc.put("improved", improved);
            doc.put("other_tp", otherTps);
            doc.put("better_tp", betterTp);
            // what autoconfigure applies for this job (the plan's configuration or the one the twin's searches found)
            doc.put("answer", answer());
            doc.put("answer_source", answerSource());
        }
        return doc;
    }
}
