package io.twinserve.api.server.inference;

import io.twinserve.api.server.ApiException;
import io.twinserve.engine.live.Detokenizer;
import io.twinserve.engine.tokenizer.ChatMessage;
import io.twinserve.engine.tokenizer.ChatTemplate;
import io.twinserve.engine.tokenizer.Tokenizer;
import java.util.List;

/** How a deployment turns request text into token ids and generated ids back into text. */
public interface TextCodec {
  int[] encodePrompt(String text);

  int[] encodeChat(List<ChatMessage> messages);

  Detokenizer detokenizer();

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
          throw ApiException.badRequest("messages", "this model has no chat_template in tokenizer_config.json; use"
              + " /v1/completions with a plain prompt");
        }
        return tokenizer.encode(template.render(messages, true), false);
      }

      @Override
      public Detokenizer detokenizer() {
        return () -> tokenizer.streamDecoder(true)::next;
      }
    };
  }
}
