package io.twinserve.api.server.interactions;

import io.micronaut.http.HttpParameters;
import io.twinserve.api.server.ApiException;
import io.twinserve.traces.spec.KeySuggestions;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.List;

/**
 * The filters and the page of a read of interactions, from the query string. Every value is checked, and
 * a parameter that is not one of them is refused naming it (a misspelt filter must not widen the answer).
 *
 * @param since started at or after (inclusive), null for no bound
 * @param until started before (exclusive), null for no bound
 * @param afterId the cursor: only rows with a larger id (0 from the start)
 * @param limit the most rows in a page
 */
public record InteractionQuery(
        String deployment,
        String adapter,
        Long keyId,
        Integer status,
        OffsetDateTime since,
        OffsetDateTime until,
        long afterId,
        int limit) {
    public static final int DEFAULT_LIMIT = 100;
    public static final int MAX_LIMIT = 1000;
    static final List<String> FILTERS = List.of("deployment", "adapter", "key_id", "status", "since", "until");
    static final List<String> PAGED =
            List.of("deployment", "adapter", "key_id", "status", "since", "until", "cursor", "limit");
    private static final String CURSOR_PREFIX = "i1:";

    /**
     * @param paged whether {@code cursor} and {@code limit} are allowed (the list; the export takes filters only)
     */
    public static InteractionQuery parse(HttpParameters p, boolean paged) {
        List<String> known = paged ? PAGED : FILTERS;
        for (String name : p.names()) {
            if (!known.contains(name)) {
                throw ApiException.badRequest(
                        name,
                        "'" + name + "' is not a parameter of " + (paged ? "GET /api/interactions" : "the export")
                                + KeySuggestions.didYouMean(name, known) + "; expected " + String.join(", ", known));
            }
        }
        Long keyId = p.contains("key_id") ? number(p, "key_id", 1, Long.MAX_VALUE) : null;
        Integer status = p.contains("status") ? (int) number(p, "status", 100, 599) : null;
        OffsetDateTime since = time(p, "since");
        OffsetDateTime until = time(p, "until");
        if (since != null && until != null && !since.isBefore(until)) {
            throw ApiException.badRequest("until", "'until' (" + until + ") must be after 'since' (" + since + ")");
        }
        int limit = p.contains("limit") ? (int) number(p, "limit", 1, MAX_LIMIT) : DEFAULT_LIMIT;
        long after = p.contains("cursor") ? cursorId(single(p, "cursor")) : 0;
        return new InteractionQuery(
                text(p, "deployment"), text(p, "adapter"), keyId, status, since, until, after, paged ? limit : 0);
    }

    /** The opaque cursor of the page after the row {@code lastId}. */
    public static String cursorAfter(long lastId) {
        return Base64.getUrlEncoder()
                .withoutPadding()
                .encodeToString((CURSOR_PREFIX + lastId).getBytes(StandardCharsets.UTF_8));
    }

    private static long cursorId(String cursor) {
        try {
            String s = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
            if (s.startsWith(CURSOR_PREFIX)) {
                long id = Long.parseLong(s.substring(CURSOR_PREFIX.length()));
                if (id >= 0) {
                    return id;
                }
            }
        } catch (IllegalArgumentException e) {
            // answered below, as every other malformed cursor
        }
        throw ApiException.badRequest(
                "cursor", "'cursor' is not a cursor this server gave out; pass the next_cursor of the previous page");
    }

    private static String single(HttpParameters p, String name) {
        List<String> all = p.getAll(name);
        if (all.size() != 1) {
            throw ApiException.badRequest(name, "'" + name + "' is given " + all.size() + " times; give it once");
        }
        return all.get(0);
    }

    private static String text(HttpParameters p, String name) {
        if (!p.contains(name)) {
            return null;
        }
        String v = single(p, name);
        if (v.isBlank()) {
            throw ApiException.badRequest(name, "'" + name + "' is empty; leave it out to match every value");
        }
        return v;
    }

    private static long number(HttpParameters p, String name, long min, long max) {
        String v = single(p, name);
        long n;
        try {
            n = Long.parseLong(v.strip());
        } catch (NumberFormatException e) {
            throw ApiException.badRequest(name, "'" + name + "' must be an integer, got '" + v + "'");
        }
        if (n < min || n > max) {
            throw ApiException.badRequest(name, "'" + name + "' must be between " + min + " and " + max + ", got " + n);
        }
        return n;
    }

    private static OffsetDateTime time(HttpParameters p, String name) {
        if (!p.contains(name)) {
            return null;
        }
        String v = single(p, name);
        try {
            return OffsetDateTime.parse(v.strip());
        } catch (DateTimeParseException e) {
            throw ApiException.badRequest(
                    name,
                    "'" + name + "' must be an ISO-8601 time with offset such as 2026-12-05T10:00:00Z, got '" + v
                            + "'");
        }
    }
}
