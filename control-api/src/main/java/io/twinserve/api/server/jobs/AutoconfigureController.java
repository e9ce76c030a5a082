package io.twinserve.api.server.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.parameters.RequestBody;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.tags.Tag;
import io.twinserve.api.db.generated.tables.records.DeploymentsRecord;
import io.twinserve.api.server.ApiErrors;
import io.twinserve.api.server.ApiException;
import io.twinserve.api.server.Bodies;
import io.twinserve.api.server.auth.AuthFilter;
import io.twinserve.api.server.auth.Role;
import io.twinserve.api.server.inference.DeploymentManager;
import io.twinserve.api.server.inference.DeploymentRuntime;
import io.twinserve.api.server.registry.Placement;
import io.twinserve.api.server.registry.RegistryService;
import io.twinserve.api.server.schema.Autoconfigure;
import io.twinserve.api.server.schema.Deployment;
import io.twinserve.experiments.report.ReportJson;
import io.twinserve.placement.Planner;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Applies a plan to a deployment ({@code POST /api/deployments/{id}/autoconfigure}): a plan job's answer or a plan
 * object, onto the registry's pools, restarting the deployment without losing a request.
 */
@Controller("/api")
@ExecuteOn(TaskExecutors.BLOCKING)
@Tag(name = "jobs")
@SecurityRequirement(name = "bearer")
@ApiErrors.Unauthorized
@ApiErrors.ServerError
@ApiErrors.Unavailable
public final class AutoconfigureController {
    private final JobService jobs;
    private final RegistryService registry;
    private final DeploymentManager deployments;

    public AutoconfigureController(JobService jobs, RegistryService registry, DeploymentManager deployments) {
        this.jobs = jobs;
        this.registry = registry;
        this.deployments = deployments;
    }

