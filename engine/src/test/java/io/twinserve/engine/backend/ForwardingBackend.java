package io.twinserve.engine.backend;

import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelConfig;

/**
 * A backend that hands everything to another, for tests that change one thing about a real backend (its forward
 * pass fails, it draws on a device): override what differs.
 */
public abstract class ForwardingBackend implements Backend {
    protected final Backend inner;

    protected ForwardingBackend(Backend inner) {
        this.inner = inner;
    }

    @Override
    public ModelConfig config() {
        return inner.config();
    }

    @Override
    public long kvCacheTokens() {
        return inner.kvCacheTokens();
    }

    @Override
    public int blockSize() {
        return inner.blockSize();
    }

    @Override
    public int adapterSlots() {
        return inner.adapterSlots();
    }

    @Override
    public long loadAdapter(int slot, LoraAdapter adapter) {
        return inner.loadAdapter(slot, adapter);
    }

    @Override
    public void unloadAdapter(int slot) {
        inner.unloadAdapter(slot);
    }

    @Override
    public void forward(ForwardBatch batch, float[] logits) {
        inner.forward(batch, logits);
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public void close() {
        inner.close();
    }
}
