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
import io.twinserve.engine.sample.TokenLogprobs;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

/**
 * One completion call on its way through a deployment's replica: its {@code n} choices stream OpenAI's
 * chunks (each with its choice's index) as server-sent events, or are gathered into one JSON body, each
 * with its finish reason and log-probabilities when asked, with usage summed over the choices; the
 * finished call goes to the {@link InferenceRecorder}.
 */
final class CompletionExchange {
    private final CompletionRequest call;
    private final Principal principal;
    private final InferenceRecorder recorder;
    private final String id;
    private final long created = Instant.now().getEpochSecond();
    private final long startNs = System.nanoTime();
    private final OffsetDateTime startedAt = OffsetDateTime.now(ZoneOffset.UTC);
    private final InferenceMetrics.Meters meters;
    private final LogprobsJson logprobs;
    /** A stream's response: completed at its first token (or its end), then the events follow. */
    private final CompletableFuture<HttpResponse<?>> head = new CompletableFuture<>();
    /** A non-streaming call's whole response. */
    private final CompletableFuture<HttpResponse<?>> whole = new CompletableFuture<>();

    private final Sinks.Many<Event<String>> events;
    private final List<Choice> choices = new ArrayList<>();
    // the choices' callbacks come from the replica's loop thread (and, for a choice that could not be queued,
    // from the submitting one): they synchronize on the exchange
    private int finished;
    private boolean ending;
    private volatile LiveEngine.Handle handle;

    CompletionExchange(CompletionRequest call, Principal principal, InferenceRecorder recorder) {
        this.call = call;
        this.principal = principal;
        this.recorder = recorder;
        this.id = (call.chat() ? "chatcmpl-" : "cmpl-")
                + UUID.randomUUID().toString().replace("-", "");
        this.meters = recorder.meters(call.deployment().name());
        this.events = call.stream() ? Sinks.many().unicast().onBackpressureBuffer() : null;
        this.logprobs = new LogprobsJson(call.deployment().codec());
        for (int i = 0; i < call.n(); i++) {
            choices.add(new Choice(i));
        }
    }

