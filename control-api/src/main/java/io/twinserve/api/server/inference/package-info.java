/** OpenAI-compatible inference: the endpoints, live and simulated deployments and their replicas, session routing and inference metrics. */
package io.twinserve.api.server.inference;
