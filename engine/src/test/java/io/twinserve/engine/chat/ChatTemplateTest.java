package io.twinserve.engine.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.engine.tokenizer.NodeReference;
import io.twinserve.engine.tokenizer.TokenizerFormatException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChatTemplateTest {
    private static final Path QWEN3_CONFIG = Path.of("src/test/resources/tokenizer/qwen3-tokenizer_config.json");

    private static String render(String template, List<ChatMessage> messages) {
        return new ChatTemplate(template, "<s>", "</s>").render(messages, false);
    }

    private static List<ChatMessage> conversation() {
        return List.of(
                new ChatMessage("system", "You are helpful."),
                new ChatMessage("user", "Hi!"),
                new ChatMessage("assistant", "Hello."),
                new ChatMessage("user", "How are you?"));
    }

    @Test
    void rendersQwen3ConversationWithGenerationPrompt() {
        ChatTemplate template = ChatTemplate.load(QWEN3_CONFIG);
        assertThat(template.render(conversation(), true))
                .isEqualTo("<|im_start|>system\nYou are helpful.<|im_end|>\n"
                        + "<|im_start|>user\nHi!<|im_end|>\n"
                        + "<|im_start|>assistant\nHello.<|im_end|>\n"
                        + "<|im_start|>user\nHow are you?<|im_end|>\n"
                        + "<|im_start|>assistant\n");
    }

    @Test
    void qwen3KeepsReasoningOnlyAfterTheLastUserMessage() {
        ChatTemplate template = ChatTemplate.load(QWEN3_CONFIG);
        List<ChatMessage> messages = List.of(
                new ChatMessage("user", "Q1"),
                new ChatMessage("assistant", "<think>\nold thoughts\n</think>\n\nA1"),
                new ChatMessage("user", "Q2"),
                new ChatMessage("assistant", "<think>\nnew thoughts\n</think>\n\nA2"));
        assertThat(template.render(messages, false))
                .isEqualTo("<|im_start|>user\nQ1<|im_end|>\n"
                        + "<|im_start|>assistant\nA1<|im_end|>\n"
                        + "<|im_start|>user\nQ2<|im_end|>\n"
                        + "<|im_start|>assistant\n<think>\nnew thoughts\n</think>\n\nA2<|im_end|>\n");
    }

    @Test
    void qwen3DisablesThinkingWhenAsked() {
        ChatTemplate template = ChatTemplate.load(QWEN3_CONFIG);
        assertThat(template.render(List.of(new ChatMessage("user", "Hi")), true, Map.of("enable_thinking", false)))
                .isEqualTo("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
    }

    @Test
    void rendersLlama3TemplateFromTheNpmPackage() {
        NodeReference.ensureInstalled();
        ChatTemplate template = ChatTemplate.load(NodeReference.tokenizerConfigJson("llama3"));
        List<ChatMessage> messages =
                List.of(new ChatMessage("system", " Be brief. "), new ChatMessage("user", "\nHi\n"));
        assertThat(template.render(messages, true))
                .isEqualTo("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    @Test
    void rendersLlama31StyleSystemHeaderWithTodaysDate() {
        // The date logic of Llama 3.1's template, restated: strftime_now is defined and formats like Python.
        String template = "{%- if not date_string is defined %}{%- if strftime_now is defined %}"
                + "{%- set date_string = strftime_now(\"%d %b %Y\") %}{%- else %}{%- set date_string = \"26 Jul 2024\" %}{%- endif %}{%- endif %}"
                + "{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content']|trim %}"
                + "{%- set messages = messages[1:] %}{%- else %}{%- set system_message = \"\" %}{%- endif %}"
                + "{{- bos_token }}Today Date: {{ date_string }}\n{{ system_message }}|{{ messages|length }}|{{ tools is none }}";
        String expectedDate = LocalDate.now().format(DateTimeFormatter.ofPattern("dd MMM yyyy", Locale.ENGLISH));
        assertThat(new ChatTemplate(template, "<|begin_of_text|>", null).render(conversation(), false))
                .isEqualTo("<|begin_of_text|>Today Date: " + expectedDate + "\nYou are helpful.|3|true");
    }

    @Test
    void namespaceKeywordArgumentsTakeWholeExpressions() {
        assertThat(render(
                        "{% set ns = namespace(found=false, last=messages|length - 1) %}"
                                + "{% for m in messages %}{% if m.role == 'user' %}{% set ns.found = true %}{% endif %}{% endfor %}"
                                + "{{ ns.found }} {{ ns.last }}",
                        conversation()))
                .isEqualTo("true 3");
    }

    @Test
    void loopPrevitemAndNextitemGiveNeighbouringMessages() {
        assertThat(render(
                        "{% for m in messages %}{% if loop.previtem is defined %}{{ loop.previtem.role }}>{% endif %}"
                                + "{{ m.role }}{% if loop.nextitem is defined %}>{{ loop.nextitem.role }}{% endif %};{% endfor %}",
                        conversation().subList(0, 3)))
                .isEqualTo("system>user;system>user>assistant;user>assistant;");
    }

    @Test
    void stringMethodsBehaveLikePython() {
        List<ChatMessage> messages = List.of(new ChatMessage("user", "\n  a</think>b,c  \n"));
        assertThat(render(
                        "{% set c = messages[0].content %}"
                                + "{{ c.startswith('\\n') }} {{ c.endswith(('x', '\\n')) }} [{{ c.strip() }}] [{{ c.lstrip('\\n') }}] "
                                + "[{{ c.rstrip() }}] {{ c.split('</think>')[-1].strip() }} {{ c.strip().split(',')|length }} "
                                + "{{ 'a b  c'.split()|length }} {{ c.strip().upper() }}",
                        messages))
                .isEqualTo("true true [a</think>b,c] [  a</think>b,c  \n] [\n  a</think>b,c] b,c 2 3 A</THINK>B,C");
    }

    @Test
    void negativeIndexAndSlicesWorkOnLists() {
        assertThat(render(
                        "{% for m in messages[::-1] %}{{ m.role }},{% endfor %} {{ messages[1:]|length }} "
                                + "{{ messages[-1].role }} {{ messages[::2]|length }} {{ 'abc'[::-1] }} {{ messages[1:3:1][0].role }}",
                        conversation()))
                .isEqualTo("user,assistant,user,system, 3 user 2 cba user");
    }

    @Test
    void tojsonWritesJsonLikePythonsDumps() {
        assertThat(render(
                        "{{ messages[0]|tojson }} {{ {'a': [1, 2], 'b': none, 'c': true}|tojson }} {{ 'q\"\\n'|tojson }}",
                        List.of(new ChatMessage("user", "é"))))
                .isEqualTo(
                        "{\"role\": \"user\", \"content\": \"é\"} {\"a\": [1, 2], \"b\": null, \"c\": true} \"q\\\"\\n\"");
        assertThat(render("{{ {'a': [1]}|tojson(indent=2) }}", List.of())).isEqualTo("{\n  \"a\": [\n    1\n  ]\n}");
    }

    @Test
    void trimFilterAndStringTestWork() {
        assertThat(render(
                        "{{ messages[0].content|trim }}|{{ messages[0].content is string }}|{{ messages is string }}",
                        List.of(new ChatMessage("user", "  hi \n"))))
                .isEqualTo("hi|true|false");
    }

    @Test
    void raiseExceptionThrowsWithTheTemplatesMessage() {
        String template =
                "{% if messages[0].role != 'system' %}{{ raise_exception('Conversation must start with a system message') }}{% endif %}";
        assertThatThrownBy(() -> render(template, List.of(new ChatMessage("user", "x"))))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessage("Conversation must start with a system message");
    }

    @Test
    void bosAndEosTokensComeFromTheConfigInEitherForm(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("tokenizer_config.json");
        Files.writeString(
                config,
                "{\"bos_token\": {\"content\": \"<B>\", \"__type\": \"AddedToken\"}, \"eos_token\": \"<E>\","
                        + " \"chat_template\": [{\"name\": \"tool_use\", \"template\": \"tools\"}, {\"name\": \"default\", \"template\": \"{{ bos_token }}{{ eos_token }}\\n\"}]}");
        assertThat(ChatTemplate.load(config).render(List.of(), false)).isEqualTo("<B><E>");
    }

    @Test
    void trimBlocksAndLstripBlocksMatchHuggingFace() {
        assertThat(render(
                        "{% for m in messages %}\n    {% if true %}\n{{ m.role }}\n    {% endif %}\n{% endfor %}",
                        conversation().subList(0, 2)))
                .isEqualTo("system\nuser\n");
    }

    @Test
    void missingChatTemplateNamesTheField(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("tokenizer_config.json");
        Files.writeString(config, "{\"eos_token\": \"<E>\"}");
        assertThatThrownBy(() -> ChatTemplate.load(config))
                .isInstanceOf(TokenizerFormatException.class)
                .hasMessageContaining("chat_template")
                .hasMessageContaining(config.toString());
    }
}
