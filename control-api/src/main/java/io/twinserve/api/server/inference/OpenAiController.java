package io.twinserve.api.server.inference;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micronaut.context.annotation.Value;
import io.micronaut.core.annotation.NonBlocking;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.Produces;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.parameters.RequestBody;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.tags.Tag;
import io.twinserve.api.server.ApiErrors;
import io.twinserve.api.server.ApiException;
import io.twinserve.api.server.Bodies;
import io.twinserve.api.server.auth.AuthFilter;
import io.twinserve.api.server.auth.Principal;
import io.twinserve.api.server.schema.ChatCompletion;
import io.twinserve.api.server.schema.ChatCompletionChunk;
import io.twinserve.api.server.schema.ChatCompletionRequest;
import io.twinserve.api.server.schema.ModelList;
import io.twinserve.api.server.schema.OpenAiModel;
import io.twinserve.api.server.schema.TextCompletion;
import io.twinserve.api.server.schema.TextCompletionRequest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;

/**
 * OpenAI-compatible inference: {@code /v1/models}, {@code /v1/chat/completions}, {@code /v1/completions}
 * (streaming as server-sent events ending with {@code data: [DONE]}); vLLM's adapter loading is in
 * {@link LoraController}. The same code serves live and simulated deployments; {@code model} is
 * {@code <deployment>} or {@code <deployment>:<adapter>}. A body is parsed by {@link CompletionRequest},
 * run by a {@link CompletionExchange} and recorded by the {@link InferenceRecorder}.
 */
@Controller("/v1")
@Tag(name = "openai")
@SecurityRequirement(name = "bearer")
@ApiErrors.Unauthorized
@ApiErrors.ServerError
@ApiErrors.Unavailable
public final class OpenAiController {
    private final DeploymentManager deployments;
    private final InferenceRecorder recorder;
    private final long serverTimeoutSeconds;
    private final int maxInFlightPerReplica;

    public OpenAiController(
            DeploymentManager deployments,
            InferenceRecorder recorder,
            @Value("${twinserve.server-timeout-seconds:60}") long serverTimeoutSeconds,
            @Value("${twinserve.inference.max-in-flight-per-replica:1024}") int maxInFlightPerReplica) {
        this.deployments = deployments;
        this.recorder = recorder;
        this.serverTimeoutSeconds = serverTimeoutSeconds;
        this.maxInFlightPerReplica = maxInFlightPerReplica;
    }

    // in memory only: answered on the event loop, not handed to the blocking executor and back
    @Operation(operationId = "listOpenAiModels", summary = "The models this key may use (OpenAI's list)")
    @ApiResponse(
            responseCode = "200",
            description = "the models",
            content = @Content(schema = @Schema(implementation = ModelList.class)))
    @Get("/models")
    @NonBlocking
    public ObjectNode models(HttpRequest<?> request) {
        Principal p = AuthFilter.principal(request);
        ArrayNode data = Bodies.JSON.createArrayNode();
        List<DeploymentRuntime> all = new ArrayList<>(deployments.all());
        all.sort(Comparator.comparing(DeploymentRuntime::name));
        long created = Instant.now().getEpochSecond();
        for (DeploymentRuntime d : all) {
            if (!p.seesDeployment(d.name())) {
                continue;
            }
            if (p.mayInfer(d.name(), null)) {
                data.add(modelEntry(d.name(), null, d, created));
            }
            for (String a : new TreeSet<>(d.adapterNames())) {
                if (p.mayInfer(d.name(), a)) {
                    data.add(modelEntry(d.name() + ":" + a, d.name(), d, created));
                }
            }
        }
        ObjectNode out = Bodies.JSON.createObjectNode();
        out.put("object", "list");
        out.set("data", data);
        return out;
    }

    /**
     * One model, {@code <deployment>} or {@code <deployment>:<adapter>}, as {@code /v1/models} lists it; a model
     * the key may not use is not found, as one that does not exist.
     */
    @Operation(operationId = "retrieveOpenAiModel", summary = "One model this key may use")
    @ApiResponse(
            responseCode = "200",
            description = "the model",
            content = @Content(schema = @Schema(implementation = OpenAiModel.class)))
    @ApiErrors.NotFound
    @Get("/models/{id}")
    @NonBlocking
    public ObjectNode model(HttpRequest<?> request, @PathVariable String id) {
        Principal p = AuthFilter.principal(request);
        int colon = id.indexOf(':');
        String name = colon < 0 ? id : id.substring(0, colon);
        String adapter = colon < 0 ? null : id.substring(colon + 1);
        DeploymentRuntime d = deployments.get(name);
        if (d == null || (adapter != null && !d.adapterNames().contains(adapter)) || !p.mayInfer(name, adapter)) {
            throw ApiException.notFound(
                    "model",
                    "the model '" + id + "' does not exist; GET /v1/models lists what this"
                            + " key can use (<deployment> or <deployment>:<adapter>)");
        }
        return modelEntry(id, adapter == null ? null : name, d, Instant.now().getEpochSecond());
    }

