package dev.keystone.engine;

import java.util.concurrent.ConcurrentHashMap;

/**
 * When each engine (by address) last answered a call of this gateway's, for the supervisor: an
 * engine that answers calls is busy, not hung, however slow its health check (attack round 6 on
 * the Node engine, N6-1: under tenants rebuilding big isolates, /health took up to 2 s while calls
 * were answered; three such checks got the shared engine killed, and every tenant's kv with it).
 * Process-wide because the engine clients (one per proxy server) and the supervisor meet only here.
 */
final class EngineActivity {

  private static final ConcurrentHashMap<String, Long> LAST_ANSWER = new ConcurrentHashMap<>();

  private EngineActivity() {
  }

  /** The engine at {@code url} answered a call now. */
  static void answered(String url) {
    LAST_ANSWER.put(url, System.nanoTime());
  }

  /** Whether the engine at {@code url} answered a call within the last {@code nanos}. */
  static boolean answeredWithin(String url, long nanos) {
    Long at = LAST_ANSWER.get(url);
    return at != null && System.nanoTime() - at < nanos;
  }

  /** The engine at {@code url} is gone (stopped or replaced): forget it. */
  static void forget(String url) {
    LAST_ANSWER.remove(url);
  }
}
