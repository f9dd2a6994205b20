package dev.keystone.model;

import java.time.Instant;

/**
 * How a gateway stands with its config store (cluster mode): what it serves and whether it can
 * still hear about changes. An unreachable store does not make the gateway unready: it keeps
 * serving the last valid config and says so here (readiness detail, status, metrics, dashboard).
 *
 * @param store           the store, {@code etcd://host:port/prefix}
 * @param revision        the store revision of the config being served
 * @param reachable       whether the last call to the store succeeded
 * @param problem         why the store is unreachable (null when reachable)
 * @param since           when {@code reachable} last changed
 * @param fromCache       whether the gateway started from its cached copy and has not caught up since
 * @param refusedRevision the newest revision refused as invalid (0: none)
 * @param refusal         its first error (null: none)
 */
public record StoreStatus(String store, long revision, boolean reachable, String problem, Instant since,
                          boolean fromCache, long refusedRevision, String refusal) {
}
