package io.twinserve.api.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.micronaut.context.annotation.Replaces;
import io.micronaut.context.annotation.Requires;
import io.micronaut.core.convert.exceptions.ConversionErrorException;
import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.exceptions.ContentLengthExceededException;
import io.micronaut.http.server.exceptions.ContentLengthExceededHandler;
import io.micronaut.http.server.exceptions.ConversionErrorHandler;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import io.micronaut.http.server.exceptions.JacksonExceptionHandler;
import io.micronaut.http.server.exceptions.UnsatisfiedRouteHandler;
import io.micronaut.http.server.exceptions.response.ErrorContext;
import io.micronaut.http.server.exceptions.response.JsonErrorResponseBodyProvider;
import io.micronaut.web.router.exceptions.UnsatisfiedRouteException;
import io.twinserve.api.server.infra.Dependencies;
import io.twinserve.api.server.infra.DependencyUnavailable;
import jakarta.inject.Singleton;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns every failure into OpenAI's error JSON with a 4xx status when the caller is at fault. The handlers
 * for exceptions that Micronaut handles too replace its own (two handlers of one type answer 500).
 */
public final class ErrorHandlers {
    private static final Logger LOG = LoggerFactory.getLogger(ErrorHandlers.class);

    private ErrorHandlers() {}

    static MutableHttpResponse<?> respond(HttpStatus status, String type, String param, String code, String message) {
        return HttpResponse.status(status)
                .contentType(MediaType.APPLICATION_JSON_TYPE)
                .body(ApiException.errorBody(message, type, param, code));
    }

    @Singleton
    @Produces
    @Requires(classes = {ApiException.class, ExceptionHandler.class})
    static final class Api implements ExceptionHandler<ApiException, HttpResponse<?>> {
        @Override
        public HttpResponse<?> handle(HttpRequest request, ApiException e) {
            MutableHttpResponse<?> r = respond(e.status(), e.type(), e.param(), e.code(), e.getMessage());
            if (e.retryAfterSeconds() > 0) {
                return r.header(HttpHeaders.RETRY_AFTER, Integer.toString(e.retryAfterSeconds()));
            }
            return r;
        }
    }

    @Singleton
    @Produces
    @Requires(classes = {JsonProcessingException.class, ExceptionHandler.class})
    @Replaces(JacksonExceptionHandler.class)
    static final class Json implements ExceptionHandler<JsonProcessingException, HttpResponse<?>> {
        @Override
        public HttpResponse<?> handle(HttpRequest request, JsonProcessingException e) {
            return respond(
                    HttpStatus.BAD_REQUEST, "invalid_request_error", null, "invalid_json", Bodies.invalidJson(e));
        }
    }

    @Singleton
    @Produces
    @Requires(classes = {ContentLengthExceededException.class, ExceptionHandler.class})
    @Replaces(ContentLengthExceededHandler.class)
    static final class TooLarge implements ExceptionHandler<ContentLengthExceededException, HttpResponse<?>> {
        @Override
        public HttpResponse<?> handle(HttpRequest request, ContentLengthExceededException e) {
            return respond(
                    HttpStatus.REQUEST_ENTITY_TOO_LARGE,
                    "invalid_request_error",
                    null,
                    "request_too_large",
                    "the request body is too large: " + e.getMessage()
                            + " (the limit is set by TWINSERVE_MAX_REQUEST_BYTES)");
        }
    }

    @Singleton
    @Produces
    @Requires(classes = {ConversionErrorException.class, ExceptionHandler.class})
    @Replaces(ConversionErrorHandler.class)
    static final class Conversion implements ExceptionHandler<ConversionErrorException, HttpResponse<?>> {
        @Override
        public HttpResponse<?> handle(HttpRequest request, ConversionErrorException e) {
            return respond(
                    HttpStatus.BAD_REQUEST,
                    "invalid_request_error",
                    e.getArgument().getName(),
                    null,
                    "'" + e.getArgument().getName() + "' could not be read: " + e.getMessage());
        }
    }

    @Singleton
    @Produces
    @Requires(classes = {UnsatisfiedRouteException.class, ExceptionHandler.class})
    @Replaces(UnsatisfiedRouteHandler.class)
    static final class Unsatisfied implements ExceptionHandler<UnsatisfiedRouteException, HttpResponse<?>> {
        @Override
        public HttpResponse<?> handle(HttpRequest request, UnsatisfiedRouteException e) {
            String name = e.getArgument().getName();
            if (name.equals("body")) {
                return respond(
                        HttpStatus.BAD_REQUEST,
                        "invalid_request_error",
                        null,
                        null,
                        "the request body is empty; expected a JSON object");
            }
            return respond(HttpStatus.BAD_REQUEST, "invalid_request_error", name, null, e.getMessage());
        }
    }

