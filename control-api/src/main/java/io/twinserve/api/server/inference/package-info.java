/**
 * OpenAI-compatible inference: the endpoints, live and simulated deployments and their replicas, the
 * routing of each request through the twin's routers (with the Redis session store), and inference metrics.
 */
package io.twinserve.api.server.inference;
