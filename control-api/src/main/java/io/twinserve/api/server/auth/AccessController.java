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
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.ArraySchema;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.parameters.RequestBody;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.tags.Tag;
import io.twinserve.api.server.ApiErrors;
import io.twinserve.api.server.Bodies;
import io.twinserve.api.server.schema.ApiKey;
import io.twinserve.api.server.schema.CreatedKey;
import io.twinserve.api.server.schema.Grant;
import io.twinserve.api.server.schema.GrantCreate;
import io.twinserve.api.server.schema.KeyCreate;
import io.twinserve.api.server.schema.Revoked;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Keys and grants (admin only). */
@Controller("/api")
@ExecuteOn(TaskExecutors.BLOCKING)
@Tag(name = "admin")
@SecurityRequirement(name = "bearer")
@ApiErrors.Unauthorized
@ApiErrors.ServerError
@ApiErrors.Unavailable
public final class AccessController {
    private final AccessService access;

    public AccessController(AccessService access) {
        this.access = access;
    }

    /** {@code {"user": "...", "role": "admin|operator|user"}}: the key is in the answer, and only there. */
    @Operation(operationId = "createKey", summary = "Create a key (admin); the secret is in this answer only")
    @RequestBody(required = true, content = @Content(schema = @Schema(implementation = KeyCreate.class)))
    @ApiResponse(
            responseCode = "201",
            description = "created",
            content = @Content(schema = @Schema(implementation = CreatedKey.class)))
    @ApiErrors.BadRequest
    @ApiErrors.Forbidden
    @ApiErrors.TooLarge
    @Post("/keys")
    public HttpResponse<AccessService.CreatedKey> createKey(HttpRequest<?> request, @Body byte[] body) {
        AuthFilter.require(request, Role.ADMIN);
        var json = Bodies.object(body);
        String user = Bodies.requiredString(json, "user");
        Role role =
                json.hasNonNull("role") ? Role.parse("role", json.get("role").asText()) : null;
        return HttpResponse.created(access.createKey(user, role));
    }

    @Operation(operationId = "listKeys", summary = "List keys, without their secrets (admin)")
    @ApiResponse(
            responseCode = "200",
            description = "every key",
            content = @Content(array = @ArraySchema(schema = @Schema(implementation = ApiKey.class))))
    @ApiErrors.Forbidden
    @Get("/keys")
    public List<Map<String, Object>> keys(HttpRequest<?> request) {
        AuthFilter.require(request, Role.ADMIN);
        return access.listKeys();
    }

    @Operation(operationId = "revokeKey", summary = "Revoke a key (admin), on every instance at once")
    @ApiResponse(
            responseCode = "200",
            description = "revoked",
            content = @Content(schema = @Schema(implementation = Revoked.class)))
    @ApiErrors.Forbidden
    @ApiErrors.NotFound
    @Delete("/keys/{id}")
    public Map<String, Object> revokeKey(HttpRequest<?> request, @PathVariable long id) {
        AuthFilter.require(request, Role.ADMIN);
        access.revokeKey(id);
        return Map.of("id", id, "revoked", true);
    }

    /** {@code {"user": "...", "deployment": "...", "adapter": null | "..."}}. */
    @Operation(
            operationId = "createGrant",
            summary = "Grant a user inference on a deployment or one adapter of it (admin)")
    @RequestBody(required = true, content = @Content(schema = @Schema(implementation = GrantCreate.class)))
    @ApiResponse(
            responseCode = "201",
            description = "created",
            content = @Content(schema = @Schema(implementation = Grant.class)))
    @ApiErrors.BadRequest
    @ApiErrors.Forbidden
    @ApiErrors.NotFound
    @ApiErrors.TooLarge
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

    @Operation(operationId = "listGrants", summary = "List grants (admin)")
    @ApiResponse(
            responseCode = "200",
            description = "every grant",
            content = @Content(array = @ArraySchema(schema = @Schema(implementation = Grant.class))))
    @ApiErrors.Forbidden
    @Get("/permissions")
    public List<Map<String, Object>> grants(HttpRequest<?> request) {
        AuthFilter.require(request, Role.ADMIN);
        return access.listGrants();
    }

    @Operation(operationId = "revokeGrant", summary = "Revoke a grant (admin)")
    @ApiResponse(
            responseCode = "200",
            description = "revoked",
            content = @Content(schema = @Schema(implementation = Revoked.class)))
    @ApiErrors.Forbidden
    @ApiErrors.NotFound
    @Delete("/permissions/{id}")
    public Map<String, Object> revokeGrant(HttpRequest<?> request, @PathVariable long id) {
        AuthFilter.require(request, Role.ADMIN);
        access.revokeGrant(id);
        return Map.of("id", id, "revoked", true);
    }
}
