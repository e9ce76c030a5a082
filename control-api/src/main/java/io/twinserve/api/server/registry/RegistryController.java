package io.twinserve.api.server.registry;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.ArraySchema;
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
import io.twinserve.api.server.inference.DeploymentShadow;
import io.twinserve.api.server.schema.Adapter;
import io.twinserve.api.server.schema.AdapterCreate;
import io.twinserve.api.server.schema.AdapterDeleted;
import io.twinserve.api.server.schema.ComputePool;
import io.twinserve.api.server.schema.ComputePoolCreate;
import io.twinserve.api.server.schema.Deleted;
import io.twinserve.api.server.schema.Deployment;
import io.twinserve.api.server.schema.DeploymentCreate;
import io.twinserve.api.server.schema.Model;
import io.twinserve.api.server.schema.ModelCreate;
import io.twinserve.api.server.schema.ShadowReport;
import io.twinserve.experiments.shadow.ShadowTwin;
import io.twinserve.experiments.shadow.WindowFigures;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The registry: compute pools, models, adapters and deployments. Reading needs any key; changing needs
 * the operator role.
 */
@Controller("/api")
@ExecuteOn(TaskExecutors.BLOCKING)
@Tag(name = "registry")
@SecurityRequirement(name = "bearer")
@ApiErrors.Unauthorized
@ApiErrors.ServerError
@ApiErrors.Unavailable
public final class RegistryController {
    private final RegistryService registry;
    private final DeploymentManager deployments;

    public RegistryController(RegistryService registry, DeploymentManager deployments) {
        this.registry = registry;
        this.deployments = deployments;
    }

    @Operation(operationId = "createComputePool", summary = "Create a compute pool (operator)")
    @RequestBody(required = true, content = @Content(schema = @Schema(implementation = ComputePoolCreate.class)))
    @ApiResponse(
            responseCode = "201",
            description = "created",
            content = @Content(schema = @Schema(implementation = ComputePool.class)))
    @ApiErrors.BadRequest
    @ApiErrors.Forbidden
    @ApiErrors.Conflict
    @ApiErrors.TooLarge
    @Post("/compute-pools")
    public HttpResponse<Map<String, Object>> createPool(HttpRequest<?> request, @Body byte[] body) {
        AuthFilter.require(request, Role.OPERATOR);
        return HttpResponse.created(registry.createPool(Bodies.object(body)));
    }

    @Operation(operationId = "listComputePools", summary = "List compute pools")
    @ApiResponse(
            responseCode = "200",
            description = "every compute pool",
            content = @Content(array = @ArraySchema(schema = @Schema(implementation = ComputePool.class))))
    @Get("/compute-pools")
    public List<Map<String, Object>> pools(HttpRequest<?> request) {
        AuthFilter.principal(request);
        return registry.pools();
    }

    @Operation(operationId = "deleteComputePool", summary = "Delete a compute pool no deployment uses (operator)")
    @ApiResponse(
            responseCode = "200",
            description = "deleted",
            content = @Content(schema = @Schema(implementation = Deleted.class)))
    @ApiErrors.Forbidden
    @ApiErrors.NotFound
    @ApiErrors.Conflict
    @Delete("/compute-pools/{name}")
    public Map<String, Object> deletePool(HttpRequest<?> request, @PathVariable String name) {
        AuthFilter.require(request, Role.OPERATOR);
        registry.deletePool(name);
        return Map.of("name", name, "deleted", true);
    }

    @Operation(operationId = "createModel", summary = "Register a base model (operator)")
    @RequestBody(required = true, content = @Content(schema = @Schema(implementation = ModelCreate.class)))
    @ApiResponse(
            responseCode = "201",
            description = "created",
            content = @Content(schema = @Schema(implementation = Model.class)))
    @ApiErrors.BadRequest
    @ApiErrors.Forbidden
    @ApiErrors.Conflict
    @ApiErrors.TooLarge
    @Post("/models")
    public HttpResponse<Map<String, Object>> createModel(HttpRequest<?> request, @Body byte[] body) {
        AuthFilter.require(request, Role.OPERATOR);
        return HttpResponse.created(registry.createModel(Bodies.object(body)));
    }

