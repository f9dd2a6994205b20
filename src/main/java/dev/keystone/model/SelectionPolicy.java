package dev.keystone.model;

import java.util.List;

/**
 * Chooses the backend for one request. Implementations must be thread-safe and lock-free: they
 * run on every event loop for every request.
 */
public interface SelectionPolicy {

  /**
   * @param backends the tenant's backends, in config order
   * @param exclude  a backend that just failed for this request (skip it), or null
   * @return a healthy backend, or null when none is healthy (the caller applies the fallback)
   */
  Backend select(List<Backend> backends, Backend exclude);
}
