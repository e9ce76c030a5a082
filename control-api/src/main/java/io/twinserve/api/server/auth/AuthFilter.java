package io.twinserve.api.server.auth;

import io.micronaut.context.annotation.Value;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.annotation.Order;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;
import io.twinserve.api.server.ApiException;
import io.twinserve.api.server.ErrorHandlers;
import io.twinserve.api.server.MetricsExposure;
import io.twinserve.api.server.infra.DependencyUnavailable;

/**
 * Every call but health, the API reference (the OpenAPI document and its page) and, when their exposure is
 * {@code public} or {@code off}, the metrics needs a key ({@code Authorization: Bearer
 * tsk_...}); the principal it names rides on the request for the controllers' permission checks.
 */
@ServerFilter("/**")
@Order(AuthFilter.ORDER)
public final class AuthFilter {
    /** After the drain (which refuses everything at a stop) and before the controllers. */
    static final int ORDER = 10;
    /** A key that was not in the cache, for {@link AuthLookupFilter} to check off the event loop. */
    static final String PENDING_KEY = "twinserve.auth.pending-key";
    /** A console session id (the cookie of a request without a key), for {@link AuthLookupFilter} to look up. */
    static final String PENDING_SESSION = "twinserve.auth.pending-session";

    private final AccessService access;
    private final ConsoleSessions sessions;
    private final boolean metricsNeedKey;

    public AuthFilter(
            AccessService access,
            ConsoleSessions sessions,
            @Value("${" + MetricsExposure.PROPERTY + ":operators}") String metricsExposure) {
        this.access = access;
        this.sessions = sessions;
        this.metricsNeedKey = MetricsExposure.parse(metricsExposure) == MetricsExposure.OPERATORS;
    }

    boolean isPublic(String path) {
        return path.equals("/health")
                || path.startsWith("/health/")
                || (path.equals("/metrics") && !metricsNeedKey)
                || path.startsWith("/openapi/")
                || path.equals("/docs/api")
                || path.startsWith("/docs/api/")
                // the console's page and static files, and its sign-in (which checks the key itself)
                || path.equals("/")
                || path.startsWith("/console/assets/")
                || path.startsWith("/console/vendor/")
                || path.equals("/console/session");
    }

    @RequestFilter
    @Nullable
    public HttpResponse<?> filter(HttpRequest<?> request) {
        if (isPublic(request.getPath())) {
            return null;
        }
        String header = request.getHeaders().getAuthorization().orElse(null);
        if (header == null) {
            String session = request.getCookies()
                    .findCookie(ConsoleSessions.COOKIE)
                    .map(c -> c.getValue())
                    .orElse(null);
            if (session != null) {
                // a console session: looked up in Redis off the event loop, as a key's cache miss is
                request.setAttribute(PENDING_SESSION, session);
                return null;
            }
        }
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7) || header.length() <= 7) {
            return reject(
                    "no API key: send the header 'Authorization: Bearer <key>' (create one with twinserve admin create-key)");
        }
        String key = header.substring(7).strip();
        Principal cached = access.cached(key);
        if (cached != null) {
            request.setAttribute(Principal.ATTRIBUTE, cached);
            return null;
        }
        // a miss (once a second per key at most) reads PostgreSQL: AuthLookupFilter does it on a blocking thread,
        // so that a slow or unreachable database never stalls the event loop that serves cached keys
        request.setAttribute(PENDING_KEY, key);
        return null;
    }

    /** Reads the key's user and grants from PostgreSQL: the principal set, or the refusal to answer. */
    HttpResponse<?> check(HttpRequest<?> request, String key) {
        Principal p;
        try {
            p = access.authenticate(key);
        } catch (DependencyUnavailable e) {
            // fails closed: no key is taken on trust while its grants cannot be read
            return ErrorHandlers.unavailable(e);
        }
        if (p == null) {
            return reject("the API key is not valid (unknown or revoked)");
        }
        request.setAttribute(Principal.ATTRIBUTE, p);
        return null;
    }

    /**
     * Authenticates a console session: the key it was opened with must still be valid, and a request that changes
     * anything must carry the session's CSRF token (the cookie alone would let another site's form act as the
     * user, SameSite aside).
     */
    HttpResponse<?> checkSession(HttpRequest<?> request, String id) {
        ConsoleSessions.Session s;
        Principal p;
        try {
            s = sessions.find(id);
            p = s == null ? null : access.authenticateHash(s.keyHash());
        } catch (DependencyUnavailable e) {
            return ErrorHandlers.unavailable(e);
        }
        if (s == null) {
            return reject("the console session has ended (signed out or expired): sign in again, or send the header"
                    + " 'Authorization: Bearer <key>'");
        }
        if (p == null) {
            sessions.close(id);
            return reject("the API key this console session was opened with is no longer valid (revoked)");
        }
        if (!safe(request.getMethodName())
                && !s.csrf().equals(request.getHeaders().get(ConsoleSessions.CSRF_HEADER))) {
            ApiException e = ApiException.forbidden("a console request that changes anything must carry the session's"
                    + " CSRF token in the " + ConsoleSessions.CSRF_HEADER + " header");
            return HttpResponse.status(HttpStatus.FORBIDDEN)
                    .contentType(MediaType.APPLICATION_JSON_TYPE)
                    .body(e.body());
        }
        request.setAttribute(Principal.ATTRIBUTE, p);
        return null;
    }

    private static boolean safe(String method) {
        return method.equals("GET") || method.equals("HEAD") || method.equals("OPTIONS");
    }

    private static HttpResponse<?> reject(String message) {
        ApiException e = ApiException.unauthorized(message);
        return HttpResponse.status(HttpStatus.UNAUTHORIZED)
                .contentType(MediaType.APPLICATION_JSON_TYPE)
                .body(e.body());
    }

    /** The caller, set by the filter. */
    public static Principal principal(HttpRequest<?> request) {
        return request.getAttribute(Principal.ATTRIBUTE, Principal.class)
                .orElseThrow(() -> ApiException.unauthorized("no API key on this request"));
    }

    /** Fails with 403 unless the caller has at least {@code role}. */
    public static Principal require(HttpRequest<?> request, Role role) {
        Principal p = principal(request);
        if (!p.role().atLeast(role)) {
            throw ApiException.forbidden("this needs the " + role.wire() + " role; the key's user '" + p.user()
                    + "' has " + p.role().wire());
        }
        return p;
    }
}
