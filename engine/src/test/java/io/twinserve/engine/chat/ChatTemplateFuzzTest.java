package io.twinserve.engine.chat;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.twinserve.engine.tokenizer.TokenizerFormatException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Coverage-guided fuzzing of chat templates and the messages rendered through them: a
 * {@code tokenizer_config.json} either loads or fails with a {@link TokenizerFormatException} naming the
 * file, and rendering either succeeds or fails with a {@link ChatTemplateException}. Anything else is a
 * crash.
 *
 * <p>Input layout: the {@code tokenizer_config.json} bytes, then a 0 byte, then messages as
 * {@code role 0 content 0 ...} (what API clients send).
 */
class ChatTemplateFuzzTest {
    private static final Path FILE = Path.of("fuzzed", "tokenizer_config.json");

    @FuzzTest(maxDuration = "10s")
    void rendersOrRefusesCleanly(byte[] input) {
        int split = indexOf(input, 0, input.length);
        byte[] config = java.util.Arrays.copyOfRange(input, 0, split);
        ChatTemplate template;
        try {
            template = ChatTemplate.parse(config, FILE);
        } catch (TokenizerFormatException e) {
            assertThat(e.getMessage()).startsWith(FILE + ": ");
            return;
        }
        List<ChatMessage> messages = new ArrayList<>();
        int at = split + 1;
        while (at < input.length && messages.size() < 16) {
            int roleEnd = indexOf(input, at, input.length);
            int contentEnd = indexOf(input, Math.min(roleEnd + 1, input.length), input.length);
            String role = new String(input, at, roleEnd - at, StandardCharsets.UTF_8);
            String content = roleEnd + 1 <= contentEnd
                    ? new String(input, roleEnd + 1, contentEnd - roleEnd - 1, StandardCharsets.UTF_8)
                    : "";
            messages.add(new ChatMessage(role.isBlank() ? "user" : role, content));
            at = contentEnd + 1;
        }
        try {
            String text = template.render(messages, true);
            assertThat(text).isNotNull();
        } catch (ChatTemplateException e) {
            assertThat(e.getMessage()).isNotBlank();
        }
    }

    private static int indexOf(byte[] bytes, int from, int to) {
        for (int i = from; i < to; i++) {
            if (bytes[i] == 0) {
                return i;
            }
        }
        return to;
    }
}
