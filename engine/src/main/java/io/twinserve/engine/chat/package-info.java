/**
 * Chat templates: a model's {@code chat_template} from {@code tokenizer_config.json} rendered with
 * Jinjava, with the Python methods, filters and loop helpers Hugging Face templates call.
 */
package io.twinserve.engine.chat;
