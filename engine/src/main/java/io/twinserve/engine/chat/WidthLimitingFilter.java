package io.twinserve.engine.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One of Jinjava's filters that take a width ({@code center}, {@code indent}, {@code wordwrap}, {@code format}),
 * refusing a width above {@link #MAX_WIDTH} before the filter allocates it: {@code 'x'|center(2000000000)} ran
 * the JVM out of memory.
 */
final class WidthLimitingFilter implements Filter {
    static final long MAX_WIDTH = 1L << 20;
    // a width or precision in a printf-style format, e.g. the 2000000000 of %2000000000s
    private static final Pattern FORMAT_WIDTH = Pattern.compile("%[-#+ 0,(<]*(\\d*)(?:\\.(\\d+))?");

    private final Filter delegate;

    WidthLimitingFilter(Filter delegate) {
        this.delegate = delegate;
    }

    @Override
    public String getName() {
        return delegate.getName();
    }

    @Override
    public Object filter(Object value, JinjavaInterpreter interpreter, String... args) {
        check(value, args, Map.of());
        return delegate.filter(value, interpreter, args);
    }

    @Override
    public Object filter(Object value, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
        check(value, args, kwargs);
        return delegate.filter(value, interpreter, args, kwargs);
    }

    private void check(Object value, Object[] args, Map<String, Object> kwargs) {
        for (Object arg : args) {
            checkWidth(arg);
        }
        for (Object arg : kwargs.values()) {
            checkWidth(arg);
        }
        if (getName().equals("format") && value != null) {
            Matcher matcher = FORMAT_WIDTH.matcher(value.toString());
            while (matcher.find()) {
                checkWidth(matcher.group(1));
                checkWidth(matcher.group(2));
            }
        }
    }

    private void checkWidth(Object arg) {
        double width;
        if (arg instanceof Number number) {
            width = number.doubleValue();
        } else if (arg instanceof String text && text.strip().matches("[+-]?\\d{1,400}")) {
            width = Double.parseDouble(text.strip());
        } else {
            return;
        }
        if (Math.abs(width) > MAX_WIDTH) {
            throw new ChatTemplateException("chat template refused: the width " + arg + " given to the '" + getName()
                    + "' filter is over the limit of " + MAX_WIDTH);
        }
    }
}
