package dev.keystone.state;

import dev.keystone.acme.SharedAcme;
import dev.keystone.model.AcmeTokens;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * ACME in the state store: the cluster's account key, its certificates, one ordering lock per set
 * of names (taken with SET NX, kept alive while the order runs, so an instance that dies loses it
 * within {@link #LOCK_MS}), the cluster's retry backoff after a failed order, and the challenge
 * answers: each instance publishes its open HTTP-01 and TLS-ALPN-01 answers, stored with a TTL
 * and sent on a channel, and every instance answers them (the CA validates through whichever
 * instance the load balancer picks). Keys are under {@code keystone:acme:}.
 */
public final class RedisAcme implements SharedAcme, AcmeTokens.Replica {

  static final String PREFIX = "keystone:acme:";
  /** A lock's lifetime; its holder renews it every third of it. */
  static final long LOCK_MS = 120_000;
  /** How long a published challenge answer lives (a validation takes seconds). */
  static final long ANSWER_MS = 600_000;
  /** A kept certificate or a message larger than this is not read (a chain and its key are a few KiB). */
  static final int MAX_VALUE = 1 << 20;
  /** The deadline of a call ({@link #await}); the store's own is {@link #STORE_TIMEOUT_MS}. */
  private static final long CALL_SECONDS = 8;
  /** Off the request path: a slow answer is still an answer (a cold JVM, a busy Redis). */
  public static final long STORE_TIMEOUT_MS = 5000;
  private static final Logger LOG = Logger.getLogger("keystone.acme");

  /** KEYS lock, wait; ARGV token, px, ignore the wait (1/0). {1, 0}: taken; {0, ms}: another holds it, or the cluster's backoff runs, for ms. */
  static final String LOCK = """
      local w = redis.call('PTTL', KEYS[2])
      if w > 0 and ARGV[3] ~= '1' then return {0, w} end
      if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, 0} end
      return {0, redis.call('PTTL', KEYS[1])}
      """;
  /** KEYS lock; ARGV token, px: renews the lock if it is still the token's. */
  static final String RENEW = """
      if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
      return 0
      """;
  /**
   * KEYS lock, wait, backoff; ARGV token, failed (0/1), first ms, max ms, at least ms. Releases the
   * lock if it is the token's; after a failure the cluster waits the doubled backoff (or what the
   * CA said, if longer) before any instance orders again. Returns the wait in ms (0: none).
   */
  static final String UNLOCK = """
      if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
      if ARGV[2] == '0' then redis.call('DEL', KEYS[2], KEYS[3]) return 0 end
      local last = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
      local wait = math.min(math.max(tonumber(ARGV[3]), last * 2), tonumber(ARGV[4]))
      redis.call('SET', KEYS[3], wait, 'PX', tonumber(ARGV[4]) * 2)
      wait = math.max(wait, tonumber(ARGV[5]))
      redis.call('SET', KEYS[2], wait, 'PX', wait)
      return wait
      """;
  /** KEYS lock; ARGV token: releases the lock if it is still the token's (an instance that stops). */
  static final String RELEASE = """
      if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
      return 0
      """;
  private static final String RELEASE_SHA = RedisStore.sha1(RELEASE);
  private static final String LOCK_SHA = RedisStore.sha1(LOCK);
  private static final String RENEW_SHA = RedisStore.sha1(RENEW);
  private static final String UNLOCK_SHA = RedisStore.sha1(UNLOCK);

  private final RedisStore store;
  private final AcmeTokens tokens;
  private final String origin = UUID.randomUUID().toString();
  private final String channel;
  private final Map<String, String> held = new ConcurrentHashMap<>();
  private final long renewer;
  private final ChallengeFeed feed;
  /**
   * @param certificateKept called (on an event loop) with the key of each certificate another
   *                        instance kept, and of each one stored when this instance (re)subscribes
   */
  public RedisAcme(RedisStore store, AcmeTokens tokens, Consumer<String> certificateKept) {
    this.store = store;
    this.tokens = tokens;
    this.channel = "keystone:acme:" + RedisKv.channel(store.url()).substring("keystone:kv:".length());
    this.renewer = store.vertx().setPeriodic(LOCK_MS / 3, t -> held.forEach((key, token) ->
        store.eval(RENEW, RENEW_SHA, List.of(lockKey(key)), List.of(token, Long.toString(LOCK_MS)))));
    this.feed = new ChallengeFeed(store, tokens, origin, channel, certificateKept);
    tokens.replicate(this);
  }

  static String lockKey(String key) {
    return PREFIX + "lock:" + key;
  }

  @Override
  public String describe() {
    return store.url().replaceAll("//[^@/]*@", "//***@");
  }

  @Override
  public String problem() {
    return store.up() ? null : String.valueOf(store.problem());
  }

  @Override
  public String accountKey(String ours) throws IOException {
    String k = PREFIX + "account";
    await(store.send(Request.cmd(Command.SET).arg(k).arg(ours).arg("NX")));
    Response r = await(store.send(Request.cmd(Command.GET).arg(k)));
    if (r == null) {
      throw new IOException("the state store lost the account key it was given");
    }
    return r.toString();
  }

  @Override
  public String certificate(String key) throws IOException {
    Response r;
    try {
      r = await(store.send(Request.cmd(Command.GET).arg(PREFIX + "cert:" + key)));
    } catch (IOException e) {
      if (String.valueOf(e.getMessage()).startsWith("WRONGTYPE")) {
        return null; // Redis answers, the value is not ours: ordered (and replaced) under the lock, not alone (s19-acme L1)
      }
      throw e;
    }
    if (r == null || r.toBytes().length > MAX_VALUE) {
      return null;
    }
    return r.toString();
  }

  @Override
  public void forgetCertificate(String key, String pem) throws IOException {
    await(store.eval(RELEASE, RELEASE_SHA, List.of(PREFIX + "cert:" + key), List.of(pem)));
  }

  @Override
  public void putCertificate(String key, String pem, long ttlMillis) throws IOException {
    String message = new JsonObject().put("o", origin).put("op", "cert").put("key", key).encode();
    await(store.eval(RedisKv.SET, RedisKv.SET_SHA, List.of(PREFIX + "cert:" + key),
        List.of(pem, Long.toString(Math.max(1, ttlMillis)), channel, message)));
  }

  @Override
  public Lock lock(String key, boolean ignoreBackoff) throws IOException {
    String token = UUID.randomUUID().toString();
    Response r = await(store.eval(LOCK, LOCK_SHA, List.of(lockKey(key), PREFIX + "wait:" + key),
        List.of(token, Long.toString(LOCK_MS), ignoreBackoff ? "1" : "0")));
    if (r.get(0).toInteger() == 1) {
      held.put(key, token);
      return new Lock(token, 0);
    }
    return new Lock(null, Math.max(0, r.get(1).toLong()));
  }

  @Override
  public long unlock(String key, String token, boolean failed, long firstMs, long maxMs, long atLeastMs) {
    held.remove(key, token);
    try {
      Response r = await(store.eval(UNLOCK, UNLOCK_SHA,
          List.of(lockKey(key), PREFIX + "wait:" + key, PREFIX + "backoff:" + key),
          List.of(token, failed ? "1" : "0", Long.toString(firstMs), Long.toString(maxMs), Long.toString(atLeastMs))));
      return r.toLong();
    } catch (IOException e) {
      // the lock runs out by itself within LOCK_MS; the caller's own backoff holds meanwhile
      LOG.warning("ACME: could not release the ordering lock for " + key + " in " + describe() + ": " + e.getMessage());
      return -1;
    }
  }

  // AcmeTokens.Replica: this instance's challenge answers, stored and published before the CA is asked to validate

  @Override
  public void put(String token, String keyAuthorization) {
    publish("http01:" + token, keyAuthorization, new JsonObject().put("op", "http").put("t", token).put("a", keyAuthorization));
  }

  @Override
  public void remove(String token) {
    publish("http01:" + token, "", new JsonObject().put("op", "http-").put("t", token));
  }

  @Override
  public void putAlpn(String domain, AcmeTokens.AlpnAnswer answer) {
    String value = ChallengeFeed.encodeAlpn(answer).encode();
    publish("alpn:" + domain, value, new JsonObject().put("op", "alpn").put("d", domain).put("v", value));
  }

  @Override
  public void removeAlpn(String domain) {
    publish("alpn:" + domain, "", new JsonObject().put("op", "alpn-").put("d", domain));
  }

  private void publish(String key, String value, JsonObject message) {
    try {
      await(store.eval(RedisKv.SET, RedisKv.SET_SHA, List.of(PREFIX + key),
          List.of(value, Long.toString(ANSWER_MS), channel, message.put("o", origin).encode())));
    } catch (IOException e) {
      // this instance still answers; others answer once it is back only if asked after that
      LOG.warning("ACME: could not publish a challenge answer to " + describe() + " (" + e.getMessage()
          + "): only this instance answers it; the CA's validation fails if it reaches another");
    }
  }

  private static Response await(Future<Response> f) throws IOException {
    try {
      return f.toCompletionStage().toCompletableFuture().get(CALL_SECONDS, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IOException(String.valueOf(e.getCause().getMessage()), e.getCause());
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IOException("no answer within " + CALL_SECONDS + " s", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  @Override
  public void close() {
    tokens.stopReplicating(this);
    store.vertx().cancelTimer(renewer);
    // an order cut short by a stop: its lock is freed now, not after LOCK_MS, so another
    // instance can order at its next try (a second's wait at most, then the lock runs out)
    held.forEach((key, token) -> {
      try {
        await(store.eval(RELEASE, RELEASE_SHA, List.of(lockKey(key)), List.of(token)));
      } catch (IOException e) {
        LOG.fine("ACME: the lock for " + key + " was not released at stop: " + e.getMessage());
      }
    });
    held.clear();
    feed.close();
    store.close();
  }

  /** A subscription's connection (tests). */
  RedisConnection subscriber() {
    return feed.subscriber();
  }
}
