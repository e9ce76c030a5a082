package io.twinserve.api.server.inference;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
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
import io.twinserve.api.db.generated.tables.records.ModelsRecord;
import io.twinserve.api.server.ApiErrors;
import io.twinserve.api.server.ApiException;
import io.twinserve.api.server.Bodies;
import io.twinserve.api.server.auth.AuthFilter;
import io.twinserve.api.server.auth.Role;
import io.twinserve.api.server.registry.RegistryService;
import io.twinserve.api.server.schema.LoraLoad;
import io.twinserve.api.server.schema.LoraUnload;
import java.util.List;

/**
 * vLLM's dynamic adapter endpoints: {@code {"lora_name", "lora_path"}} (or {@code "rank"} for a
 * profile-only adapter), plus {@code "model"} naming the deployment when there is more than one. The
 * adapter is registered on the deployment's model, so it survives a restart and serves on every
 * deployment of that model. Operator role.
 */
@Controller("/v1")
@ExecuteOn(TaskExecutors.BLOCKING)
@Tag(name = "openai")
@SecurityRequirement(name = "bearer")
@ApiErrors.Unauthorized
@ApiErrors.ServerError
@ApiErrors.Unavailable
public final class LoraController {
    private final RegistryService registry;
    private final DeploymentManager deployments;

    public LoraController(RegistryService registry, DeploymentManager deployments) {
        this.registry = registry;
        this.deployments = deployments;
    }

    @Operation(
            operationId = "loadLoraAdapter",
            summary = "Load an adapter (vLLM's endpoint; operator): registered on the deployment's model")
    @RequestBody(required = true, content = @Content(schema = @Schema(implementation = LoraLoad.class)))
    @ApiResponse(
            responseCode = "200",
            description = "Success: LoRA adapter 'NAME' added successfully.",
            content = @Content(mediaType = "text/plain", schema = @Schema(type = "string")))
    @ApiErrors.BadRequest
    @ApiErrors.Forbidden
    @ApiErrors.NotFound
    @ApiErrors.Conflict
    @ApiErrors.Unprocessable
    @ApiErrors.TooLarge
    @Post("/load_lora_adapter")
    public HttpResponse<String> load(HttpRequest<?> request, @Body byte[] body) {
        AuthFilter.require(request, Role.OPERATOR);
        ObjectNode json = Bodies.object(body);
        String name = Bodies.requiredString(json, "lora_name");
        ModelsRecord model = modelOf(json);
        ObjectNode adapter = Bodies.JSON.createObjectNode();
        adapter.put("name", name);
        if (json.hasNonNull("lora_path")) {
            adapter.put("path", Bodies.requiredString(json, "lora_path"));
        }
        if (json.hasNonNull("rank")) {
            adapter.set("rank", json.get("rank"));
        }
        registry.createAdapter(model.getName(), adapter);
        try {
            deployments.adapterAdded(model.getName(), name);
        } catch (RuntimeException e) {
            // refused by a running deployment: the registry must not keep it either
            registry.deleteAdapter(model.getName(), name);
            throw e;
        }
        return HttpResponse.ok("Success: LoRA adapter '" + name + "' added successfully.")
                .contentType(MediaType.TEXT_PLAIN_TYPE);
    }

    @Operation(operationId = "unloadLoraAdapter", summary = "Unload an adapter (vLLM's endpoint; operator)")
    @RequestBody(required = true, content = @Content(schema = @Schema(implementation = LoraUnload.class)))
    @ApiResponse(
            responseCode = "200",
            description = "Success: LoRA adapter 'NAME' removed successfully.",
            content = @Content(mediaType = "text/plain", schema = @Schema(type = "string")))
    @ApiErrors.BadRequest
    @ApiErrors.Forbidden
    @ApiErrors.NotFound
    @ApiErrors.TooLarge
    @Post("/unload_lora_adapter")
    public HttpResponse<String> unload(HttpRequest<?> request, @Body byte[] body) {
        AuthFilter.require(request, Role.OPERATOR);
        ObjectNode json = Bodies.object(body);
        String name = Bodies.requiredString(json, "lora_name");
        ModelsRecord model = modelOf(json);
        registry.deleteAdapter(model.getName(), name);
        deployments.adapterRemoved(model.getName(), name);
        return HttpResponse.ok("Success: LoRA adapter '" + name + "' removed successfully.")
                .contentType(MediaType.TEXT_PLAIN_TYPE);
    }

    private ModelsRecord modelOf(ObjectNode json) {
        String deployment = Bodies.optionalString(json, "model");
        DeploymentsRecord d;
        if (deployment != null) {
            d = registry.deploymentRecord(
                    deployment.contains(":") ? deployment.substring(0, deployment.indexOf(':')) : deployment);
        } else {
            List<DeploymentsRecord> all = registry.deploymentRecords();
            if (all.size() != 1) {
                throw ApiException.badRequest(
                        "model",
                        "'model' is required: the deployment to load the adapter on (" + all.size()
                                + " deployments exist)");
            }
            d = all.get(0);
        }
        return registry.modelRecord(d.getModelId());
    }
}
