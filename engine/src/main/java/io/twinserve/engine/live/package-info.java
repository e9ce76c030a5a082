/** The live serving loop: the twin's scheduler on the wall clock with a backend executing its steps, adapters loaded across tiers, tokens streamed to callers. */
package io.twinserve.engine.live;
