package dev.keystone.gateway;

import dev.keystone.upstream.Backend;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Drains a backend by name: finds it in the snapshot's tenants and sets the drained flag of its
 * runtime state (shared by every tenant using the same URL: it is one server under maintenance).
 */
final class Drains {

  private Drains() {
  }

  /** Drains or undrains; returns what matched (tenant to backend), empty when nothing did. */
  static List<DrainResult.Match> apply(Snapshot snapshot, String backend, String tenant, boolean on, Instant now,
                                       Events events) {
    List<DrainResult.Match> matches = new ArrayList<>();
    Map<String, List<String>> changed = new LinkedHashMap<>(); // url to tenants, for the event log
    for (Tenant t : snapshot.tenants()) {
      if (tenant != null && !tenant.equals(t.name())) {
        continue;
      }
      for (Backend b : t.pool().backends()) {
        if (b.name().equals(backend)) {
          matches.add(new DrainResult.Match(t.name(), b.name(), b.url()));
          if (b.health().drain(on, now) || changed.containsKey(b.url())) {
            changed.computeIfAbsent(b.url(), k -> new ArrayList<>()).add(t.name());
          }
        }
      }
    }
    changed.forEach((url, tenants) -> events.add(new Events.Drain(now, backend, url, tenants, on)));
    return matches;
  }
}