    /**
     * Submits the call to its deployment. A stream's response comes with its first token; a whole answer
     * that takes longer than the server timeout ends with 504 and its request is cancelled.
     */
    CompletableFuture<HttpResponse<?>> start(long serverTimeoutSeconds) {
        try {
            handle = call.deployment()
                    .submit(
                            call.adapter(),
                            call.prompt(),
                            call.choiceSamplings(),
                            call.session(),
                            List.copyOf(choices));
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(null, e.getMessage());
        } catch (IllegalStateException e) {
            throw new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "server_error", null, "unavailable", e.getMessage())
                    .retryAfter(1);
        }
        synchronized (this) {
            if (ending) {
                // a choice ended badly before the handle was known
                handle.cancel();
            }
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

    /** One of the call's {@code n} choices: the engine's sink for its sequence. */
    private final class Choice implements TokenSink {
        final int index;
        long lastTokenNs = -1;
        int tokens;
        /** Where the next token starts in the choice's text (the legacy completions' text_offset). */
        int textOffset;

        Completion done;
        /** A whole answer's log-probabilities, gathered as tokens come. */
        final List<LogprobsJson.Sampled> sampled = new ArrayList<>();

        Choice(int index) {
            this.index = index;
        }

        @Override
        public void onToken(int tokenId, String text) {
            onToken(tokenId, text, null);
        }

        @Override
        public void onToken(int tokenId, String text, TokenLogprobs lp) {
            synchronized (CompletionExchange.this) {
                tokenArrived(this, tokenId, text, lp);
            }
        }

        @Override
        public void onFinished(Completion completion) {
            synchronized (CompletionExchange.this) {
                choiceFinished(this, completion);
            }
        }

        /**
         * Its replica failed mid-answer and it runs again from the start elsewhere: a whole answer (not a stream)
         * has shown the client nothing yet, so what it gathered is dropped; a stream cannot take back what it sent.
         */
        @Override
        public boolean rewind() {
            synchronized (CompletionExchange.this) {
                if (call.stream() || done != null) {
                    return false;
                }
                tokens = 0;
                lastTokenNs = -1;
                textOffset = 0;
                sampled.clear();
                return true;
            }
        }
    }

    private void tokenArrived(Choice c, int tokenId, String text, TokenLogprobs lp) {
        long now = System.nanoTime();
        if (c.lastTokenNs >= 0) {
            recorder.tokenGap(meters, now - c.lastTokenNs);
        }
        c.lastTokenNs = now;
        c.tokens++;
        LogprobsJson.Sampled sampled = lp == null ? null : new LogprobsJson.Sampled(tokenId, lp);
        if (!call.stream()) {
            if (sampled != null) {
                c.sampled.add(sampled);
            }
            return;
        }
        if (c.tokens == 1 && call.chat()) {
            ObjectNode delta = Bodies.JSON.createObjectNode();
            delta.put("role", "assistant");
            delta.put("content", "");
            emit(chunk(c, delta, null, null));
        }
        if (!head.isDone()) {
            head.complete(HttpResponse.ok(streamBody()).contentType(MediaType.TEXT_EVENT_STREAM_TYPE));
        }
        if (!text.isEmpty() || sampled != null) {
            emit(chunk(c, content(text), sampled == null ? null : logprobsOf(c, List.of(sampled)), null));
        }
    }

    private void choiceFinished(Choice c, Completion done) {
        c.done = done;
        finished++;
        boolean ranToEnd =
                done.reason() == Completion.FinishReason.STOP || done.reason() == Completion.FinishReason.LENGTH;
        if (!ranToEnd && !ending) {
            // one choice failed, timed out or was cancelled: the answer cannot be whole, so stop the others
            ending = true;
            if (handle != null) {
                handle.cancel();
            }
        }
        if (ranToEnd && !ending && call.stream()) {
            if (!head.isDone()) {
                head.complete(HttpResponse.ok(streamBody()).contentType(MediaType.TEXT_EVENT_STREAM_TYPE));
            }
            emit(chunk(c, call.chat() ? Bodies.JSON.createObjectNode() : content(""), null, finishReason(done)));
        }
        if (finished == choices.size()) {
            allFinished();
        }
    }

    private void allFinished() {
        long latencyNs = System.nanoTime() - startNs;
        Completion total = total();
        // tokens the caller was sent: a request can time out with its first token sampled but not yet sent
        int tokens = 0;
        for (Choice c : choices) {
            tokens += c.tokens;
        }
        boolean timedOut = total.reason() == Completion.FinishReason.TIMEOUT && tokens == 0;
        boolean cancelled = total.reason() == Completion.FinishReason.CANCELLED;
        boolean failed = total.reason() == Completion.FinishReason.ERROR
                || total.reason() == Completion.FinishReason.TIMEOUT && tokens > 0;
        // 499: the client closed the request (nginx's code), or the server timeout gave up waiting for it
        int status = timedOut ? 408 : failed ? 500 : cancelled ? 499 : 200;
        recorder.finished(call, principal, id, startedAt, latencyNs, status, total);
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
        } else if (failed) {
            failed(tokens);
        } else if (call.stream()) {
            if (call.includeUsage()) {
                ObjectNode last = chunk(null, null, null, null);
                last.set("usage", usage(total));
                emit(last);
            }
            events.tryEmitNext(Event.of("[DONE]"));
            events.tryEmitComplete();
        } else {
            whole.complete(HttpResponse.ok(response(total)).contentType(MediaType.APPLICATION_JSON_TYPE));
        }
    }

