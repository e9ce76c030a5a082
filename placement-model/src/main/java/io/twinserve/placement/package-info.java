/**
 * Scenario sweeps through the twin, datasets, Tribuo training and the {@code Planner}. Lands with the
 * placement-model issue (#5).
 */
package io.twinserve.placement;
