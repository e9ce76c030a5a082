package io.twinserve.engine.chat;

import com.hubspot.jinjava.objects.date.StrftimeFormatter;
import java.time.ZonedDateTime;
import java.util.Locale;

/** The global functions Hugging Face gives chat templates, as static methods Jinjava can call. */
final class TemplateFunctions {

    /** What {@code raise_exception} throws, so rendering can tell the template's own error from Jinjava's. */
    static final class RaisedByTemplate extends RuntimeException {
        private static final long serialVersionUID = 1L;

        RaisedByTemplate(String message) {
            super(message);
        }
    }

    private TemplateFunctions() {}

    /** {@code raise_exception(message)}: templates call it to reject a conversation they cannot format. */
    public static Object raiseException(String message) {
        throw new RaisedByTemplate(message);
    }

    /** {@code strftime_now(format)}: the current local time in Python's strftime format (Llama 3.1+ templates). */
    public static String strftimeNow(String format) {
        return StrftimeFormatter.format(ZonedDateTime.now(), format, Locale.ENGLISH);
    }
}
