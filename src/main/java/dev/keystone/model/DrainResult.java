package dev.keystone.model;

import java.util.List;

/**
 * What a drain or undrain touched.
 *
 * @param matches every tenant backend affected: those of that name and those sharing their URL
 *                (empty: no backend has that name)
 */
public record DrainResult(String backend, boolean drained, List<Match> matches) {

  /** One tenant's backend that matched. */
  public record Match(String tenant, String backend, String url) {
  }

  public DrainResult {
    matches = List.copyOf(matches);
  }
}
