package io.twinserve.api.server.inference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micronaut.context.annotation.Value;
import io.micronaut.core.annotation.NonBlocking;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.sse.Event;
import io.twinserve.api.server.ApiException;
import io.twinserve.api.server.Bodies;
import io.twinserve.api.server.auth.AuthFilter;
import io.twinserve.api.server.auth.Principal;
import io.twinserve.api.server.interactions.Interaction;
import io.twinserve.api.server.interactions.InteractionWriter;
import io.twinserve.api.server.usage.UsageStats;
import io.twinserve.engine.live.Completion;
import io.twinserve.engine.live.TokenSink;
import io.twinserve.engine.sample.SamplingParams;
import io.twinserve.engine.chat.ChatMessage;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import reactor.core.publisher.Sinks;

/**
 * OpenAI-compatible inference: {@code /v1/models}, {@code /v1/chat/completions}, {@code /v1/completions}
 * (streaming as server-sent events ending with {@code data: [DONE]}), and vLLM's adapter loading. The same
 * code serves live and simulated deployments; {@code model} is {@code <deployment>} or
 * {@code <deployment>:<adapter>}. Over 400 lines until its split into the request parser, the exchange and
 * the recorder (REDESIGN.md, "Classes to split").
 */
@Controller("/v1")
public final class OpenAiController {
  private static final int MAX_STOP = 4;

  private final DeploymentManager deployments;
  private final InteractionWriter interactions;
  private final UsageStats usage;
  private final InferenceMetrics metrics;
  private final long serverTimeoutSeconds;
  private final boolean retainText;

  public OpenAiController(DeploymentManager deployments, InteractionWriter interactions, UsageStats usage,
      InferenceMetrics metrics,
      @Value("${twinserve.server-timeout-seconds:60}") long serverTimeoutSeconds,
      @Value("${twinserve.retain-text:false}") boolean retainText) {
    this.deployments = deployments;
    this.interactions = interactions;
    this.usage = usage;
    this.metrics = metrics;
    this.serverTimeoutSeconds = serverTimeoutSeconds;
    this.retainText = retainText;
  }

