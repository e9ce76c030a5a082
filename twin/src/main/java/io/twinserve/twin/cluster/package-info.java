/**
 * The cluster twin: compute pools, deployments (each routed by a {@code twin.router} router), autoscalers
 * and TTFT deadlines, and the event loop that runs many replicas (each the twin core's scheduler, KV
 * manager and adapter cache).
 */
package io.twinserve.twin.cluster;
