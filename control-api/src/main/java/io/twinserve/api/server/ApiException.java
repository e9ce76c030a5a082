package io.twinserve.api.server;

import io.micronaut.http.HttpStatus;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An error that the API answers with its status and OpenAI's error JSON: {@code {"error": {"message",
 * "type", "param", "code"}}}. The message says what was wrong and what was expected.
 */
public final class ApiException extends RuntimeException {
    private final HttpStatus status;
    private final String type;
    private final String param;
    private final String code;
    private int retryAfterSeconds;

    public ApiException(HttpStatus status, String type, String param, String code, String message) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    public static ApiException badRequest(String param, String message) {
        return new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", param, null, message);
    }

    public static ApiException notFound(String param, String message) {
        return new ApiException(HttpStatus.NOT_FOUND, "invalid_request_error", param, "not_found", message);
    }

    public static ApiException conflict(String param, String message) {
        return new ApiException(HttpStatus.CONFLICT, "invalid_request_error", param, "conflict", message);
    }

    public static ApiException unauthorized(String message) {
        return new ApiException(HttpStatus.UNAUTHORIZED, "authentication_error", null, "invalid_api_key", message);
    }

    public static ApiException forbidden(String message) {
        return new ApiException(HttpStatus.FORBIDDEN, "permission_error", null, "permission_denied", message);
    }

    /** A 503 for overload: the API adds {@code Retry-After} with these seconds. */
    public static ApiException overloaded(String message, int retryAfterSeconds) {
        ApiException e = new ApiException(HttpStatus.SERVICE_UNAVAILABLE, "server_error", null, "overloaded", message);
        e.retryAfterSeconds = Math.max(1, retryAfterSeconds);
        return e;
    }

    /** Seconds for a {@code Retry-After} header; 0 for none. */
    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }

    public ApiException retryAfter(int seconds) {
        this.retryAfterSeconds = Math.max(1, seconds);
        return this;
    }

    public HttpStatus status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }

    /** The body OpenAI clients parse. */
    public Map<String, Object> body() {
        return errorBody(getMessage(), type, param, code);
    }

    public static Map<String, Object> errorBody(String message, String type, String param, String code) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("message", message);
        e.put("type", type);
        e.put("param", param);
        e.put("code", code);
        return Map.of("error", e);
    }
}
