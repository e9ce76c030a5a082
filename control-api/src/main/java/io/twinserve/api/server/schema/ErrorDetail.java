package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** What was wrong, in words and as codes a client can branch on. */
public record ErrorDetail(
        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description = "what was wrong, where, and what is expected")
        String message,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description = "invalid_request_error, authentication_error, permission_error, timeout_error or"
                        + " server_error")
        String type,

        @Schema(nullable = true, description = "the request field at fault, when there is one")
        String param,

        @Schema(nullable = true, description = "a machine-readable code such as not_found or invalid_api_key")
        String code) {}
