package io.twinserve.api.server.registry;

import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.twinserve.api.db.generated.tables.records.DeploymentsRecord;
import io.twinserve.api.server.Bodies;
import io.twinserve.api.server.auth.AuthFilter;
import io.twinserve.api.server.auth.Role;
import io.twinserve.api.server.inference.DeploymentManager;
import io.twinserve.api.server.inference.DeploymentRuntime;
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
public final class RegistryController {
    private final RegistryService registry;
    private final DeploymentManager deployments;

    public RegistryController(RegistryService registry, DeploymentManager deployments) {
        this.registry = registry;
        this.deployments = deployments;
    }

    @Post("/compute-pools")
    public HttpResponse<Map<String, Object>> createPool(HttpRequest<?> request, @Body byte[] body) {
        AuthFilter.require(request, Role.OPERATOR);
        return HttpResponse.created(registry.createPool(Bodies.object(body)));
    }

    @Get("/compute-pools")
    public List<Map<String, Object>> pools(HttpRequest<?> request) {
        AuthFilter.principal(request);
        return registry.pools();
    }

    @Delete("/compute-pools/{name}")
    public Map<String, Object> deletePool(HttpRequest<?> request, @PathVariable String name) {
        AuthFilter.require(request, Role.OPERATOR);
        registry.deletePool(name);
        return Map.of("name", name, "deleted", true);
    }

    @Post("/models")
    public HttpResponse<Map<String, Object>> createModel(HttpRequest<?> request, @Body byte[] body) {
        AuthFilter.require(request, Role.OPERATOR);
        return HttpResponse.created(registry.createModel(Bodies.object(body)));
    }

    @Get("/models")
    public List<Map<String, Object>> models(HttpRequest<?> request) {
        AuthFilter.principal(request);
        return registry.models();
    }

    @Delete("/models/{name}")
    public Map<String, Object> deleteModel(HttpRequest<?> request, @PathVariable String name) {
        AuthFilter.require(request, Role.OPERATOR);
        registry.deleteModel(name);
        return Map.of("name", name, "deleted", true);
    }

    /** Registers an adapter of a model and loads it in the model's running deployments. */
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

    @Get("/models/{model}/adapters")
    public List<Map<String, Object>> adapters(HttpRequest<?> request, @PathVariable String model) {
        AuthFilter.principal(request);
        return registry.adapters(model);
    }

    @Delete("/models/{model}/adapters/{name}")
    public Map<String, Object> deleteAdapter(
            HttpRequest<?> request, @PathVariable String model, @PathVariable String name) {
        AuthFilter.require(request, Role.OPERATOR);
        registry.deleteAdapter(model, name);
        deployments.adapterRemoved(model, name);
        return Map.of("model", model, "name", name, "deleted", true);
    }

    @Post("/deployments")
    public HttpResponse<Map<String, Object>> deploy(HttpRequest<?> request, @Body byte[] body) {
        AuthFilter.require(request, Role.OPERATOR);
        DeploymentsRecord r = deployments.deploy(registry.draft(Bodies.object(body)));
        return HttpResponse.created(registry.deployment(r, null));
    }

    @Get("/deployments")
    public List<Map<String, Object>> list(HttpRequest<?> request) {
        AuthFilter.principal(request);
        return registry.deploymentRecords().stream()
                .map(r -> registry.deployment(r, null))
                .toList();
    }

    @Get("/deployments/{id}")
    public Map<String, Object> get(HttpRequest<?> request, @PathVariable String id) {
        AuthFilter.principal(request);
        DeploymentsRecord r = registry.deploymentRecord(id);
        Map<String, Object> m = new LinkedHashMap<>(registry.deployment(r, null));
        DeploymentRuntime rt = deployments.get(r.getName());
        if (rt != null) {
            List<Map<String, Object>> replicas = new ArrayList<>();
            for (int i = 0; i < rt.replicaCount(); i++) {
                var s = rt.stats(i);
                Map<String, Object> rep = new LinkedHashMap<>();
                rep.put("replica", i);
                rep.put("in_flight", rt.inFlight(i));
                rep.put("steps", s.steps());
                rep.put("generated_tokens", s.generatedTokens());
                rep.put("preemptions", s.preemptions());
                rep.put("finished", s.finished());
                rep.put("timed_out", s.timedOut());
                replicas.add(rep);
            }
            m.put("replicas", replicas);
            m.put("adapters", new TreeSet<>(rt.adapterNames()));
        }
        return m;
    }

    @Delete("/deployments/{id}")
    public Map<String, Object> undeploy(HttpRequest<?> request, @PathVariable String id) {
        AuthFilter.require(request, Role.OPERATOR);
        DeploymentsRecord r = registry.deploymentRecord(id);
        deployments.undeploy(r);
        return Map.of("name", r.getName(), "deleted", true);
    }
}