    private static ObjectNode modelEntry(String id, String parent, DeploymentRuntime d, long created) {
        ObjectNode m = Bodies.JSON.createObjectNode();
        m.put("id", id);
        m.put("object", "model");
        m.put("created", created);
        m.put("owned_by", "twinserve");
        m.put("root", d.name());
        m.put("parent", parent);
        m.put("mode", d.settings().mode());
        return m;
    }

    // streaming clients (the OpenAI SDKs) send Accept: text/event-stream; without it listed here that is a 406
    @Operation(
            operationId = "createChatCompletion",
            summary = "Chat completion (OpenAI)",
            description =
                    "model is <deployment> or <deployment>:<adapter>; a field outside the request schema is refused with 400 naming it")
    @RequestBody(required = true, content = @Content(schema = @Schema(implementation = ChatCompletionRequest.class)))
    @ApiResponse(
            responseCode = "200",
            description =
                    "the answer; with stream: true, server-sent events of ChatCompletionChunk ending with data: [DONE]",
            content = {
                @Content(mediaType = "application/json", schema = @Schema(implementation = ChatCompletion.class)),
                @Content(mediaType = "text/event-stream", schema = @Schema(implementation = ChatCompletionChunk.class))
            })
    @ApiErrors.BadRequest
    @ApiErrors.Forbidden
    @ApiErrors.NotFound
    @ApiErrors.TtftTimeout
    @ApiErrors.TooLarge
    @ApiErrors.GatewayTimeout
    @Post("/chat/completions")
    @ExecuteOn(TaskExecutors.BLOCKING)
    @Produces({MediaType.APPLICATION_JSON, MediaType.TEXT_EVENT_STREAM})
    public CompletableFuture<HttpResponse<?>> chat(HttpRequest<?> request, @Body byte[] body) {
        return run(request, body, true);
    }

    @Operation(
            operationId = "createCompletion",
            summary = "Completion (OpenAI's legacy completions)",
            description =
                    "model is <deployment> or <deployment>:<adapter>; a field outside the request schema is refused with 400 naming it")
    @RequestBody(required = true, content = @Content(schema = @Schema(implementation = TextCompletionRequest.class)))
    @ApiResponse(
            responseCode = "200",
            description =
                    "the answer; with stream: true, server-sent events of TextCompletion ending with data: [DONE]",
            content = {
                @Content(mediaType = "application/json", schema = @Schema(implementation = TextCompletion.class)),
                @Content(mediaType = "text/event-stream", schema = @Schema(implementation = TextCompletion.class))
            })
    @ApiErrors.BadRequest
    @ApiErrors.Forbidden
    @ApiErrors.NotFound
    @ApiErrors.TtftTimeout
    @ApiErrors.TooLarge
    @ApiErrors.GatewayTimeout
    @Post("/completions")
    @ExecuteOn(TaskExecutors.BLOCKING)
    @Produces({MediaType.APPLICATION_JSON, MediaType.TEXT_EVENT_STREAM})
    public CompletableFuture<HttpResponse<?>> completions(HttpRequest<?> request, @Body byte[] body) {
        return run(request, body, false);
    }

    /**
     * Runs on the blocking executor (virtual threads), not on an event loop: a submission may wait, for a sticky
     * session's replica in Redis (seconds when Redis does not answer) or for a deployment's new replicas while it
     * restarts on its GPU (minutes: the model's upload), and an event loop that waited would stall every other
     * call it serves, health checks and metrics among them (HandoverApiTest).
     */
    private CompletableFuture<HttpResponse<?>> run(HttpRequest<?> request, byte[] body, boolean chat) {
        Principal principal = AuthFilter.principal(request);
        CompletionRequest call = CompletionRequest.parse(
                Bodies.object(body),
                chat,
                principal,
                deployments,
                request.getHeaders().get("X-Session-Id"));
        request.setAttribute(
                InferenceOutcomeFilter.DEPLOYMENT, call.deployment().name());
        int least = call.deployment().leastInFlight();
        if (least >= maxInFlightPerReplica) {
            // admission control: past this the queue only turns into TTFT timeouts; a 503 with Retry-After tells
            // clients (and load balancers) to back off or go elsewhere (counted by the outcome filter)
            throw ApiException.overloaded(
                    "deployment '" + call.deployment().name() + "' is overloaded: every replica has " + least
                            + " requests in flight (the limit is " + maxInFlightPerReplica
                            + ", TWINSERVE_MAX_IN_FLIGHT_PER_REPLICA); retry shortly",
                    1);
        }
        CompletableFuture<HttpResponse<?>> answer =
                new CompletionExchange(call, principal, recorder).start(serverTimeoutSeconds);
        // from here the exchange counts the call when it ends; a refusal before is counted by the filter
        request.setAttribute(InferenceOutcomeFilter.SUBMITTED, Boolean.TRUE);
        return answer;
    }
}