    @Singleton
    @Produces
    @Requires(classes = {IllegalArgumentException.class, ExceptionHandler.class})
    static final class BadArgument implements ExceptionHandler<IllegalArgumentException, HttpResponse<?>> {
        @Override
        public HttpResponse<?> handle(HttpRequest request, IllegalArgumentException e) {
            return respond(HttpStatus.BAD_REQUEST, "invalid_request_error", null, null, e.getMessage());
        }
    }

    @Singleton
    @Produces
    @Requires(classes = {DependencyUnavailable.class, ExceptionHandler.class})
    static final class Unavailable implements ExceptionHandler<DependencyUnavailable, HttpResponse<?>> {
        @Override
        public HttpResponse<?> handle(HttpRequest request, DependencyUnavailable e) {
            return unavailable(e);
        }
    }

    /** 503 naming the dependency, with the seconds after which its circuit breaker probes it again. */
    public static HttpResponse<?> unavailable(DependencyUnavailable e) {
        return HttpResponse.status(HttpStatus.SERVICE_UNAVAILABLE)
                .contentType(MediaType.APPLICATION_JSON_TYPE)
                .header(HttpHeaders.RETRY_AFTER, Integer.toString(e.retryAfterSeconds()))
                .body(ApiException.errorBody(
                        e.dependency() + " is unavailable; retry in " + e.retryAfterSeconds() + " s",
                        "server_error",
                        null,
                        "dependency_unavailable"));
    }

    @Singleton
    @Produces
    @Requires(classes = {RuntimeException.class, ExceptionHandler.class})
    static final class Unexpected implements ExceptionHandler<RuntimeException, HttpResponse<?>> {
        private final Dependencies dependencies;

        Unexpected(Dependencies dependencies) {
            this.dependencies = dependencies;
        }

        @Override
        public HttpResponse<?> handle(HttpRequest request, RuntimeException e) {
            if (Dependencies.isOutage(e)) {
                // an outage met outside a guarded query (the transaction manager's connection, a Redis call)
                String which = isRedis(e) ? Dependencies.REDIS : Dependencies.POSTGRESQL;
                if (which.equals(Dependencies.POSTGRESQL)) {
                    dependencies.recordDatabaseOutage(e);
                }
                // one line per request would flood the log during an outage: the breaker logs its transitions
                LOG.debug("{} {}: {} unavailable ({})", request.getMethod(), request.getPath(), which, rootMessage(e));
                return unavailable(new DependencyUnavailable(which, dependencies.retryAfterSeconds(), e));
            }
            return internalError(request, e);
        }
    }

    /** A JVM error in a request (a linkage error, an OutOfMemoryError): logged, and never its text to the caller. */
    @Singleton
    @Produces
    @Requires(classes = {Error.class, ExceptionHandler.class})
    static final class Fatal implements ExceptionHandler<Error, HttpResponse<?>> {
        @Override
        public HttpResponse<?> handle(HttpRequest request, Error e) {
            return internalError(request, e);
        }
    }

    /** 500: the details go to the log under an id; the caller gets the id, never Java's own text. */
    private static HttpResponse<?> internalError(HttpRequest<?> request, Throwable e) {
        String id = Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 16);
        LOG.error("{} {} failed (error id {})", request.getMethod(), request.getPath(), id, e);
        return respond(
                HttpStatus.INTERNAL_SERVER_ERROR,
                "server_error",
                null,
                null,
                "internal error (error id " + id + " in the server log); please report it");
    }

    private static boolean isRedis(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getClass().getName().startsWith("io.lettuce")) {
                return true;
            }
        }
        return false;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + ": " + t.getMessage();
    }

    /**
     * The body of the errors Micronaut answers itself (unknown path 404, wrong method 405, ...), in OpenAI's
     * shape like all of ours.
     */
    @Singleton
    @Replaces(JsonErrorResponseBodyProvider.class)
    static final class ErrorBody implements JsonErrorResponseBodyProvider<Map<String, Object>> {
        @Override
        public Map<String, Object> body(ErrorContext context, HttpResponse<?> response) {
            StringBuilder message = new StringBuilder();
            for (var e : context.getErrors()) {
                message.append(message.isEmpty() ? "" : "; ").append(e.getMessage());
            }
            if (message.isEmpty()) {
                message.append(response.getStatus().getReason());
            }
            int code = response.code();
            String type = code >= 500
                    ? "server_error"
                    : code == 401 ? "authentication_error" : code == 403 ? "permission_error" : "invalid_request_error";
            return ApiException.errorBody(message.toString(), type, null, code == 404 ? "not_found" : null);
        }
    }
}
