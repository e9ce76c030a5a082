/** The benchmark client between a workload and the simulation loop: caps on outstanding requests and closed-loop users. */
package io.twinserve.twin.client;
