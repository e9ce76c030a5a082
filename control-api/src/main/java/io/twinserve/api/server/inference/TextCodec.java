package io.twinserve.api.server.inference;

import io.twinserve.api.server.ApiException;
import io.twinserve.engine.backend.sim.PlaceholderVocabulary;
import io.twinserve.engine.chat.ChatMessage;
import io.twinserve.engine.chat.ChatTemplate;
import io.twinserve.engine.live.Detokenizer;
import io.twinserve.engine.tokenizer.Tokenizer;
import java.util.List;

/** How a deployment turns request text into token ids and generated ids back into text. */
public interface TextCodec {
    int[] encodePrompt(String text);

    int[] encodeChat(List<ChatMessage> messages);

    Detokenizer detokenizer();

    /** The text of one token on its own, as log-probabilities name it (vLLM decodes the single id). */
    String tokenText(int id);

    /**
     * Simulated deployments: token counts from the model's tokenizer when it has one (ids folded into the
     * placeholder vocabulary, so equal texts still share prefix blocks), else the placeholder estimate; the
     * generated text is placeholder words.
     */
    static TextCodec placeholder(Tokenizer tokenizer, ChatTemplate template) {
        return new TextCodec() {
            @Override
            public int[] encodePrompt(String text) {
                return tokenizer == null ? PlaceholderVocabulary.encode(text) : fold(tokenizer.encode(text, true));
            }

            @Override
            public int[] encodeChat(List<ChatMessage> messages) {
                if (tokenizer != null && template != null) {
                    return fold(tokenizer.encode(template.render(messages, true), false));
                }
                StringBuilder sb = new StringBuilder();
                for (ChatMessage m : messages) {
                    sb.append(m.role()).append(": ").append(m.content()).append('\n');
                }
                return PlaceholderVocabulary.encode(sb.append("assistant:").toString());
            }

            @Override
            public Detokenizer detokenizer() {
                return new PlaceholderVocabulary();
            }

            @Override
            public String tokenText(int id) {
                return PlaceholderVocabulary.word(id);
            }

            private int[] fold(int[] ids) {
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = Math.floorMod(ids[i], PlaceholderVocabulary.SIZE);
                }
                return ids;
            }
        };
    }

    /** The model's real tokenizer: ids from tokenizer.json, chat turns through the model's chat template. */
    static TextCodec of(Tokenizer tokenizer, ChatTemplate template) {
        return new TextCodec() {
            @Override
            public int[] encodePrompt(String text) {
                return tokenizer.encode(text, true);
            }

            @Override
            public int[] encodeChat(List<ChatMessage> messages) {
                if (template == null) {
                    throw ApiException.badRequest(
                            "messages",
                            "this model has no chat_template in tokenizer_config.json; use"
                                    + " /v1/completions with a plain prompt");
                }
                return tokenizer.encode(template.render(messages, true), false);
            }

            @Override
            public Detokenizer detokenizer() {
                return () -> tokenizer.streamDecoder(true)::next;
            }

            @Override
            public String tokenText(int id) {
                return id < tokenizer.vocabSize() ? tokenizer.decode(new int[] {id}, false) : "";
            }
        };
    }
}
