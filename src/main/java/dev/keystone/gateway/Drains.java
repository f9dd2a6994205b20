package dev.keystone.gateway;

import dev.keystone.model.Snapshot;
import dev.keystone.model.Tenant;
import dev.keystone.model.Events;
import dev.keystone.model.DrainResult;


import dev.keystone.model.Backend;
import dev.keystone.model.BackendHealth;

import java.time.Instant;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Drains a backend by name: finds it in the snapshot's tenants and sets the drained flag of its
 * runtime state. That state belongs to the backend's URL, so every tenant using the same server
 * stops sending it requests: it is one server under maintenance.
 */
final class Drains {

  private Drains() {
  }

  /**
   * Drains or undrains the backends called {@code backend} (in {@code tenant}, or in all when
   * null). Returns every tenant backend affected: those of that name, and those of other names
   * or tenants that share their state (the same URL and health path); empty when no name matched.
   */
  static List<DrainResult.Match> apply(Snapshot snapshot, String backend, String tenant, boolean on, Instant now,
                                       Events events) {
    Set<BackendHealth> states = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    for (Tenant t : snapshot.tenants()) {
      if (tenant == null || tenant.equals(t.name())) {
        for (Backend b : t.pool().backends()) {
          if (b.name().equals(backend)) {
            states.add(b.health());
          }
        }
      }
    }
    List<DrainResult.Match> affected = new ArrayList<>();
    Map<BackendHealth, List<String>> changed = new LinkedHashMap<>(); // for the event log: state to tenants
    Map<BackendHealth, String> urls = new IdentityHashMap<>();
    for (BackendHealth h : states) {
      if (h.drain(on, now)) {
        changed.put(h, new ArrayList<>());
      }
    }
    for (Tenant t : snapshot.tenants()) {
      for (Backend b : t.pool().backends()) {
        if (states.contains(b.health())) {
          affected.add(new DrainResult.Match(t.name(), b.name(), b.url()));
          urls.putIfAbsent(b.health(), b.url());
          List<String> tenants = changed.get(b.health());
          if (tenants != null && !tenants.contains(t.name())) {
            tenants.add(t.name());
          }
        }
      }
    }
    changed.forEach((h, tenants) -> events.add(new Events.Drain(now, backend, urls.get(h), tenants, on)));
    return affected;
  }
}
