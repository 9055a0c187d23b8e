/**
 * eventfd(2) semantics in the JVM and through real Linux eventfds, and the poller a worker waits on.
 */
package io.jvirtio.bus.event;
