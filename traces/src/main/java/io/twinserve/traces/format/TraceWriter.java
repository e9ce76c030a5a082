package io.twinserve.traces.format;

import io.twinserve.traces.Request;
import java.io.Closeable;
import java.io.IOException;

/** Writes requests to a trace file in one format. */
public interface TraceWriter extends Closeable {

    void write(Request request) throws IOException;
}
