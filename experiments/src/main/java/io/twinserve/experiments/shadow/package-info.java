/**
 * Shadow mode: a deployment's twin run beside it on the same arrivals, window by window, with the predicted
 * and measured figures compared and a drift alarm when they part.
 */
package io.twinserve.experiments.shadow;
