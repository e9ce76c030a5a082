package io.twinserve.api.server.inference;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.sse.Event;
import io.twinserve.api.server.ApiException;
import io.twinserve.api.server.Bodies;
import io.twinserve.api.server.auth.Principal;
import io.twinserve.engine.live.Completion;
import io.twinserve.engine.live.LiveEngine;
import io.twinserve.engine.live.TokenSink;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

/**
 * One completion call on its way through a deployment's replica: it streams OpenAI's chunks as server-sent
 * events, or gathers the whole answer into one JSON body, with the finish reason and usage, and hands the
 * finished call to the {@link InferenceRecorder}.
 */
final class CompletionExchange implements TokenSink {
    private final CompletionRequest call;
    private final Principal principal;
    private final InferenceRecorder recorder;
    private final String id;
    private final long created = Instant.now().getEpochSecond();
    private final long startNs = System.nanoTime();
    private final OffsetDateTime startedAt = OffsetDateTime.now(ZoneOffset.UTC);
    private final InferenceMetrics.Meters meters;
    /** A stream's response: completed at its first token (or its end), then the events follow. */
    private final CompletableFuture<HttpResponse<?>> head = new CompletableFuture<>();
    /** A non-streaming call's whole response. */
    private final CompletableFuture<HttpResponse<?>> whole = new CompletableFuture<>();

    private final Sinks.Many<Event<String>> events;
    // written only on the replica's loop thread, which calls the sink
    private long lastTokenNs = -1;
    private int tokens;
    private volatile LiveEngine.Handle handle;

    CompletionExchange(CompletionRequest call, Principal principal, InferenceRecorder recorder) {
        this.call = call;
        this.principal = principal;
        this.recorder = recorder;
        this.id = (call.chat() ? "chatcmpl-" : "cmpl-")
                + UUID.randomUUID().toString().replace("-", "");
        this.meters = recorder.meters(call.deployment().name());
        this.events = call.stream() ? Sinks.many().unicast().onBackpressureBuffer() : null;
    }

