package io.twinserve.engine.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Rendering is bounded: a template that would build a huge output, string or list is refused with a
 * {@link ChatTemplateException} naming the limit, never an OutOfMemoryError, and a message's text is never
 * run as template code.
 */
class ChatTemplateLimitsTest {
    private static final List<ChatMessage> HELLO = List.of(new ChatMessage("user", "hello"));

    private static String render(String template, List<ChatMessage> messages) {
        return new ChatTemplate(template, "<s>", "</s>").render(messages, true);
    }

    @Test
    void messageTextThatLooksLikeTemplateCodeIsRenderedLiterally() {
        String text = "{{ 7 * 7 }}{% for i in range(3) %}x{% endfor %}";
        assertThat(render(
                        "{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}",
                        List.of(new ChatMessage("{{ 6 * 7 }}", text))))
                .isEqualTo("[{{ 6 * 7 }}]" + text);
    }

    @Test
    void nestedLoopsWithHugeOutputAreRefusedNamingTheOutputLimit() {
        assertThatThrownBy(() -> render(
                        "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}xxxxxxxxxx"
                                + "{% endfor %}{% endfor %}{% endfor %}",
                        HELLO))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("output exceeds the limit of " + ChatTemplate.MAX_OUTPUT_CHARS + " characters");
    }

    @Test
    void aStringDoubledUntilItIsHugeIsRefused() {
        assertThatThrownBy(() -> render(
                        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
                                + "{{ ns.s|length }}",
                        HELLO))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("exceeds the limit of " + ChatTemplate.MAX_OUTPUT_CHARS);
    }

    @Test
    void pythonReplaceAndJoinThatWouldBuildAHugeStringAreRefused() {
        assertThatThrownBy(() -> render(
                        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s.replace('a', ns.s) %}"
                                + "{% endfor %}{{ ns.s|length }}",
                        HELLO))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("str.replace would build a string of")
                .hasMessageContaining("over the limit of " + ChatTemplate.MAX_STRING_CHARS);
        assertThatThrownBy(() -> render(
                        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}"
                                + "{% set ns.s = ns.s.join([ns.s, ns.s, ns.s]) %}{% endfor %}{{ ns.s|length }}",
                        HELLO))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("str.join would build a string of");
    }

    @Test
    void aListDoubledUntilItIsHugeIsRefusedNamingTheCollectionLimit() {
        assertThatThrownBy(() -> render(
                        "{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
                        HELLO))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("exceeds the limit of " + ChatTemplate.MAX_COLLECTION_SIZE);
    }

    @Test
    void hugeWidthsGivenToFiltersAreRefusedNamingTheFilter() {
        for (String filter : List.of(
                "'x'|center(2000000000)",
                "'%2000000000s'|format('a')",
                "'a'|indent(2000000000)",
                "'a b'|wordwrap(2000000000)",
                "[1, [2]]|tojson(indent=2000000000)")) {
            String name = filter.replaceAll(".*\\|(\\w+)\\(.*", "$1");
            assertThatThrownBy(() -> render("{{ " + filter + " }}", HELLO))
                    .as(filter)
                    .isInstanceOf(ChatTemplateException.class)
                    .hasMessageContaining(
                            "given to the '" + name + "' filter is over the limit of " + WidthLimitingFilter.MAX_WIDTH);
        }
    }

    @Test
    void ordinaryWidthsStillWork() {
        assertThat(render("{{ 'ab'|center(6) }}|{{ 'a'.replace('', '-', 2) }}|{{ [1]|tojson(indent=2) }}", HELLO))
                .isEqualTo("  ab  |-a-|[\n  1\n]");
    }
}
