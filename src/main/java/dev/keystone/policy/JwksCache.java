package dev.keystone.policy;

import com.nimbusds.jose.jwk.JWKSet;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * Issuers' public keys (JWK sets) fetched from their {@code jwks_url}, off the request path: at
 * start, every {@code jwks_refresh}, and (at most once per {@link #UNKNOWN_KEY_MS}) when a token
 * names a key id the set lacks, which is how an issuer's key rotation arrives. A fetch that fails,
 * or answers something that is not a key set, keeps the keys already held. Runtime state kept
 * across reloads by URL; each answer is read up to {@link #MAX_BODY} within {@link #TIMEOUT_MS}.
 */
public final class JwksCache implements AutoCloseable {

  static final int MAX_BODY = 1 << 20;
  static final long TIMEOUT_MS = 5000;
  static final long UNKNOWN_KEY_MS = 10_000;
  /** The most keys kept of a set (issuers publish a few; a token is checked against the one its kid names). */
  public static final int MAX_KEYS = 20;
  private static final Logger LOG = Logger.getLogger("keystone.jwt");

  private static final class Entry {
    volatile JWKSet keys = new JWKSet();
    volatile long refreshMs;
    volatile long fetchedAt; // System.nanoTime() of the last attempt; 0: never
    volatile long unknownAt; // System.nanoTime() of the last fetch for an unknown key id; 0: never
    volatile boolean fetching;
    volatile String problem;
  }

  private final Vertx vertx;
  private final HttpClient http;
  private final Map<String, Entry> byUrl = new ConcurrentHashMap<>();
  private final long timer;

  public JwksCache(Vertx vertx) {
    this.vertx = vertx;
    this.http = vertx.createHttpClient(new HttpClientOptions().setConnectTimeout((int) TIMEOUT_MS).setMaxRedirects(0));
    this.timer = vertx.setPeriodic(1000, t -> tick());
  }

  /** The keys held for {@code url} now (empty until the first fetch answered). */
  public JWKSet keys(String url) {
    Entry e = byUrl.get(url);
    return e == null ? new JWKSet() : e.keys;
  }

  /** Why the last fetch of {@code url} failed, or null. */
  public String problem(String url) {
    Entry e = byUrl.get(url);
    return e == null ? null : e.problem;
  }

  /** Keeps {@code urls} (fetching the new ones now) and forgets the others. */
  public void sync(Map<String, Duration> urls) {
    byUrl.keySet().retainAll(urls.keySet());
    urls.forEach((url, refresh) -> {
      Entry e = byUrl.computeIfAbsent(url, u -> new Entry());
      e.refreshMs = refresh.toMillis();
      if (e.fetchedAt == 0) {
        fetch(url, e);
      }
    });
  }

  /**
   * A token named a key the set lacks: fetch again at once, unless a token did that in the last
   * 10 s (tokens with made-up key ids cannot make the gateway hammer the issuer).
   */
  public void unknownKey(String url) {
    Entry e = byUrl.get(url);
    long now = System.nanoTime();
    if (e != null && (e.unknownAt == 0 || now - e.unknownAt > UNKNOWN_KEY_MS * 1_000_000)) {
      e.unknownAt = now;
      fetch(url, e);
    }
  }

  private void tick() {
    long now = System.nanoTime();
    byUrl.forEach((url, e) -> {
      long wait = e.problem != null ? Math.min(e.refreshMs, 30_000) : e.refreshMs; // a failing URL is tried every 30 s
      if (now - e.fetchedAt >= wait * 1_000_000) {
        fetch(url, e);
      }
    });
  }

  private void fetch(String url, Entry e) {
    synchronized (e) {
      if (e.fetching) {
        return;
      }
      e.fetching = true;
      e.fetchedAt = System.nanoTime();
    }
    http.request(new RequestOptions().setMethod(HttpMethod.GET).setAbsoluteURI(url).setTimeout(TIMEOUT_MS)
            .putHeader("Accept", "application/json"))
        .compose(req -> req.send().compose(res -> {
          if (res.statusCode() != 200) {
            return io.vertx.core.Future.failedFuture("HTTP " + res.statusCode());
          }
          String length = res.getHeader("Content-Length");
          if (length != null && length.length() < 12 && Long.parseLong(length.trim()) > MAX_BODY) {
            return io.vertx.core.Future.failedFuture("the answer is larger than " + MAX_BODY + " bytes");
          }
          io.vertx.core.Promise<Buffer> body = io.vertx.core.Promise.promise();
          Buffer buf = Buffer.buffer();
          res.handler(chunk -> {
            if (buf.length() + chunk.length() > MAX_BODY) {
              body.tryFail("the answer is larger than " + MAX_BODY + " bytes");
              req.reset();
            } else {
              buf.appendBuffer(chunk);
            }
          });
          res.endHandler(v -> body.tryComplete(buf));
          res.exceptionHandler(body::tryFail);
          return body.future();
        }))
        .map(b -> {
          try {
            JWKSet set = JWKSet.parse(b.toString(StandardCharsets.UTF_8)).toPublicJWKSet();
            if (set.getKeys().isEmpty()) {
              throw new IllegalArgumentException("no keys in the set");
            }
            if (set.getKeys().size() > MAX_KEYS) {
              LOG.warning("JWKS " + url + " holds " + set.getKeys().size() + " keys: the first " + MAX_KEYS + " are used");
              set = new JWKSet(set.getKeys().subList(0, MAX_KEYS));
            }
            return set;
          } catch (java.text.ParseException ex) {
            throw new IllegalArgumentException("not a JWK set"); // not its content: it may be anything the URL answers
          }
        })
        .onComplete(ar -> {
          e.fetching = false;
          if (ar.succeeded()) {
            e.keys = ar.result();
            if (e.problem != null) {
              LOG.info("JWKS " + url + " fetched again: " + ar.result().getKeys().size() + " key(s)");
            }
            e.problem = null;
          } else {
            if (e.problem == null) {
              LOG.warning("JWKS " + url + " could not be fetched (" + ar.cause().getMessage() + "): tokens are checked"
                  + " against the " + e.keys.getKeys().size() + " key(s) held");
            }
            e.problem = ar.cause().getMessage() == null ? ar.cause().toString() : ar.cause().getMessage();
          }
        });
  }

  Set<String> urls() {
    return byUrl.keySet();
  }

  @Override
  public void close() {
    vertx.cancelTimer(timer);
    http.close();
  }
}
