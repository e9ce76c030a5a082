package io.twinserve.engine.live;

import java.util.List;

/**
 * Finds stop strings in streamed text: text is released only once it cannot be the start of a stop
 * string, so a client never sees part of one.
 */
final class StopMatcher {
    private final List<String> stops;
    private final StringBuilder text = new StringBuilder();
    private int released;
    private boolean stopped;

    StopMatcher(List<String> stops) {
        this.stops = stops;
    }

    /** Adds text; returns what may be released now. */
    String offer(String delta) {
        if (stopped) {
            return "";
        }
        text.append(delta);
        if (stops.isEmpty()) {
            String out = text.substring(released);
            released = text.length();
            return out;
        }
        int longest = 0;
        for (String s : stops) {
            longest = Math.max(longest, s.length());
        }
        int from = Math.max(0, released - longest + 1);
        int hit = -1;
        for (String s : stops) {
            int at = text.indexOf(s, from);
            if (at >= 0 && (hit < 0 || at < hit)) {
                hit = at;
            }
        }
        if (hit >= 0) {
            stopped = true;
            String out = text.substring(released, Math.max(released, hit));
            text.setLength(Math.max(released, hit));
            released = text.length();
            return out;
        }
        int safe = text.length() - heldBack();
        String out = text.substring(released, Math.max(released, safe));
        released = Math.max(released, safe);
        return out;
    }

    /** The length of the longest suffix of the text that starts some stop string. */
    private int heldBack() {
        int best = 0;
        for (String s : stops) {
            for (int k = Math.min(s.length() - 1, text.length()); k > best; k--) {
                if (endsWith(s, k)) {
                    best = k;
                    break;
                }
            }
        }
        return best;
    }

    private boolean endsWith(String s, int k) {
        int off = text.length() - k;
        for (int i = 0; i < k; i++) {
            if (text.charAt(off + i) != s.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** Releases what was held back (the request ended without a stop string). */
    String flush() {
        String out = text.substring(released);
        released = text.length();
        return out;
    }

    boolean stopped() {
        return stopped;
    }

    String text() {
        return text.toString();
    }
}