    @Operation(operationId = "listModels", summary = "List base models")
    @ApiResponse(
            responseCode = "200",
            description = "every model",
            content = @Content(array = @ArraySchema(schema = @Schema(implementation = Model.class))))
    @Get("/models")
    public List<Map<String, Object>> models(HttpRequest<?> request) {
        AuthFilter.principal(request);
        return registry.models();
    }

    @Operation(operationId = "deleteModel", summary = "Delete a model no deployment serves (operator)")
    @ApiResponse(
            responseCode = "200",
            description = "deleted",
            content = @Content(schema = @Schema(implementation = Deleted.class)))
    @ApiErrors.Forbidden
    @ApiErrors.NotFound
    @ApiErrors.Conflict
    @Delete("/models/{name}")
    public Map<String, Object> deleteModel(HttpRequest<?> request, @PathVariable String name) {
        AuthFilter.require(request, Role.OPERATOR);
        registry.deleteModel(name);
        return Map.of("name", name, "deleted", true);
    }

    /** Registers an adapter of a model and loads it in the model's running deployments. */
    @Operation(
            operationId = "createAdapter",
            summary = "Register an adapter of a model and load it in its running deployments (operator)")
    @RequestBody(required = true, content = @Content(schema = @Schema(implementation = AdapterCreate.class)))
    @ApiResponse(
            responseCode = "201",
            description = "created",
            content = @Content(schema = @Schema(implementation = Adapter.class)))
    @ApiErrors.BadRequest
    @ApiErrors.Forbidden
    @ApiErrors.Conflict
    @ApiErrors.TooLarge
    @ApiErrors.NotFound
    @ApiErrors.Unprocessable
    @Post("/models/{model}/adapters")
    public HttpResponse<Map<String, Object>> createAdapter(
            HttpRequest<?> request, @PathVariable String model, @Body byte[] body) {
        AuthFilter.require(request, Role.OPERATOR);
        Map<String, Object> a = registry.createAdapter(model, Bodies.object(body));
        try {
            deployments.adapterAdded(model, (String) a.get("name"));
        } catch (RuntimeException e) {
            // refused by a running deployment: the registry must not keep it either
            registry.deleteAdapter(model, (String) a.get("name"));
            throw e;
        }
        return HttpResponse.created(a);
    }

    @Operation(operationId = "listAdapters", summary = "List the adapters of a model")
    @ApiResponse(
            responseCode = "200",
            description = "its adapters",
            content = @Content(array = @ArraySchema(schema = @Schema(implementation = Adapter.class))))
    @ApiErrors.NotFound
    @Get("/models/{model}/adapters")
    public List<Map<String, Object>> adapters(HttpRequest<?> request, @PathVariable String model) {
        AuthFilter.principal(request);
        return registry.adapters(model);
    }

    @Operation(operationId = "deleteAdapter", summary = "Delete an adapter and unload it (operator)")
    @ApiResponse(
            responseCode = "200",
            description = "deleted",
            content = @Content(schema = @Schema(implementation = AdapterDeleted.class)))
    @ApiErrors.Forbidden
    @ApiErrors.NotFound
    @ApiErrors.Conflict
    @Delete("/models/{model}/adapters/{name}")
    public Map<String, Object> deleteAdapter(
            HttpRequest<?> request, @PathVariable String model, @PathVariable String name) {
        AuthFilter.require(request, Role.OPERATOR);
        registry.deleteAdapter(model, name);
        deployments.adapterRemoved(model, name);
        return Map.of("model", model, "name", name, "deleted", true);
    }

    @Operation(
            operationId = "createDeployment",
            summary = "Deploy a model, live or simulated, after the memory check (operator)")
    @RequestBody(required = true, content = @Content(schema = @Schema(implementation = DeploymentCreate.class)))
    @ApiResponse(
            responseCode = "201",
            description = "created",
            content = @Content(schema = @Schema(implementation = Deployment.class)))
    @ApiErrors.BadRequest
    @ApiErrors.Forbidden
    @ApiErrors.Conflict
    @ApiErrors.TooLarge
    @ApiErrors.NotFound
    @ApiErrors.Unprocessable
    @Post("/deployments")
    public HttpResponse<Map<String, Object>> deploy(HttpRequest<?> request, @Body byte[] body) {
        AuthFilter.require(request, Role.OPERATOR);
        DeploymentsRecord r = deployments.deploy(registry.draft(Bodies.object(body)));
        return HttpResponse.created(registry.deployment(r, null));
    }

