package io.twinserve.api.server.inference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micronaut.http.HttpStatus;
import io.twinserve.api.server.ApiException;
import io.twinserve.api.server.Bodies;
import io.twinserve.api.server.auth.Principal;
import io.twinserve.engine.chat.ChatMessage;
import io.twinserve.engine.sample.SamplingParams;
import io.twinserve.traces.spec.KeySuggestions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A parsed {@code /v1/chat/completions} or {@code /v1/completions} body: the deployment and adapter it
 * names, its prompt tokens and sampling, checked against the caller's grants and the deployment's
 * {@code max_model_len}.
 *
 * @param model the {@code model} as the caller wrote it ({@code <deployment>} or {@code <deployment>:<adapter>})
 * @param adapter null for the base model
 * @param promptText the last chat message, or the whole completion prompt: what an interaction retains
 * @param session the {@code X-Session-Id} header, else the body's {@code session_id}; null when neither
 * @param chat true for chat completions, false for plain completions
 * @param n how many choices: each its own sequence, choice i seeded with the request's seed + i (vLLM's rule)
 */
record CompletionRequest(
        String model,
        DeploymentRuntime deployment,
        String adapter,
        int[] prompt,
        String promptText,
        SamplingParams sampling,
        int n,
        boolean stream,
        boolean includeUsage,
        String session,
        boolean chat) {
    private static final int MAX_STOP = 4;
    /** The most choices one request may ask for (OpenAI's limit). */
    static final int MAX_N = 128;
    /** The legacy completions API's limit on {@code logprobs}. */
    static final int MAX_COMPLETION_LOGPROBS = 5;

    private static final List<String> ROLES = List.of("system", "developer", "user", "assistant", "tool");

    /**
     * Parses and checks a request body; every refusal is an {@link ApiException} whose {@code param} names
     * the field at fault (the OpenAI SDKs show it).
     *
     * @param sessionHeader the request's {@code X-Session-Id} header, or null
     */
    /** Request fields twinserve honours. */
    private static final List<String> HONOURED = List.of(
            "model",
            "max_tokens",
            "max_completion_tokens",
            "temperature",
            "top_p",
            "top_k",
            "seed",
            "stop",
            "stream",
            "stream_options",
            "ignore_eos",
            "session_id",
            "n",
            "response_format",
            "logprobs",
            "top_logprobs",
            "presence_penalty",
            "frequency_penalty",
            "repetition_penalty",
            "min_p",
            "logit_bias");
    /**
     * OpenAI's (and vLLM's) request fields twinserve does not implement: accepted only when absent or at
     * their neutral value, otherwise refused by name ({@link #rejectUnsupported}).
     */
    private static final List<String> UNSUPPORTED = List.of(
            "tools",
            "tool_choice",
            "parallel_tool_calls",
            "functions",
            "function_call",
            "best_of",
            "echo",
            "suffix",
            "modalities",
            "audio",
            "prediction",
            "reasoning_effort",
            "web_search_options");
    /** Fields ignored by decision: they label a request for OpenAI's own bookkeeping, not its answer. */
    private static final List<String> IGNORED = List.of("user", "metadata", "store", "service_tier");

    static CompletionRequest parse(
            ObjectNode json, boolean chat, Principal principal, DeploymentManager deployments, String sessionHeader) {
        knownFields(json, chat);
        String model = Bodies.requiredString(json, "model");
        int colon = model.indexOf(':');
        String depName = colon < 0 ? model : model.substring(0, colon);
        String adapter = colon < 0 ? null : model.substring(colon + 1);
        DeploymentRuntime d = deployments.get(depName);
        String notHere = deployments.notStartedHere(depName);
        if (d == null && notHere != null && principal.seesDeployment(depName)) {
            throw new ApiException(
                            HttpStatus.SERVICE_UNAVAILABLE,
                            "server_error",
                            "model",
                            "unavailable",
                            "deployment '" + depName + "' is not serving on this server instance: it could not start"
                                    + " here (" + notHere + "); it is tried again every 30 s, and other instances may"
                                    + " serve it")
                    .retryAfter(30);
        }
        if (d == null && deployments.awaitingReconfiguration(depName) && principal.seesDeployment(depName)) {
            throw new ApiException(
                            HttpStatus.SERVICE_UNAVAILABLE,
                            "server_error",
                            "model",
                            "unavailable",
                            "deployment '" + depName + "' is being reconfigured on another server instance and starts"
                                    + " here once that instance serves it; other instances serve it meanwhile")
                    .retryAfter(30);
        }
        if (d == null || !principal.seesDeployment(depName)) {
            throw ApiException.notFound(
                    "model",
                    "the model '" + model + "' does not exist; GET /v1/models lists what this"
                            + " key can use (<deployment> or <deployment>:<adapter>)");
        }
        if (adapter != null && !d.hasAdapter(adapter)) {
            throw ApiException.notFound(
                    "model",
                    "deployment '" + depName + "' has no adapter '" + adapter + "'; loaded: "
                            + new TreeSet<>(d.adapterNames()));
        }
        if (!principal.mayInfer(depName, adapter)) {
            throw ApiException.forbidden("the key's user '" + principal.user() + "' may not use "
                    + (adapter == null
                            ? "the base model of deployment '" + depName + "'"
                            : "adapter '" + adapter + "' of deployment '" + depName + "'"));
        }
        Integer n = Bodies.optionalInt(json, "n", 1, MAX_N);
        rejectUnsupported(json, UNSUPPORTED.toArray(String[]::new));
        int[] prompt;
        String promptText;
        if (chat) {
            List<ChatMessage> messages = messages(json);
            promptText = messages.get(messages.size() - 1).content();
            prompt = d.codec().encodeChat(messages);
        } else if (isTokenPrompt(json.get("prompt"))) {
            // OpenAI's token-id prompt: an array of ids, or a list of one such array
            prompt = tokenPrompt(json.get("prompt"), d.vocabSize());
            StringBuilder text = new StringBuilder();
            for (int id : prompt) {
                text.append(d.codec().tokenText(id));
            }
            promptText = text.toString();
        } else {
            promptText = promptText(json);
            prompt = d.codec().encodePrompt(promptText);
        }
        String promptParam = chat ? "messages" : "prompt";
        if (prompt.length == 0) {
            throw ApiException.badRequest(promptParam, "the prompt is empty after tokenization");
        }
        String maxTokensParam = "max_completion_tokens";
        Integer maxTokens = Bodies.optionalInt(json, maxTokensParam, 1, Integer.MAX_VALUE);
        if (maxTokens == null) {
            maxTokensParam = "max_tokens";
            maxTokens = Bodies.optionalInt(json, maxTokensParam, 1, Integer.MAX_VALUE);
        }
        int room = d.maxModelLen() - prompt.length;
        if (room < 1) {
            throw ApiException.badRequest(
                    promptParam,
                    "the prompt has " + prompt.length + " tokens; this" + " deployment's max_model_len is "
                            + d.maxModelLen());
        }
        if (maxTokens == null) {
            maxTokens = chat ? Math.min(room, 1024) : Math.min(room, 16);
        } else if (maxTokens > room) {
            throw ApiException.badRequest(
                    maxTokensParam,
                    "'" + maxTokensParam + "' " + maxTokens + " + the prompt's " + prompt.length
                            + " tokens exceed this deployment's max_model_len " + d.maxModelLen() + "; at most " + room
                            + " fit");
        }
        Double temperature = Bodies.optionalDouble(json, "temperature", 0, 2);
        Double topP = Bodies.optionalDouble(json, "top_p", Double.MIN_VALUE, 1);
        Integer topK = Bodies.optionalInt(json, "top_k", -1, 1_000_000);
        Integer seed =
                json.hasNonNull("seed") ? Bodies.optionalInt(json, "seed", Integer.MIN_VALUE, Integer.MAX_VALUE) : null;
        Boolean ignoreEos = Bodies.optionalBoolean(json, "ignore_eos");
        List<String> stop = stops(json);
        responseFormat(json);
        Boolean stream = Bodies.optionalBoolean(json, "stream");
        boolean includeUsage = includeUsage(json, stream != null && stream);
        String session = sessionHeader != null ? sessionHeader : Bodies.optionalString(json, "session_id");
        Double presence = Bodies.optionalDouble(json, "presence_penalty", -2, 2);
        Double frequency = Bodies.optionalDouble(json, "frequency_penalty", -2, 2);
        Double repetition = repetitionPenalty(json);
        Double minP = Bodies.optionalDouble(json, "min_p", 0, 1);
        SamplingParams sampling = new SamplingParams(
                temperature == null ? 1.0 : temperature,
                topK == null || topK < 0 ? 0 : topK,
                topP == null ? 1.0 : topP,
                seed == null ? ThreadLocalRandom.current().nextLong() : seed,
                maxTokens,
                stop,
                List.of(),
                ignoreEos != null && ignoreEos,
                presence == null ? 0 : presence,
                frequency == null ? 0 : frequency,
                repetition == null ? 1 : repetition,
                minP == null ? 0 : minP,
                logitBias(json, d.vocabSize()),
                logprobs(json, chat));
        return new CompletionRequest(
                model,
                d,
                adapter,
                prompt,
                promptText,
                sampling,
                n == null ? 1 : n,
                stream != null && stream,
                includeUsage,
                session,
                chat);
    }

    /** Each choice's sampling: the request's, choice i seeded with its seed + i (as vLLM seeds parallel samples). */
    List<SamplingParams> choiceSamplings() {
        List<SamplingParams> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(i == 0 ? sampling : sampling.withSeed(sampling.seed() + i));
        }
        return out;
    }

    /** {@code repetition_penalty}: above 0 (1 = none), as vLLM takes it. */
    private static Double repetitionPenalty(ObjectNode json) {
        Double r = Bodies.optionalDouble(json, "repetition_penalty", 0, Double.MAX_VALUE);
        if (r != null && r == 0) {
            throw ApiException.badRequest(
                    "repetition_penalty", "'repetition_penalty' must be above 0 (1 = none), got 0.0");
        }
        return r;
    }

    /**
     * The log-probabilities asked for, as {@link SamplingParams#logprobs}: chat's {@code logprobs} (true or
     * false) with {@code top_logprobs} (0 to 20, only with logprobs true); the legacy completions'
     * {@code logprobs}, an integer 0 to 5 (the alternatives listed per token).
     */
    private static int logprobs(ObjectNode json, boolean chat) {
        if (!chat) {
            JsonNode top = json.get("top_logprobs");
            if (top != null && !top.isNull()) {
                throw ApiException.badRequest(
                        "top_logprobs",
                        "'top_logprobs' is a chat completions field; completions take 'logprobs', an integer from 0"
                                + " to " + MAX_COMPLETION_LOGPROBS);
            }
            Integer k = Bodies.optionalInt(json, "logprobs", 0, MAX_COMPLETION_LOGPROBS);
            return k == null ? -1 : k;
        }
        Boolean on = Bodies.optionalBoolean(json, "logprobs");
        Integer top = Bodies.optionalInt(json, "top_logprobs", 0, SamplingParams.MAX_LOGPROBS);
        if (top != null && (on == null || !on)) {
            throw ApiException.badRequest(
                    "top_logprobs", "'top_logprobs' needs 'logprobs': true, as OpenAI's API requires");
        }
        return on == null || !on ? -1 : top == null ? 0 : top;
    }

    /**
     * {@code logit_bias}: token ids (as strings, JSON object keys) to a bias from -100 to 100; an id that is not
     * an integer or not in the deployment's vocabulary is refused by name.
     */
    private static Map<Integer, Float> logitBias(ObjectNode json, int vocabSize) {
        JsonNode b = json.get("logit_bias");
        if (b == null || b.isNull()) {
            return Map.of();
        }
        if (!b.isObject()) {
            throw ApiException.badRequest(
                    "logit_bias", "'logit_bias' must be an object of token ids to biases, like {\"42\": -100}");
        }
        Map<Integer, Float> out = new HashMap<>();
        for (Map.Entry<String, JsonNode> e : b.properties()) {
            String key = e.getKey();
            String param = "logit_bias." + key;
            int tokenId;
            try {
                tokenId = Integer.parseInt(key.strip());
            } catch (NumberFormatException x) {
                throw ApiException.badRequest(
                        param,
                        "'logit_bias' keys must be token ids (integers as strings), got '" + abbreviate(key) + "'");
            }
            if (tokenId < 0 || tokenId >= vocabSize) {
                throw ApiException.badRequest(
                        param,
                        "'logit_bias' names token id " + tokenId + ", which is not in this deployment's vocabulary"
                                + " (ids 0 to " + (vocabSize - 1) + ")");
            }
            JsonNode v = e.getValue();
            if (!v.isNumber() || !(v.asDouble() >= -100 && v.asDouble() <= 100)) {
                throw ApiException.badRequest(
                        param, "'logit_bias' of token " + tokenId + " must be a number from -100 to 100, got " + v);
            }
            out.put(tokenId, (float) v.asDouble());
        }
        return out;
    }

    /** {@code response_format}: only OpenAI's default, {@code {"type": "text"}}, which is what twinserve writes. */
    private static void responseFormat(ObjectNode json) {
        JsonNode f = json.get("response_format");
        if (f == null || f.isNull()) {
            return;
        }
        if (!f.isObject() || !f.path("type").isTextual()) {
            throw ApiException.badRequest(
                    "response_format", "'response_format' must be an object with a 'type', like {\"type\": \"text\"}");
        }
        if (!f.path("type").asText().equals("text")) {
            throw ApiException.badRequest(
                    "response_format",
                    "'response_format' type '" + f.path("type").asText()
                            + "' is not supported by twinserve; only 'text' (the default)");
        }
    }

    /**
     * {@code stream_options.include_usage}: a stream ends with a usage chunk (no choices) only when asked, as
     * OpenAI's does, so that code reading {@code chunk.choices[0]} never meets an empty list it did not ask for.
     */
    private static boolean includeUsage(ObjectNode json, boolean stream) {
        JsonNode o = json.get("stream_options");
        if (o == null || o.isNull()) {
            return false;
        }
        if (!stream) {
            throw ApiException.badRequest("stream_options", "'stream_options' is only allowed when 'stream' is true");
        }
        if (!o.isObject()) {
            throw ApiException.badRequest("stream_options", "'stream_options' must be an object");
        }
        JsonNode u = o.get("include_usage");
        if (u != null && !u.isNull() && !u.isBoolean()) {
            throw ApiException.badRequest(
                    "stream_options.include_usage", "'stream_options.include_usage' must be true or false");
        }
        return u != null && u.asBoolean();
    }

    private static boolean isTokenPrompt(JsonNode p) {
        if (p != null && p.isArray() && p.size() == 1 && p.get(0).isArray()) {
            p = p.get(0);
        }
        return p != null && p.isArray() && !p.isEmpty() && p.get(0).isIntegralNumber();
    }

    /** A prompt of token ids: every one an integer of the model's vocabulary. */
    private static int[] tokenPrompt(JsonNode p, int vocab) {
        if (p.size() == 1 && p.get(0).isArray()) {
            p = p.get(0);
        }
        int[] ids = new int[p.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode t = p.get(i);
            if (!t.isIntegralNumber() || !t.canConvertToInt() || t.asInt() < 0 || t.asInt() >= vocab) {
                throw ApiException.badRequest(
                        "prompt",
                        "'prompt' token " + i + " must be a token id from 0 to " + (vocab - 1) + " (the model's"
                                + " vocabulary), got " + abbreviate(t.toString()));
            }
            ids[i] = t.asInt();
        }
        return ids;
    }

    /** The completion's {@code prompt}: a string, or a list of one string (token ids: {@link #tokenPrompt}). */
    private static String promptText(ObjectNode json) {
        JsonNode p = json.get("prompt");
        if (p == null || p.isNull()) {
            throw ApiException.badRequest("prompt", "'prompt' is required");
        }
        if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
            p = p.get(0);
        }
        if (!p.isTextual()) {
            throw ApiException.badRequest(
                    "prompt",
                    "'prompt' must be a string, a list of one string, or token ids, got " + abbreviate(p.toString()));
        }
        return p.asText();
    }

    /**
     * Refuses a field that is neither honoured, known and unsupported, nor ignored by decision, naming it with
     * the closest known field: a typo such as {@code temprature} must not pass as the default silently.
     */
    private static void knownFields(ObjectNode json, boolean chat) {
        List<String> known = new ArrayList<>(HONOURED);
        known.add(chat ? "messages" : "prompt");
        known.addAll(UNSUPPORTED);
        known.addAll(IGNORED);
        String key = Bodies.unknownKey(json, known);
        if (key != null) {
            throw ApiException.badRequest(
                    key,
                    "'" + key + "' is not a field of a " + (chat ? "chat completion" : "completion") + " request"
                            + KeySuggestions.didYouMean(key, known));
        }
    }

    /** OpenAI options twinserve does not implement pass only when absent or at their neutral value. */
    private static void rejectUnsupported(ObjectNode json, String... fields) {
        for (String f : fields) {
            JsonNode v = json.get(f);
            if (v == null
                    || v.isNull()
                    || (v.isBoolean() && !v.asBoolean())
                    || (v.isNumber() && v.asDouble() == 0)
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
                throw ApiException.badRequest(
                        where + ".role",
                        "'" + where + ".role' is required: system, developer, user," + " assistant or tool");
            }
            String r = role.asText();
            if (!ROLES.contains(r)) {
                throw ApiException.badRequest(
                        where + ".role",
                        "'" + where + ".role' must be system, developer, user," + " assistant or tool, got '" + r
                                + "'");
            }
            // chat templates know no developer role: it is OpenAI's newer name for system
            out.add(new ChatMessage(r.equals("developer") ? "system" : r, content(e.get("content"), where)));
        }
        return out;
    }

    /** A message's content: a string, or a list of text parts joined; absent or null is empty. */
    private static String content(JsonNode content, String where) {
        if (content == null || content.isNull()) {
            return "";
        }
        if (content.isTextual()) {
            return content.asText();
        }
        if (!content.isArray()) {
            throw ApiException.badRequest(
                    where + ".content", "'" + where + ".content' must be a string or a list of" + " text parts");
        }
        StringBuilder sb = new StringBuilder();
        for (int j = 0; j < content.size(); j++) {
            JsonNode part = content.get(j);
            if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                throw ApiException.badRequest(
                        where + ".content[" + j + "]",
                        "'" + where + ".content[" + j + "]': only"
                                + " {\"type\": \"text\", \"text\": ...} parts are supported");
            }
            sb.append(part.get("text").asText());
        }
        return sb.toString();
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
            throw ApiException.badRequest(
                    "stop", "'stop' may list at most " + MAX_STOP + " strings, got " + out.size());
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
}
