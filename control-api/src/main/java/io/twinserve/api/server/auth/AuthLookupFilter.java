package io.twinserve.api.server.auth;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.annotation.Order;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;

/**
 * The second half of {@link AuthFilter}: a key that was not in the cache is checked in PostgreSQL here, on a
 * blocking thread. Only misses pay the hop (a key is looked up at most once a second); while PostgreSQL is
 * slow or down the event loops go on serving the keys in the cache, and the miss fails closed with 503.
 */
@ServerFilter("/**")
@Order(AuthFilter.ORDER + 1)
public final class AuthLookupFilter {
    private final AuthFilter auth;

    public AuthLookupFilter(AuthFilter auth) {
        this.auth = auth;
    }

    @RequestFilter
    @ExecuteOn(TaskExecutors.BLOCKING)
    @Nullable
    public HttpResponse<?> lookup(HttpRequest<?> request) {
        String session =
                request.getAttribute(AuthFilter.PENDING_SESSION, String.class).orElse(null);
        if (session != null) {
            request.removeAttribute(AuthFilter.PENDING_SESSION, String.class);
            return auth.checkSession(request, session);
        }
        String key = request.getAttribute(AuthFilter.PENDING_KEY, String.class).orElse(null);
        if (key == null) {
            return null;
        }
        request.removeAttribute(AuthFilter.PENDING_KEY, String.class);
        return auth.check(request, key);
    }
}