  // in memory only: answered on the event loop, not handed to the blocking executor and back
  @Get("/models")
  @NonBlocking
  public ObjectNode models(HttpRequest<?> request) {
    Principal p = AuthFilter.principal(request);
    ArrayNode data = Bodies.JSON.createArrayNode();
    List<DeploymentRuntime> all = new ArrayList<>(deployments.all());
    all.sort(java.util.Comparator.comparing(DeploymentRuntime::name));
    long created = Instant.now().getEpochSecond();
    for (DeploymentRuntime d : all) {
      if (!p.seesDeployment(d.name())) {
        continue;
      }
      if (p.mayInfer(d.name(), null)) {
        data.add(modelEntry(d.name(), null, d, created));
      }
      for (String a : new java.util.TreeSet<>(d.adapterNames())) {
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
  @Post("/chat/completions")
  @Produces({MediaType.APPLICATION_JSON, MediaType.TEXT_EVENT_STREAM})
  public CompletableFuture<HttpResponse<?>> chat(HttpRequest<?> request, @Body byte[] body) {
    return run(request, body, true);
  }

  @Post("/completions")
  @Produces({MediaType.APPLICATION_JSON, MediaType.TEXT_EVENT_STREAM})
  public CompletableFuture<HttpResponse<?>> completions(HttpRequest<?> request, @Body byte[] body) {
    return run(request, body, false);
  }

  /** What a parsed call asks for. */
  private record Call(String model, DeploymentRuntime deployment, String adapter, int[] prompt, String promptText,
      SamplingParams sampling, boolean stream, String session) {}

  private CompletableFuture<HttpResponse<?>> run(HttpRequest<?> request, byte[] body, boolean chat) {
    Principal principal = AuthFilter.principal(request);
    ObjectNode json = Bodies.object(body);
    Call call = parse(request, json, chat, principal);
    String id = (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
    long created = Instant.now().getEpochSecond();
    Exchange x = new Exchange(this, call, principal, id, created, chat);
    try {
      x.handle = call.deployment().submit(call.adapter(), call.prompt(), call.sampling(),
          call.session(), x);
    } catch (IllegalArgumentException e) {
      throw ApiException.badRequest(null, e.getMessage());
    } catch (IllegalStateException e) {
      throw new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "server_error", null, "unavailable", e.getMessage());
    }
    if (call.stream()) {
      return x.head;
    }
    return x.whole.orTimeout(serverTimeoutSeconds, TimeUnit.SECONDS).exceptionally(e -> {
      Throwable cause = e instanceof java.util.concurrent.CompletionException ? e.getCause() : e;
      if (cause instanceof TimeoutException) {
        // nobody waits for the rest: free the replica
        x.handle.cancel();
        return error(HttpStatus.GATEWAY_TIMEOUT, "timeout_error", "server_timeout", "the request took longer than"
            + " the server timeout of " + serverTimeoutSeconds + " s (TWINSERVE_SERVER_TIMEOUT_SECONDS)");
      }
      return error(HttpStatus.INTERNAL_SERVER_ERROR, "server_error", null, cause.toString());
    });
  }

  private Call parse(HttpRequest<?> request, ObjectNode json, boolean chat, Principal principal) {
    String model = Bodies.requiredString(json, "model");
    int colon = model.indexOf(':');
    String depName = colon < 0 ? model : model.substring(0, colon);
    String adapter = colon < 0 ? null : model.substring(colon + 1);
    DeploymentRuntime d = deployments.get(depName);
    if (d == null || !principal.seesDeployment(depName)) {
      throw ApiException.notFound("model", "the model '" + model + "' does not exist; GET /v1/models lists what this"
          + " key can use (<deployment> or <deployment>:<adapter>)");
    }
    if (adapter != null && !d.hasAdapter(adapter)) {
      throw ApiException.notFound("model", "deployment '" + depName + "' has no adapter '" + adapter + "'; loaded: "
          + new java.util.TreeSet<>(d.adapterNames()));
    }
    if (!principal.mayInfer(depName, adapter)) {
      throw ApiException.forbidden("the key's user '" + principal.user() + "' may not use " + (adapter == null
          ? "the base model of deployment '" + depName + "'" : "adapter '" + adapter + "' of deployment '" + depName + "'"));
    }
    Integer n = Bodies.optionalInt(json, "n", 1, 1);
    if (n != null && n != 1) {
      throw ApiException.badRequest("n", "'n' must be 1");
    }
    rejectUnsupported(json, "logprobs", "top_logprobs", "presence_penalty", "frequency_penalty", "logit_bias",
        "tools", "functions", "response_format", "best_of", "echo", "suffix");
    int[] prompt;
    String promptText;
    if (chat) {
      List<ChatMessage> messages = messages(json);
      promptText = messages.get(messages.size() - 1).content();
      prompt = d.codec().encodeChat(messages);
    } else {
      JsonNode p = json.get("prompt");
      if (p == null || p.isNull()) {
        throw ApiException.badRequest("prompt", "'prompt' is required");
      }
      if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
        p = p.get(0);
      }
      if (!p.isTextual()) {
        throw ApiException.badRequest("prompt", "'prompt' must be a string (or a list of one string), got "
            + abbreviate(p.toString()));
      }
      promptText = p.asText();
      prompt = d.codec().encodePrompt(promptText);
    }
    if (prompt.length == 0) {
      throw ApiException.badRequest(chat ? "messages" : "prompt", "the prompt is empty after tokenization");
    }
    Integer maxTokens = Bodies.optionalInt(json, "max_completion_tokens", 1, Integer.MAX_VALUE);
    if (maxTokens == null) {
      maxTokens = Bodies.optionalInt(json, "max_tokens", 1, Integer.MAX_VALUE);
    }
    int room = d.maxModelLen() - prompt.length;
    if (room < 1) {
      throw ApiException.badRequest(chat ? "messages" : "prompt", "the prompt has " + prompt.length + " tokens; this"
          + " deployment's max_model_len is " + d.maxModelLen());
    }
    if (maxTokens == null) {
      maxTokens = chat ? Math.min(room, 1024) : Math.min(room, 16);
    } else if (maxTokens > room) {
      throw ApiException.badRequest("max_tokens", "'max_tokens' " + maxTokens + " + the prompt's " + prompt.length
          + " tokens exceed this deployment's max_model_len " + d.maxModelLen() + "; at most " + room + " fit");
    }
    Double temperature = Bodies.optionalDouble(json, "temperature", 0, 2);
    Double topP = Bodies.optionalDouble(json, "top_p", Double.MIN_VALUE, 1);
    Integer topK = Bodies.optionalInt(json, "top_k", -1, 1_000_000);
    Integer seed = json.hasNonNull("seed") ? Bodies.optionalInt(json, "seed", Integer.MIN_VALUE, Integer.MAX_VALUE) : null;
    Boolean ignoreEos = Bodies.optionalBoolean(json, "ignore_eos");
    List<String> stop = stops(json);
    Boolean stream = Bodies.optionalBoolean(json, "stream");
    String session = request.getHeaders().get("X-Session-Id");
    if (session == null) {
      session = Bodies.optionalString(json, "session_id");
    }
    SamplingParams sampling = new SamplingParams(temperature == null ? 1.0 : temperature,
        topK == null || topK < 0 ? 0 : topK, topP == null ? 1.0 : topP,
        seed == null ? ThreadLocalRandom.current().nextLong() : seed, maxTokens, stop, List.of(),
        ignoreEos != null && ignoreEos);
    return new Call(model, d, adapter, prompt, promptText, sampling, stream != null && stream, session);
  }

  private static void rejectUnsupported(ObjectNode json, String... fields) {
    for (String f : fields) {
      JsonNode v = json.get(f);
      if (v == null || v.isNull() || (v.isBoolean() && !v.asBoolean()) || (v.isNumber() && v.asDouble() == 0)
          || (v.isContainerNode() && v.isEmpty())) {
        continue;
      }
      throw ApiException.badRequest(f, "'" + f + "' is not supported by twinserve; leave it out");
    }
  }

  private static List<ChatMessage> messages(ObjectNode json) {
    JsonNode m = json.get("messages");
    if (m == null || m.isNull()) {
      throw ApiException.badRequest("messages", "'messages' is required: a list of {role, content}");
    }
    if (!m.isArray() || m.isEmpty()) {
      throw ApiException.badRequest("messages", "'messages' must be a non-empty list of {role, content}");
    }
    List<ChatMessage> out = new ArrayList<>();
    for (int i = 0; i < m.size(); i++) {
      JsonNode e = m.get(i);
      String where = "messages[" + i + "]";
      if (!e.isObject()) {
        throw ApiException.badRequest(where, "'" + where + "' must be an object {role, content}");
      }
      JsonNode role = e.get("role");
      if (role == null || !role.isTextual()) {
        throw ApiException.badRequest(where + ".role", "'" + where + ".role' is required: system, developer, user,"
            + " assistant or tool");
      }
      String r = role.asText();
      if (!List.of("system", "developer", "user", "assistant", "tool").contains(r)) {
        throw ApiException.badRequest(where + ".role", "'" + where + ".role' must be system, developer, user,"
            + " assistant or tool, got '" + r + "'");
      }
      JsonNode content = e.get("content");
      String text;
      if (content == null || content.isNull()) {
        text = "";
      } else if (content.isTextual()) {
        text = content.asText();
      } else if (content.isArray()) {
        StringBuilder sb = new StringBuilder();
        for (int j = 0; j < content.size(); j++) {
          JsonNode part = content.get(j);
          if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
            throw ApiException.badRequest(where + ".content[" + j + "]", "'" + where + ".content[" + j + "]': only"
                + " {\"type\": \"text\", \"text\": ...} parts are supported");
          }
          sb.append(part.get("text").asText());
        }
        text = sb.toString();
      } else {
        throw ApiException.badRequest(where + ".content", "'" + where + ".content' must be a string or a list of"
            + " text parts");
      }
      out.add(new ChatMessage(r.equals("developer") ? "system" : r, text));
    }
    return out;
  }

  private static List<String> stops(ObjectNode json) {
    JsonNode s = json.get("stop");
    if (s == null || s.isNull()) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    if (s.isTextual()) {
      out.add(s.asText());
    } else if (s.isArray()) {
      for (JsonNode e : s) {
        if (!e.isTextual()) {
          throw ApiException.badRequest("stop", "'stop' must be a string or a list of strings, got " + s);
        }
        out.add(e.asText());
      }
    } else {
      throw ApiException.badRequest("stop", "'stop' must be a string or a list of strings, got " + s);
    }
    if (out.size() > MAX_STOP) {
      throw ApiException.badRequest("stop", "'stop' may list at most " + MAX_STOP + " strings, got " + out.size());
    }
    for (String e : out) {
      if (e.isEmpty()) {
        throw ApiException.badRequest("stop", "'stop' strings must not be empty");
      }
    }
    return out;
  }

  private static String abbreviate(String s) {
    return s.length() <= 80 ? s : s.substring(0, 77) + "...";
  }

  static HttpResponse<?> error(HttpStatus status, String type, String code, String message) {
    return HttpResponse.status(status).contentType(MediaType.APPLICATION_JSON_TYPE)
        .body(ApiException.errorBody(message, type, null, code));
  }

  /** One call on its way through a replica: streams chunks or gathers the whole answer, then records it. */
  private static final class Exchange implements TokenSink {
    final OpenAiController c;
    final Call call;
    final Principal principal;
    final String id;
    final long created;
    final boolean chat;
    final long startNs = System.nanoTime();
    final OffsetDateTime startedAt = OffsetDateTime.now(ZoneOffset.UTC);
    final InferenceMetrics.Meters meters;
    final CompletableFuture<HttpResponse<?>> head = new CompletableFuture<>();
    final CompletableFuture<HttpResponse<?>> whole = new CompletableFuture<>();
    final Sinks.Many<Event<String>> events;
    long lastTokenNs = -1;
    int tokens;
    volatile io.twinserve.engine.live.LiveEngine.Handle handle;

    Exchange(OpenAiController c, Call call, Principal principal, String id, long created, boolean chat) {
      this.c = c;
      this.call = call;
      this.principal = principal;
      this.id = id;
      this.created = created;
      this.chat = chat;
      this.meters = c.metrics.of(call.deployment().name());
      this.events = call.stream() ? Sinks.many().unicast().onBackpressureBuffer() : null;
    }

    @Override
    public void onToken(int tokenId, String text) {
      long now = System.nanoTime();
      if (lastTokenNs >= 0) {
        c.metrics.tokenGap(meters, now - lastTokenNs);
      }
      lastTokenNs = now;
      tokens++;
      if (!call.stream()) {
        return;
      }
      if (tokens == 1) {
        if (chat) {
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

    /** The stream's events; a client that goes away cancels the request, freeing its replica at once. */
    private reactor.core.publisher.Flux<Event<String>> streamBody() {
      return events.asFlux().doOnCancel(() -> {
        if (handle != null) {
          handle.cancel();
        }
      });
    }

    private ObjectNode content(String text) {
      ObjectNode delta = Bodies.JSON.createObjectNode();
      if (chat) {
        delta.put("content", text);
      } else {
        delta.put("text", text);
      }
      return delta;
    }

    private ObjectNode chunk(ObjectNode delta, String finish) {
      ObjectNode o = Bodies.JSON.createObjectNode();
      o.put("id", id);
      o.put("object", chat ? "chat.completion.chunk" : "text_completion");
      o.put("created", created);
      o.put("model", call.model());
      ArrayNode choices = o.putArray("choices");
      if (delta != null) {
        ObjectNode choice = choices.addObject();
        choice.put("index", 0);
        if (chat) {
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

    @Override
    public void onFinished(Completion done) {
      long latencyNs = System.nanoTime() - startNs;
      String deployment = call.deployment().name();
      boolean timedOut = done.reason() == Completion.FinishReason.TIMEOUT && tokens == 0;
      boolean cancelled = done.reason() == Completion.FinishReason.CANCELLED;
      // 499: the client closed the request (nginx's code), or the server timeout gave up waiting for it
      int status = timedOut ? 408 : done.reason() == Completion.FinishReason.ERROR ? 500 : cancelled ? 499 : 200;
      // recorded before the caller can see the end, so that once a caller has its answer, its interaction is
      // queued (InteractionWriter.flush then covers it)
      c.metrics.request(deployment, status);
      c.metrics.finished(deployment, done.promptTokens(), done.completionTokens(), done.ttftNs(), latencyNs);
      c.usage.record(principal.keyId(), deployment, call.adapter(), done.promptTokens(), done.completionTokens());
      boolean retain = c.retainText || call.deployment().settings().retainText();
      c.interactions.record(new Interaction(id, chat ? "chat.completions" : "completions", deployment, call.adapter(),
          principal.keyId(), done.promptTokens(), done.completionTokens(),
          done.ttftNs() < 0 ? null : done.ttftNs() / 1e6, latencyNs / 1e6, status,
          done.reason().name().toLowerCase(Locale.ROOT), startedAt, OffsetDateTime.now(ZoneOffset.UTC),
          retain ? call.promptText() : null, retain ? done.text() : null));
      if (cancelled) {
        // nobody is listening any more; end whatever is still open
        if (events != null) {
          events.tryEmitComplete();
        }
        HttpResponse<?> r = error(HttpStatus.GATEWAY_TIMEOUT, "timeout_error", "cancelled", "the request was cancelled");
        whole.complete(r);
        head.complete(r);
      } else if (timedOut) {
        HttpResponse<?> r = error(HttpStatus.REQUEST_TIMEOUT, "timeout_error", "ttft_timeout", "no first token within"
            + " max_ttft_ms = " + call.deployment().settings().maxTtftMs() + " ms of deployment '" + deployment
            + "' (queue time included)");
        head.complete(r);
        whole.complete(r);
      } else if (status == 500) {
        String message = "the engine failed while running this request";
        if (tokens == 0 || !call.stream()) {
          HttpResponse<?> r = error(HttpStatus.INTERNAL_SERVER_ERROR, "server_error", "engine_error", message);
          head.complete(r);
          whole.complete(r);
        } else {
          events.tryEmitNext(Event.of(Bodies.JSON.valueToTree(ApiException.errorBody(message, "server_error", null,
              "engine_error")).toString()));
          events.tryEmitNext(Event.of("[DONE]"));
          events.tryEmitComplete();
        }
      } else {
        String finish = done.reason() == Completion.FinishReason.STOP ? "stop" : "length";
        ObjectNode usage = usage(done);
        if (call.stream()) {
          if (!head.isDone()) {
            head.complete(HttpResponse.ok(streamBody()).contentType(MediaType.TEXT_EVENT_STREAM_TYPE));
          }
          emit(chunk(chat ? Bodies.JSON.createObjectNode() : content(""), finish));
          ObjectNode last = chunk(null, null);
          last.set("usage", usage);
          emit(last);
          events.tryEmitNext(Event.of("[DONE]"));
          events.tryEmitComplete();
        } else {
          whole.complete(HttpResponse.ok(response(done, finish, usage)).contentType(MediaType.APPLICATION_JSON_TYPE));
        }
      }
    }

    private ObjectNode usage(Completion done) {
      ObjectNode u = Bodies.JSON.createObjectNode();
      u.put("prompt_tokens", done.promptTokens());
      u.put("completion_tokens", done.completionTokens());
      u.put("total_tokens", done.promptTokens() + done.completionTokens());
      ObjectNode details = u.putObject("prompt_tokens_details");
      details.put("cached_tokens", done.cachedPromptTokens());
      return u;
    }

    private ObjectNode response(Completion done, String finish, ObjectNode usage) {
      ObjectNode o = Bodies.JSON.createObjectNode();
      o.put("id", id);
      o.put("object", chat ? "chat.completion" : "text_completion");
      o.put("created", created);
      o.put("model", call.model());
      ArrayNode choices = o.putArray("choices");
      ObjectNode choice = choices.addObject();
      choice.put("index", 0);
      if (chat) {
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
}
