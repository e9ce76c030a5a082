package io.twinserve.engine.chat;

/** A chat template that could not be rendered: it called {@code raise_exception}, or Jinjava reported an error. */
public final class ChatTemplateException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ChatTemplateException(String message) {
        super(message);
    }

    public ChatTemplateException(String message, Throwable cause) {
        super(message, cause);
    }
}
