/**
 * Step executors and how they are built: the {@link io.twinserve.engine.backend.Backend} role, its
 * {@link io.twinserve.engine.backend.BackendSpec} and the {@link io.twinserve.engine.backend.Backends}
 * factory, with one subpackage per backend ({@code cpu}, {@code sim}; a CUDA backend will go in
 * {@code engine.backend.cuda}).
 */
package io.twinserve.engine.backend;