    /**
     * Submits the call to its deployment. A stream's response comes with its first token; a whole answer
     * that takes longer than the server timeout ends with 504 and its request is cancelled.
     */
    CompletableFuture<HttpResponse<?>> start(long serverTimeoutSeconds) {
        try {
            handle = call.deployment().submit(call.adapter(), call.prompt(), call.sampling(), call.session(), this);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(null, e.getMessage());
        } catch (IllegalStateException e) {
            throw new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "server_error", null, "unavailable", e.getMessage())
                    .retryAfter(1);
        }
        if (call.stream()) {
            return head;
        }
        return whole.orTimeout(serverTimeoutSeconds, TimeUnit.SECONDS).exceptionally(e -> {
            Throwable cause = e instanceof CompletionException ? e.getCause() : e;
            if (cause instanceof TimeoutException) {
                // nobody waits for the rest: free the replica
                handle.cancel();
                return error(
                        HttpStatus.GATEWAY_TIMEOUT,
                        "timeout_error",
                        "server_timeout",
                        "the request took longer than" + " the server timeout of " + serverTimeoutSeconds
                                + " s (TWINSERVE_SERVER_TIMEOUT_SECONDS)");
            }
            return error(HttpStatus.INTERNAL_SERVER_ERROR, "server_error", null, cause.toString());
        });
    }

    /** OpenAI's error JSON with {@code status}. */
    static MutableHttpResponse<?> error(HttpStatus status, String type, String code, String message) {
        return HttpResponse.status(status)
                .contentType(MediaType.APPLICATION_JSON_TYPE)
                .body(ApiException.errorBody(message, type, null, code));
    }

    @Override
    public void onToken(int tokenId, String text) {
        long now = System.nanoTime();
        if (lastTokenNs >= 0) {
            recorder.tokenGap(meters, now - lastTokenNs);
        }
        lastTokenNs = now;
        tokens++;
        if (!call.stream()) {
            return;
        }
        if (tokens == 1) {
            if (call.chat()) {
                ObjectNode delta = Bodies.JSON.createObjectNode();
                delta.put("role", "assistant");
                delta.put("content", "");
                emit(chunk(delta, null));
            }
            head.complete(HttpResponse.ok(streamBody()).contentType(MediaType.TEXT_EVENT_STREAM_TYPE));
        }
        if (!text.isEmpty()) {
            emit(chunk(content(text), null));
        }
    }

    @Override
    public void onFinished(Completion done) {
        long latencyNs = System.nanoTime() - startNs;
        boolean timedOut = done.reason() == Completion.FinishReason.TIMEOUT && tokens == 0;
        boolean cancelled = done.reason() == Completion.FinishReason.CANCELLED;
        // 499: the client closed the request (nginx's code), or the server timeout gave up waiting for it
        int status = timedOut ? 408 : done.reason() == Completion.FinishReason.ERROR ? 500 : cancelled ? 499 : 200;
        recorder.finished(call, principal, id, startedAt, latencyNs, status, done);
        if (cancelled) {
            // nobody is listening any more; end whatever is still open
            if (events != null) {
                events.tryEmitComplete();
            }
            HttpResponse<?> r =
                    error(HttpStatus.GATEWAY_TIMEOUT, "timeout_error", "cancelled", "the request was cancelled");
            whole.complete(r);
            head.complete(r);
        } else if (timedOut) {
            // OpenAI's SDKs retry a 408 unless told not to: a retry would only add load to an overloaded
            // deployment, so say so
            HttpResponse<?> r = error(
                            HttpStatus.REQUEST_TIMEOUT,
                            "timeout_error",
                            "ttft_timeout",
                            "no first token within"
                                    + " max_ttft_ms = "
                                    + call.deployment().settings().maxTtftMs()
                                    + " ms of deployment '"
                                    + call.deployment().name() + "' (queue time included)")
                    .header("x-should-retry", "false");
            head.complete(r);
            whole.complete(r);
        } else if (status == 500) {
            failed();
        } else {
            String finish = done.reason() == Completion.FinishReason.STOP ? "stop" : "length";
            ObjectNode usage = usage(done);
            if (call.stream()) {
                if (!head.isDone()) {
                    head.complete(HttpResponse.ok(streamBody()).contentType(MediaType.TEXT_EVENT_STREAM_TYPE));
                }
                emit(chunk(call.chat() ? Bodies.JSON.createObjectNode() : content(""), finish));
                if (call.includeUsage()) {
                    ObjectNode last = chunk(null, null);
                    last.set("usage", usage);
                    emit(last);
                }
                events.tryEmitNext(Event.of("[DONE]"));
                events.tryEmitComplete();
            } else {
                whole.complete(
                        HttpResponse.ok(response(done, finish, usage)).contentType(MediaType.APPLICATION_JSON_TYPE));
            }
        }
    }

    /** The engine failed: a 500 when nothing was sent yet, else an error event that ends the stream. */
    private void failed() {
        String message = "the engine failed while running this request";
        if (tokens == 0 || !call.stream()) {
            HttpResponse<?> r = error(HttpStatus.INTERNAL_SERVER_ERROR, "server_error", "engine_error", message);
            head.complete(r);
            whole.complete(r);
        } else {
            events.tryEmitNext(Event.of(Bodies.JSON
                    .valueToTree(ApiException.errorBody(message, "server_error", null, "engine_error"))
                    .toString()));
            events.tryEmitNext(Event.of("[DONE]"));
            events.tryEmitComplete();
        }
    }

    /** The stream's events; a client that goes away cancels the request, freeing its replica at once. */
    private Flux<Event<String>> streamBody() {
        return events.asFlux().doOnCancel(() -> {
            if (handle != null) {
                handle.cancel();
            }
        });
    }

    private ObjectNode content(String text) {
        ObjectNode delta = Bodies.JSON.createObjectNode();
        delta.put(call.chat() ? "content" : "text", text);
        return delta;
    }

    /** A stream chunk: one choice with {@code delta}, or none (the closing usage chunk) when it is null. */
    private ObjectNode chunk(ObjectNode delta, String finish) {
        ObjectNode o = Bodies.JSON.createObjectNode();
        o.put("id", id);
        o.put("object", call.chat() ? "chat.completion.chunk" : "text_completion");
        o.put("created", created);
        o.put("model", call.model());
        ArrayNode choices = o.putArray("choices");
        if (delta != null) {
            ObjectNode choice = choices.addObject();
            choice.put("index", 0);
            if (call.chat()) {
                choice.set("delta", delta);
            } else {
                choice.put("text", delta.path("text").asText(""));
            }
            choice.putNull("logprobs");
            if (finish == null) {
                choice.putNull("finish_reason");
            } else {
                choice.put("finish_reason", finish);
            }
        }
        return o;
    }

    private void emit(ObjectNode o) {
        events.tryEmitNext(Event.of(o.toString()));
    }

    private static ObjectNode usage(Completion done) {
        ObjectNode u = Bodies.JSON.createObjectNode();
        u.put("prompt_tokens", done.promptTokens());
        u.put("completion_tokens", done.completionTokens());
        u.put("total_tokens", done.promptTokens() + done.completionTokens());
        ObjectNode details = u.putObject("prompt_tokens_details");
        details.put("cached_tokens", done.cachedPromptTokens());
        return u;
    }

    /** A non-streaming call's whole answer. */
    private ObjectNode response(Completion done, String finish, ObjectNode usage) {
        ObjectNode o = Bodies.JSON.createObjectNode();
        o.put("id", id);
        o.put("object", call.chat() ? "chat.completion" : "text_completion");
        o.put("created", created);
        o.put("model", call.model());
        ArrayNode choices = o.putArray("choices");
        ObjectNode choice = choices.addObject();
        choice.put("index", 0);
        if (call.chat()) {
            ObjectNode message = choice.putObject("message");
            message.put("role", "assistant");
            message.put("content", done.text());
            message.putNull("refusal");
        } else {
            choice.put("text", done.text());
        }
        choice.putNull("logprobs");
        choice.put("finish_reason", finish);
        o.set("usage", usage);
        return o;
    }
}
