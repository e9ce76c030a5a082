/** The autoscaler policies that decide, tick by tick, when a deployment adds or drains a replica. */
package io.twinserve.twin.autoscale;
