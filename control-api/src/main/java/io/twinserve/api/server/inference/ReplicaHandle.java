package io.twinserve.api.server.inference;

import io.twinserve.engine.backend.Backend;
import io.twinserve.engine.live.LiveEngine;
import io.twinserve.engine.serve.LiveReplicas;
import java.util.concurrent.atomic.AtomicInteger;

/** One replica of a deployment in this server: its live loop, its backend and its requests in flight. */
final class ReplicaHandle implements AutoCloseable {
  final int index;
  final Backend backend;
  final LiveEngine engine;
  final AtomicInteger inFlight = new AtomicInteger();
  private final LiveReplicas.Replica replica;

  ReplicaHandle(int index, LiveReplicas.Replica replica) {
    this.index = index;
    this.replica = replica;
    this.backend = replica.backend();
    this.engine = replica.engine();
  }

  /** Stops the loop and releases the backend and the model files. */
  @Override
  public void close() {
    replica.close();
  }
}