    @Operation(operationId = "listDeployments", summary = "List deployments")
    @ApiResponse(
            responseCode = "200",
            description = "every deployment",
            content = @Content(array = @ArraySchema(schema = @Schema(implementation = Deployment.class))))
    @Get("/deployments")
    public List<Map<String, Object>> list(HttpRequest<?> request) {
        AuthFilter.principal(request);
        Map<String, List<Map<String, Object>>> instances = deployments.instances();
        return registry.deploymentRecords().stream()
                .map(r -> {
                    Map<String, Object> m = new LinkedHashMap<>(registry.deployment(r, null));
                    m.put("instances", instances.getOrDefault(r.getName(), List.of()));
                    return m;
                })
                .toList();
    }

    @Operation(
            operationId = "getDeployment",
            summary = "One deployment by id or name, with its running replicas and adapters")
    @ApiResponse(
            responseCode = "200",
            description = "the deployment",
            content = @Content(schema = @Schema(implementation = Deployment.class)))
    @ApiErrors.NotFound
    @Get("/deployments/{id}")
    public Map<String, Object> get(HttpRequest<?> request, @PathVariable String id) {
        AuthFilter.principal(request);
        DeploymentsRecord r = registry.deploymentRecord(id);
        String notHere = deployments.notStartedHere(r.getName());
        Map<String, Object> m = new LinkedHashMap<>(registry.deployment(r, notHere == null ? null : "failed"));
        if (notHere != null) {
            // what this instance serves: the registry's status stays for the others
            m.put("error", "could not start on this server instance: " + notHere);
        }
        // where it serves: every instance's own report (the registry's status is what every instance is to do)
        m.put("instances", deployments.instances(r.getName()));
        DeploymentRuntime rt = deployments.get(r.getName());
        if (rt != null) {
            List<Map<String, Object>> replicas = new ArrayList<>();
            for (int i = 0; i < rt.replicaCount(); i++) {
                // every figure from one run of the replica: a restart may replace it meanwhile
                var view = rt.view(i);
                var s = view.stats();
                Map<String, Object> rep = new LinkedHashMap<>();
                rep.put("replica", i);
                // a failed replica (its loop stopped after an error, e.g. a device fault) is routed nothing more
                // until its restart, if one is left, replaces it
                rep.put("state", view.state());
                if (view.error() != null) {
                    rep.put("error", view.error());
                }
                rep.put("restarts", view.restarts());
                rep.put("in_flight", view.inFlight());
                rep.put("steps", s.steps());
                rep.put("generated_tokens", s.generatedTokens());
                rep.put("preemptions", s.preemptions());
                rep.put("finished", s.finished());
                rep.put("timed_out", s.timedOut());
                var residency = view.residency();
                rep.put("waiting", residency.waiting());
                rep.put("running", residency.running());
                rep.put("adapters_in_slots", residency.inSlots());
                rep.put("adapters_in_host", residency.inHost());
                replicas.add(rep);
            }
            m.put("replicas", replicas);
            m.put("adapters", new TreeSet<>(rt.adapterNames()));
        }
        return m;
    }