    /**
     * The call as one completion, for the recorder and usage: the prompt once, the choices' completion
     * tokens summed, the first choice's cached prompt tokens, the earliest first token and the choices' texts
     * (a blank line between two); its reason is the worst of the choices' (error, then timeout, then
     * cancellation), else the first choice's.
     */
    private Completion total() {
        Completion first = choices.get(0).done;
        Completion.FinishReason reason = first.reason();
        int completionTokens = 0;
        int preemptions = 0;
        long ttftNs = -1;
        long latencyNs = 0;
        String error = null;
        StringBuilder text = new StringBuilder();
        List<Integer> ids = new ArrayList<>();
        for (Choice c : choices) {
            Completion d = c.done;
            completionTokens += d.completionTokens();
            preemptions += d.preemptions();
            if (d.ttftNs() >= 0 && (ttftNs < 0 || d.ttftNs() < ttftNs)) {
                ttftNs = d.ttftNs();
            }
            latencyNs = Math.max(latencyNs, d.latencyNs());
            if (rank(d.reason()) > rank(reason)) {
                reason = d.reason();
            }
            if (error == null) {
                error = d.error();
            }
            if (c.index > 0) {
                text.append("\n\n");
            }
            text.append(d.text());
            for (int t : d.tokenIds()) {
                ids.add(t);
            }
        }
        return new Completion(
                reason,
                first.promptTokens(),
                completionTokens,
                first.cachedPromptTokens(),
                preemptions,
                ttftNs,
                latencyNs,
                text.toString(),
                ids.stream().mapToInt(Integer::intValue).toArray(),
                error);
    }

    private static int rank(Completion.FinishReason r) {
        return switch (r) {
            case STOP, LENGTH -> 0;
            case CANCELLED -> 1;
            case TIMEOUT -> 2;
            case ERROR -> 3;
        };
    }

    private static String finishReason(Completion done) {
        return done.reason() == Completion.FinishReason.STOP ? "stop" : "length";
    }

    /** The engine failed: a 500 when nothing was sent yet, else an error event that ends the stream. */
    private void failed(int tokens) {
        String message = "the engine failed while running this request";
        if (tokens == 0 || !call.stream() || !head.isDone()) {
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

    /** A choice's {@code logprobs} object for some of its tokens, in the call's shape. */
    private ObjectNode logprobsOf(Choice c, List<LogprobsJson.Sampled> tokens) {
        if (call.chat()) {
            return logprobs.chat(tokens);
        }
        ObjectNode o = Bodies.JSON.createObjectNode();
        c.textOffset = logprobs.completion(o, tokens, c.textOffset);
        return o;
    }

    /**
     * A stream chunk: choice {@code c} with {@code delta}, or no choice (the closing usage chunk) when it is
     * null.
     */
    private ObjectNode chunk(Choice c, ObjectNode delta, ObjectNode lp, String finish) {
        ObjectNode o = Bodies.JSON.createObjectNode();
        o.put("id", id);
        o.put("object", call.chat() ? "chat.completion.chunk" : "text_completion");
        o.put("created", created);
        o.put("model", call.model());
        ArrayNode choicesJson = o.putArray("choices");
        if (delta != null) {
            ObjectNode choice = choicesJson.addObject();
            choice.put("index", c.index);
            if (call.chat()) {
                choice.set("delta", delta);
            } else {
                choice.put("text", delta.path("text").asText(""));
            }
            if (lp == null) {
                choice.putNull("logprobs");
            } else {
                choice.set("logprobs", lp);
            }
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

    private static ObjectNode usage(Completion total) {
        ObjectNode u = Bodies.JSON.createObjectNode();
        u.put("prompt_tokens", total.promptTokens());
        u.put("completion_tokens", total.completionTokens());
        u.put("total_tokens", total.promptTokens() + total.completionTokens());
        ObjectNode details = u.putObject("prompt_tokens_details");
        details.put("cached_tokens", total.cachedPromptTokens());
        return u;
    }

    /** A non-streaming call's whole answer. */
    private ObjectNode response(Completion total) {
        ObjectNode o = Bodies.JSON.createObjectNode();
        o.put("id", id);
        o.put("object", call.chat() ? "chat.completion" : "text_completion");
        o.put("created", created);
        o.put("model", call.model());
        ArrayNode choicesJson = o.putArray("choices");
        for (Choice c : choices) {
            ObjectNode choice = choicesJson.addObject();
            choice.put("index", c.index);
            if (call.chat()) {
                ObjectNode message = choice.putObject("message");
                message.put("role", "assistant");
                message.put("content", c.done.text());
                message.putNull("refusal");
            } else {
                choice.put("text", c.done.text());
            }
            if (call.sampling().logprobs() >= 0) {
                choice.set("logprobs", logprobsOf(c, c.sampled));
            } else {
                choice.putNull("logprobs");
            }
            choice.put("finish_reason", finishReason(c.done));
        }
        o.set("usage", usage(total));
        return o;
    }
}
