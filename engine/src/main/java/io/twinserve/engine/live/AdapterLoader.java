package io.twinserve.engine.live;

import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelConfig;

/**
 * Brings a registered adapter from storage into host memory; the live loop calls it on its own thread
 * when the adapter cache moves the adapter into the host tier. A failure ends only the requests that
 * need the adapter.
 */
@FunctionalInterface
public interface AdapterLoader {

    /** Reads the adapter registered as {@code name} for {@code base}. */
    LoraAdapter load(String name, ModelConfig base);
}
