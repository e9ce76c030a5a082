/**
 * The API's request and response bodies as the OpenAPI document lists them (with snake_case keys):
 * records that mirror what the controllers read by hand (so that a mistake is answered with the field's
 * name and the closest known one) and what they answer. {@code OpenApiDocumentTest} holds them to the
 * server's real answers and to the keys the parsers accept.
 */
package io.twinserve.api.server.schema;