    /**
     * Applies a plan's {@code max_adapters}, {@code tp}, {@code kv_cache_len} and pool to a deployment:
     * {@code {"plan": "<plan job id>"}} (a verified job's {@code answer}: its plan, or the configuration the twin's
     * searches found instead; refused when the twin found none that meets the SLO, unless {@code "force": true}) or
     * {@code {"plan": {...the plan object...}}}, and optionally
     * {@code "compute_pools": [...]} when the plan's pool has another name in the registry.
     */
    @Operation(
            operationId = "autoconfigureDeployment",
            summary = "Apply a plan to a deployment and restart it (operator)")
    @RequestBody(required = true, content = @Content(schema = @Schema(implementation = Autoconfigure.class)))
    @ApiResponse(
            responseCode = "200",
            description = "the reconfigured deployment",
            content = @Content(schema = @Schema(implementation = Deployment.class)))
    @ApiErrors.BadRequest
    @ApiErrors.Forbidden
    @ApiErrors.NotFound
    @ApiErrors.Unprocessable
    @ApiErrors.TooLarge
    @Post("/deployments/{id}/autoconfigure")
    public Map<String, Object> autoconfigure(HttpRequest<?> request, @PathVariable String id, @Body byte[] body) {
        AuthFilter.require(request, Role.OPERATOR);
        ObjectNode json = Bodies.object(body);
        JsonNode plan = json.get("plan");
        if (plan == null || plan.isNull()) {
            throw ApiException.badRequest("plan", "'plan' is required: a plan job id or a plan object");
        }
        boolean force = Boolean.TRUE.equals(Bodies.optionalBoolean(json, "force"));
        if (plan.isTextual()) {
            Map<String, Object> j = jobs.get(plan.asText());
            if (!"plan".equals(j.get("kind")) || !JobService.SUCCEEDED.equals(j.get("status"))) {
                throw ApiException.badRequest(
                        "plan",
                        "job '" + plan.asText() + "' is not a finished plan (kind " + j.get("kind") + ", status "
                                + j.get("status") + ")");
            }
            // a verified plan's answer: the configuration the twin's searches found when they corrected or bettered it
            JsonNode result = (JsonNode) j.get("result");
            if ("none".equals(result.path("answer_source").asText()) && !force) {
                throw new ApiException(
                        HttpStatus.UNPROCESSABLE_ENTITY,
                        "invalid_request_error",
                        "plan",
                        "plan_misses_slo",
                        "plan job '" + plan.asText()
                                + "' was verified: the twin's run of its configuration missed the SLO"
                                + " and its search found none that meets it (search ended: "
                                + result.path("search_ended").asText("-")
                                + "); plan again with a larger search budget or a looser SLO, or pass \"force\": true"
                                + " to apply the plan as it is");
            }
            plan = result.path("answer").isObject() ? result.get("answer") : result.get("plan");
        }
        if (plan == null || !plan.isObject()) {
            throw ApiException.badRequest("plan", "'plan' must be a plan job id or a plan object");
        }
        DeploymentsRecord r = registry.deploymentRecord(id);
        ObjectNode cc = registry.computeConfigOf(r);
        // a hand-made plan object must name the three settings; a plan job's result always does
        if (plan.path("max_adapters").asInt(0) < 1
                || plan.path("tp").asInt(0) < 1
                || plan.path("kv_cache_len").asInt(-1) < 0) {
            throw ApiException.badRequest(
                    "plan",
                    "the plan must carry max_adapters >= 1, tp >= 1 and kv_cache_len >= 0"
                            + " (0: derived from memory), got " + plan);
        }
        Planner.Plan typed = typedPlan(plan);
        int maxAdapters = typed.maxAdapters();
        int tp = typed.tp();
        int kv = typed.kvCacheLen();
        cc.put("max_adapters", maxAdapters);
        if (cc.path("max_cpu_adapters").asInt(Integer.MAX_VALUE) < maxAdapters) {
            cc.put("max_cpu_adapters", maxAdapters);
        }
        cc.put("tp", tp);
        // the slots are reserved at the largest rank the workload's adapters have (max_lora_rank); a plan without
        // its workload's features (a hand-made one) keeps the deployment's
        int maxRank = typed.features() == null || typed.features().ranks() == null
                ? 0
                : Arrays.stream(typed.features().ranks()).max().orElse(0);
        if (maxRank > 0) {
            // never below an adapter the deployment serves: a smaller slot rank would drop it without a word
            cc.put("max_adapter_rank", Math.max(maxRank, registeredMaxRank(r.getModelId())));
        }
        if (kv > 0) {
            cc.put("kv_cache_len", kv);
        } else {
            cc.remove("kv_cache_len");
        }
        Placement old = registry.placementOf(r);
        List<String> pools = new ArrayList<>();
        JsonNode override = json.get("compute_pools");
        if (override != null && override.isArray() && !override.isEmpty()) {
            override.forEach(n -> pools.add(n.asText()));
        } else {
            String planPool = typed.pool() == null ? "" : typed.pool();
            boolean known = registry.pools().stream().anyMatch(p -> planPool.equals(p.get("name")));
            if (!known) {
                throw ApiException.badRequest(
                        "compute_pools",
                        "the plan places the deployment on pool '" + planPool
                                + "', which the registry does not have; create it (POST /api/compute-pools) or pass 'compute_pools'");
            }
            pools.add(planPool);
        }
        for (String pool : pools) {
            registry.poolRecord(pool);
        }
        // a plan names its replicas when it answers a capacity question; 0 (absent) keeps the deployment's
        int replicas = Math.max(old.minReplicas(), typed.replicas() > 0 ? typed.replicas() : old.minReplicas());
        Placement placement =
                new Placement(pools, old.maxTtftMs(), replicas, Math.max(replicas, old.maxReplicas()), old.router());
        return registry.deployment(deployments.reconfigure(r, cc, placement), null);
    }

    /** The planner's own record of a plan, read back from a plan job's JSON (or a hand-made plan object). */
    private static Planner.Plan typedPlan(JsonNode plan) {
        try {
            return PLAN_JSON.treeToValue(plan, Planner.Plan.class);
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("plan", "the plan could not be read: " + e.getOriginalMessage());
        }
    }

    /** As the plan's JSON was written (snake_case keys); fields a hand-made plan leaves out stay empty. */
    private static final ObjectMapper PLAN_JSON =
            ReportJson.MAPPER.copy().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    /** The largest rank of the adapters registered on model {@code modelId} (0 when none, or none readable). */
    private int registeredMaxRank(long modelId) {
        int max = 0;
        for (var a : registry.adapterRecords(modelId)) {
            try {
                max = Math.max(max, DeploymentRuntime.AdapterDef.of(a).knownRank());
            } catch (RuntimeException e) {
                // an unreadable adapter is refused by the replicas themselves, and named there
            }
        }
        return max;
    }
}
