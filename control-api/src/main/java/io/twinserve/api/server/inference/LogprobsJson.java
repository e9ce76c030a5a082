package io.twinserve.api.server.inference;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinserve.api.server.Bodies;
import io.twinserve.engine.sample.TokenLogprobs;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * OpenAI's two shapes of log-probabilities: chat's {@code {content: [{token, logprob, bytes, top_logprobs}],
 * refusal}} and the legacy completions' {@code {tokens, token_logprobs, top_logprobs, text_offset}}, with
 * token texts from the deployment's codec.
 */
final class LogprobsJson {
    /**
     * What vLLM writes for a log-probability of minus infinity (a token a model rules out), which JSON
     * cannot carry.
     */
    private static final float FLOOR = -9999f;

    /** One sampled token and its log-probabilities. */
    record Sampled(int tokenId, TokenLogprobs logprobs) {}

    private final TextCodec codec;

    LogprobsJson(TextCodec codec) {
        this.codec = codec;
    }

    /** Chat: a choice's (or a chunk's) {@code logprobs} object for {@code tokens}. */
    ObjectNode chat(List<Sampled> tokens) {
        ObjectNode o = Bodies.JSON.createObjectNode();
        ArrayNode content = o.putArray("content");
        for (Sampled s : tokens) {
            ObjectNode e = entry(content.addObject(), s.tokenId(), s.logprobs().logprob());
            ArrayNode top = e.putArray("top_logprobs");
            for (int i = 0; i < s.logprobs().topIds().length; i++) {
                entry(top.addObject(), s.logprobs().topIds()[i], s.logprobs().topLogprobs()[i]);
            }
        }
        o.putNull("refusal");
        return o;
    }

    private ObjectNode entry(ObjectNode e, int tokenId, float logprob) {
        String token = codec.tokenText(tokenId);
        e.put("token", token);
        e.put("logprob", value(logprob));
        ArrayNode bytes = e.putArray("bytes");
        for (byte b : token.getBytes(StandardCharsets.UTF_8)) {
            bytes.add(b & 0xff);
        }
        return e;
    }

    /**
     * Legacy completions: a choice's (or a chunk's) {@code logprobs} object for {@code tokens}, whose first
     * token starts at character {@code offset} of the choice's text; returns the offset after the last.
     */
    int completion(ObjectNode o, List<Sampled> tokens, int offset) {
        ArrayNode texts = o.putArray("tokens");
        ArrayNode logprobs = o.putArray("token_logprobs");
        ArrayNode tops = o.putArray("top_logprobs");
        ArrayNode offsets = o.putArray("text_offset");
        for (Sampled s : tokens) {
            String token = codec.tokenText(s.tokenId());
            texts.add(token);
            logprobs.add(value(s.logprobs().logprob()));
            ObjectNode top = tops.addObject();
            for (int i = 0; i < s.logprobs().topIds().length; i++) {
                String t = codec.tokenText(s.logprobs().topIds()[i]);
                // two ids may decode to one text: the likelier (listed first) keeps it, as a dict can hold one
                if (!top.has(t)) {
                    top.put(t, value(s.logprobs().topLogprobs()[i]));
                }
            }
            offsets.add(offset);
            offset += token.length();
        }
        return offset;
    }

    private static double value(float logprob) {
        return Math.max(FLOOR, logprob);
    }
}
