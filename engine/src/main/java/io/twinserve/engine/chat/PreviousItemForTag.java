package io.twinserve.engine.chat;

import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.tag.ForTag;
import com.hubspot.jinjava.tree.TagNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;

/**
 * Jinjava's {@code for} tag, also keeping the loop's items where {@link PythonMethodResolver} finds them,
 * because Jinjava's loop object has no {@code previtem} or {@code nextitem}.
 */
final class PreviousItemForTag extends ForTag {
    @Override
    public String renderForCollection(
            TagNode tagNode, JinjavaInterpreter interpreter, List<String> loopVars, Object collection) {
        List<Object> items = switch (collection) {
            case Collection<?> values -> new ArrayList<>(values);
            case Object[] values -> Arrays.asList(values);
            case null, default -> null;
        };
        Context context = interpreter.getContext();
        boolean hadOwn = context.containsKey(PythonMethodResolver.LOOP_ITEMS);
        Object saved = context.get(PythonMethodResolver.LOOP_ITEMS);
        context.put(PythonMethodResolver.LOOP_ITEMS, items == null ? List.of() : items);
        try {
            return super.renderForCollection(tagNode, interpreter, loopVars, collection);
        } finally {
            // Restore the enclosing loop's items so its previtem is right after this loop ends.
            if (hadOwn) {
                context.put(PythonMethodResolver.LOOP_ITEMS, saved);
            } else {
                context.remove(PythonMethodResolver.LOOP_ITEMS);
            }
        }
    }
}
