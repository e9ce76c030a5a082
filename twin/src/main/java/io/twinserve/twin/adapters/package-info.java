/** The adapter cache: GPU slots, a host-memory tier and storage, with load times and LRU eviction. */
package io.twinserve.twin.adapters;
