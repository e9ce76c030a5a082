package io.twinserve.api.server;

import io.swagger.v3.oas.annotations.OpenAPIDefinition;
import io.swagger.v3.oas.annotations.enums.SecuritySchemeType;
import io.swagger.v3.oas.annotations.info.Info;
import io.swagger.v3.oas.annotations.security.SecurityScheme;

/** The generated OpenAPI document's header; the document is served at {@code /openapi/twinserve-0.1.yml}. */
@OpenAPIDefinition(
        info =
                @Info(
                        title = "twinserve",
                        version = "0.1",
                        description =
                                "OpenAI-compatible inference (live and simulated deployments), registry, what-if jobs and plans"))
@SecurityScheme(name = "bearer", type = SecuritySchemeType.HTTP, scheme = "bearer")
final class ApiDocument {
    private ApiDocument() {}
}