    @Operation(
            operationId = "getDeploymentShadow",
            summary = "A deployment's shadow twin: predicted against measured per window, and its drift alarm")
    @ApiResponse(
            responseCode = "200",
            description = "the shadow twin (enabled false when compute_config.shadow is off)",
            content = @Content(schema = @Schema(implementation = ShadowReport.class)))
    @ApiErrors.NotFound
    @Get("/deployments/{id}/shadow")
    public Map<String, Object> shadow(
            HttpRequest<?> request, @PathVariable String id, @Nullable @QueryValue Integer windows) {
        AuthFilter.principal(request);
        DeploymentsRecord r = registry.deploymentRecord(id);
        int limit = windows == null ? 60 : windows;
        if (limit < 1 || limit > 1440) {
            throw ApiException.badRequest("windows", "'windows' must be from 1 to 1440, got " + limit);
        }
        DeploymentRuntime rt = deployments.get(r.getName());
        DeploymentShadow deploymentShadow = rt == null ? null : rt.shadow();
        ShadowTwin shadow = deploymentShadow == null ? null : deploymentShadow.twin();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("deployment", r.getName());
        m.put("enabled", shadow != null);
        if (shadow == null) {
            return m;
        }
        m.put("settings", shadow.spec().toMap());
        m.put("clock_s", deploymentShadow.clockNs() / 1e9);
        m.put("in_flight", shadow.inFlight());
        ShadowTwin.Alarm a = shadow.alarm();
        Map<String, Object> alarm = new LinkedHashMap<>();
        alarm.put("active", a.active());
        alarm.put("since_window", a.active() ? a.sinceWindow() : null);
        alarm.put("cause", a.cause());
        alarm.put("detail", a.detail());
        m.put("alarm", alarm);
        m.put("alarms_raised", shadow.alarmsRaised());
        List<ShadowTwin.Window> all = shadow.windows();
        List<Map<String, Object>> ws = new ArrayList<>();
        for (ShadowTwin.Window w : all.subList(Math.max(0, all.size() - limit), all.size())) {
            Map<String, Object> wm = new LinkedHashMap<>();
            wm.put("index", w.index());
            wm.put("start_s", w.startS());
            wm.put("end_s", w.endS());
            wm.put("judged", w.judged());
            wm.put("drifting", w.drifting());
            wm.put("measured", figures(w.measured()));
            wm.put("predicted", figures(w.predicted()));
            Map<String, Object> errors = new LinkedHashMap<>();
            for (String f : ShadowTwin.JUDGED) {
                errors.put(f, w.errors().get(f));
            }
            wm.put("errors", errors);
            Map<String, Object> workload = new LinkedHashMap<>();
            workload.put("requests_per_s", w.features().requestsPerS());
            workload.put("mean_prompt_tokens", w.features().meanPromptTokens());
            workload.put("mean_output_tokens", w.features().meanOutputTokens());
            workload.put("adapters", w.features().adapters().size());
            wm.put("workload", workload);
            ws.add(wm);
        }
        m.put("windows", ws);
        List<Map<String, Object>> events = new ArrayList<>();
        for (ShadowTwin.Event e : shadow.events()) {
            Map<String, Object> em = new LinkedHashMap<>();
            em.put("window", e.window());
            em.put("at_s", e.atS());
            em.put("kind", e.kind());
            em.put("cause", e.cause());
            em.put("detail", e.detail());
            events.add(em);
        }
        m.put("events", events);
        return m;
    }

    private static Map<String, Object> figures(WindowFigures f) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("requests", f.requests());
        m.put("output_tokens_per_s", finite(f.outputTokensPerS()));
        m.put("ttft_p50_ms", finite(f.ttftP50Ms()));
        m.put("ttft_p90_ms", finite(f.ttftP90Ms()));
        m.put("itl_mean_ms", finite(f.itlMeanMs()));
        return m;
    }

    private static Double finite(double v) {
        return Double.isFinite(v) ? v : null;
    }

    @Operation(operationId = "deleteDeployment", summary = "Stop and delete a deployment (operator)")
    @ApiResponse(
            responseCode = "200",
            description = "deleted",
            content = @Content(schema = @Schema(implementation = Deleted.class)))
    @ApiErrors.Forbidden
    @ApiErrors.NotFound
    @ApiErrors.Conflict
    @Delete("/deployments/{id}")
    public Map<String, Object> undeploy(HttpRequest<?> request, @PathVariable String id) {
        AuthFilter.require(request, Role.OPERATOR);
        DeploymentsRecord r = registry.deploymentRecord(id);
        deployments.undeploy(r);
        return Map.of("name", r.getName(), "deleted", true);
    }
}
