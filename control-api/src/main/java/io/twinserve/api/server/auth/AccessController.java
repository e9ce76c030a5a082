package io.twinserve.api.server.auth;

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
import io.twinserve.api.server.Bodies;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Keys and grants (admin only). */
@Controller("/api")
@ExecuteOn(TaskExecutors.BLOCKING)
public final class AccessController {
    private final AccessService access;

    public AccessController(AccessService access) {
        this.access = access;
    }

    /** {@code {"user": "...", "role": "admin|operator|user"}}: the key is in the answer, and only there. */
    @Post("/keys")
    public HttpResponse<AccessService.CreatedKey> createKey(HttpRequest<?> request, @Body byte[] body) {
        AuthFilter.require(request, Role.ADMIN);
        var json = Bodies.object(body);
        String user = Bodies.requiredString(json, "user");
        Role role =
                json.hasNonNull("role") ? Role.parse("role", json.get("role").asText()) : null;
        return HttpResponse.created(access.createKey(user, role));
    }

    @Get("/keys")
    public List<Map<String, Object>> keys(HttpRequest<?> request) {
        AuthFilter.require(request, Role.ADMIN);
        return access.listKeys();
    }

    @Delete("/keys/{id}")
    public Map<String, Object> revokeKey(HttpRequest<?> request, @PathVariable long id) {
        AuthFilter.require(request, Role.ADMIN);
        access.revokeKey(id);
        return Map.of("id", id, "revoked", true);
    }

    /** {@code {"user": "...", "deployment": "...", "adapter": null | "..."}}. */
    @Post("/permissions")
    public HttpResponse<Map<String, Object>> grant(HttpRequest<?> request, @Body byte[] body) {
        AuthFilter.require(request, Role.ADMIN);
        var json = Bodies.object(body);
        String user = Bodies.requiredString(json, "user");
        String deployment = Bodies.requiredString(json, "deployment");
        String adapter = Bodies.optionalString(json, "adapter");
        long id = access.grant(user, deployment, adapter);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("user", user);
        m.put("deployment", deployment);
        m.put("adapter", adapter);
        return HttpResponse.created(m);
    }

    @Get("/permissions")
    public List<Map<String, Object>> grants(HttpRequest<?> request) {
        AuthFilter.require(request, Role.ADMIN);
        return access.listGrants();
    }

    @Delete("/permissions/{id}")
    public Map<String, Object> revokeGrant(HttpRequest<?> request, @PathVariable long id) {
        AuthFilter.require(request, Role.ADMIN);
        access.revokeGrant(id);
        return Map.of("id", id, "revoked", true);
    }
}
