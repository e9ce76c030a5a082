package io.twinserve.traces.spec;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.jsontype.TypeDeserializer;
import java.io.IOException;

/**
 * How the benchmark client sends a workload's requests: open loop at their intended arrival times
 * (optionally with at most {@code max_outstanding} requests in flight, the rest waiting at the client in
 * arrival order), or closed loop with {@code users} users who each send their next request
 * {@code think_time_s} after their previous one ended. Without a {@code client} block every request is
 * sent at its intended time, whatever the server does.
 *
 * @param maxOutstanding at most this many requests sent and not yet ended (finished, timed out with 408 or
 *     rejected); null for no cap
 * @param users closed loop: this many users, each with one request at a time; null for open loop
 * @param thinkTimeS closed loop: the pause between a user's answer and its next request, in seconds (a
 *     number, or a distribution); default 0
 */
public record ClientSpec(
        Integer maxOutstanding,
        Integer users,

        @JsonDeserialize(using = ClientSpec.SecondsOrDistribution.class)
        DistributionSpec thinkTimeS) {

    public ClientSpec {
        if (maxOutstanding != null) {
            Check.atLeast("max_outstanding", maxOutstanding, 1);
        }
        if (users != null) {
            Check.atLeast("users", users, 1);
        }
        if (thinkTimeS != null && users == null) {
            throw new SpecException("think_time_s", "applies to closed-loop clients only; give users: N as well");
        }
        if (users != null && thinkTimeS == null) {
            thinkTimeS = new DistributionSpec.Fixed(0.0);
        }
    }

    /** A client that only caps outstanding requests. */
    public static ClientSpec capped(int maxOutstanding) {
        return new ClientSpec(maxOutstanding, null, null);
    }

    /** The same client with another cap (the command line's {@code --max-outstanding}). */
    public ClientSpec withMaxOutstanding(int cap) {
        return new ClientSpec(cap, users, thinkTimeS);
    }

    /** Whether it neither caps nor loops (an empty block, which a workload spec refuses). */
    public boolean empty() {
        return maxOutstanding == null && users == null;
    }

    /** Whether users send in a closed loop. */
    public boolean closedLoop() {
        return users != null;
    }

    /** Reads a number of seconds as a fixed distribution, and a mapping as any distribution. */
    static final class SecondsOrDistribution extends JsonDeserializer<DistributionSpec> {
        @Override
        public DistributionSpec deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
            if (p.currentToken() == JsonToken.VALUE_NUMBER_INT || p.currentToken() == JsonToken.VALUE_NUMBER_FLOAT) {
                double seconds = p.getDoubleValue();
                if (!(seconds >= 0) || !Double.isFinite(seconds)) {
                    throw new SpecException("", "must be >= 0 seconds (or a distribution), got " + Check.fmt(seconds));
                }
                return new DistributionSpec.Fixed(seconds);
            }
            return ctxt.readValue(p, DistributionSpec.class);
        }

        // the polymorphic type handling of DistributionSpec would otherwise bypass the number case
        @Override
        public Object deserializeWithType(JsonParser p, DeserializationContext ctxt, TypeDeserializer types)
                throws IOException {
            return deserialize(p, ctxt);
        }
    }
}
