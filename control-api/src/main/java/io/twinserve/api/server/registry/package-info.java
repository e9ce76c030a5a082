/** The registry: models, adapters, compute pools and deployments, shaped like Adaptive Engine's compute config. */
package io.twinserve.api.server.registry;
