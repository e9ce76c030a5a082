/** The Micronaut server of twinserve serve: its start-up, error mapping, metrics and OpenAPI header; the features live in the subpackages. */
package io.twinserve.api.server;
