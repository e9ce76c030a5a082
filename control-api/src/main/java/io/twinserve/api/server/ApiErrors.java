package io.twinserve.api.server;

import static java.lang.annotation.ElementType.ANNOTATION_TYPE;
import static java.lang.annotation.ElementType.METHOD;
import static java.lang.annotation.ElementType.TYPE;
import static java.lang.annotation.RetentionPolicy.RUNTIME;

import io.swagger.v3.oas.annotations.headers.Header;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.twinserve.api.server.schema.ErrorResponse;
import java.lang.annotation.Retention;
import java.lang.annotation.Target;

/**
 * The error answers of the OpenAPI document, one annotation per status, each with the body of
 * {@link ApiException} ({@link ErrorResponse}): an endpoint lists the ones it can answer.
 */
public final class ApiErrors {
    private ApiErrors() {}

    @Retention(RUNTIME)
    @Target({METHOD, TYPE, ANNOTATION_TYPE})
    @ApiResponse(
            responseCode = "400",
            description = "the request is invalid: a missing, malformed or unknown field, named in param",
            content = @Content(mediaType = "application/json", schema = @Schema(implementation = ErrorResponse.class)))
    public @interface BadRequest {}

    @Retention(RUNTIME)
    @Target({METHOD, TYPE, ANNOTATION_TYPE})
    @ApiResponse(
            responseCode = "401",
            description = "no API key, or one that is unknown or revoked",
            content = @Content(mediaType = "application/json", schema = @Schema(implementation = ErrorResponse.class)))
    public @interface Unauthorized {}

    @Retention(RUNTIME)
    @Target({METHOD, TYPE, ANNOTATION_TYPE})
    @ApiResponse(
            responseCode = "403",
            description = "the key's role or grants do not allow this",
            content = @Content(mediaType = "application/json", schema = @Schema(implementation = ErrorResponse.class)))
    public @interface Forbidden {}

    @Retention(RUNTIME)
    @Target({METHOD, TYPE, ANNOTATION_TYPE})
    @ApiResponse(
            responseCode = "404",
            description = "no such object (or one the key may not see)",
            content = @Content(mediaType = "application/json", schema = @Schema(implementation = ErrorResponse.class)))
    public @interface NotFound {}

    @Retention(RUNTIME)
    @Target({METHOD, TYPE, ANNOTATION_TYPE})
    @ApiResponse(
            responseCode = "409",
            description = "the name is taken, or the object is still used by another",
            content = @Content(mediaType = "application/json", schema = @Schema(implementation = ErrorResponse.class)))
    public @interface Conflict {}

    @Retention(RUNTIME)
    @Target({METHOD, TYPE, ANNOTATION_TYPE})
    @ApiResponse(
            responseCode = "408",
            description = "no first token within the deployment's max_ttft_ms (queue time included); not to be retried",
            headers = @Header(name = "x-should-retry", description = "false", schema = @Schema(type = "string")),
            content = @Content(mediaType = "application/json", schema = @Schema(implementation = ErrorResponse.class)))
    public @interface TtftTimeout {}

    @Retention(RUNTIME)
    @Target({METHOD, TYPE, ANNOTATION_TYPE})
    @ApiResponse(
            responseCode = "504",
            description = "the whole answer took longer than the server timeout (TWINSERVE_SERVER_TIMEOUT_SECONDS)",
            content = @Content(mediaType = "application/json", schema = @Schema(implementation = ErrorResponse.class)))
    public @interface GatewayTimeout {}

    @Retention(RUNTIME)
    @Target({METHOD, TYPE, ANNOTATION_TYPE})
    @ApiResponse(
            responseCode = "413",
            description = "the body is larger than TWINSERVE_MAX_REQUEST_BYTES",
            content = @Content(mediaType = "application/json", schema = @Schema(implementation = ErrorResponse.class)))
    public @interface TooLarge {}

    @Retention(RUNTIME)
    @Target({METHOD, TYPE, ANNOTATION_TYPE})
    @ApiResponse(
            responseCode = "422",
            description = "the configuration does not fit in memory (insufficient_gpu_memory, insufficient_memory)",
            content = @Content(mediaType = "application/json", schema = @Schema(implementation = ErrorResponse.class)))
    public @interface Unprocessable {}

    @Retention(RUNTIME)
    @Target({METHOD, TYPE, ANNOTATION_TYPE})
    @ApiResponse(
            responseCode = "500",
            description = "an internal error",
            content = @Content(mediaType = "application/json", schema = @Schema(implementation = ErrorResponse.class)))
    public @interface ServerError {}

    @Retention(RUNTIME)
    @Target({METHOD, TYPE, ANNOTATION_TYPE})
    @ApiResponse(
            responseCode = "503",
            description = "a dependency or the deployment is unavailable or overloaded; retry later",
            content = @Content(mediaType = "application/json", schema = @Schema(implementation = ErrorResponse.class)))
    public @interface Unavailable {}
}
