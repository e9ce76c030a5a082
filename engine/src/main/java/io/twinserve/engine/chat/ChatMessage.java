package io.twinserve.engine.chat;

/** One turn of a chat conversation as a chat template sees it ({@code role} such as "system", "user", "assistant"). */
public record ChatMessage(String role, String content) {
    public ChatMessage {
        if (role == null || role.isBlank()) {
            throw new IllegalArgumentException("role must be a non-blank string such as \"user\", was "
                    + (role == null ? "null" : "\"" + role + "\""));
        }
        if (content == null) {
            throw new IllegalArgumentException(
                    "content must not be null (use \"\" for an empty message), role " + role);
        }
    }
}
