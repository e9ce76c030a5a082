package io.twinserve.api.server.inference;

import io.twinserve.engine.backend.Backend;
import io.twinserve.engine.live.LiveEngine;
import java.util.concurrent.atomic.AtomicInteger;

/** One replica of a deployment in this server: its live loop, its backend and its requests in flight. */
final class ReplicaHandle implements AutoCloseable {
  final int index;
  final Backend backend;
  final LiveEngine engine;
  final AtomicInteger inFlight = new AtomicInteger();

  ReplicaHandle(int index, Backend backend, LiveEngine engine) {
    this.index = index;
    this.backend = backend;
    this.engine = engine;
  }

  @Override
  public void close() {
    try {
      engine.close();
    } finally {
      backend.close();
    }
  }
}
