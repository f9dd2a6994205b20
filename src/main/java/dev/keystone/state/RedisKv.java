package dev.keystone.state;

import dev.keystone.script.KvReplica;
import dev.keystone.script.ScriptEnvironment;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

import java.util.List;
import java.util.UUID;
import java.util.logging.Logger;

/**
 * The scripts' {@code kv} stores shared through Redis (cluster mode with {@code state_store}):
 * every write is applied on this instance at once (reads never wait) and sent to Redis by a Lua
 * script that stores it (with its TTL) and publishes it; every instance subscribes and applies the
 * writes in the order Redis made them (its own too), so the instances converge within moments. An
 * increment is counted in Redis and the total it publishes replaces the local one. When an instance (re)connects it reads every key
 * back ({@link #resync}). With Redis down the stores work on each instance alone (the documented
 * fallback); what was written meanwhile stays local until written again.
 */
public final class RedisKv implements KvReplica, AutoCloseable {

  /** The channel of database N: Redis's publishes are not per database, the channels must be. */
  static String channel(String url) {
    String path = java.net.URI.create(url).getPath();
    String db = path == null || path.length() <= 1 ? "0" : path.substring(1);
    return "keystone:kv:db" + db;
  }
  static final String PREFIX = "keystone:kv:";
  private static final Logger LOG = Logger.getLogger("keystone.state");

  /** KEYS[1] the key; ARGV value ("" deletes), px (0: none), channel, message. */
  static final String SET = """
      if ARGV[1] == '' then redis.call('DEL', KEYS[1])
      elseif tonumber(ARGV[2]) > 0 then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
      else redis.call('SET', KEYS[1], ARGV[1]) end
      redis.call('PUBLISH', ARGV[3], ARGV[4])
      return 1
      """;

  /**
   * KEYS[1] the key; ARGV by, px for a new key (0: none), channel, message prefix. Returns the
   * total and the key's remaining ms (-1: none), or an error when the value is not a number.
   */
  static final String INCR = """
      local v = redis.call('GET', KEYS[1])
      local n = 0
      if v then
        if string.sub(v, 1, 2) ~= 'n:' then return redis.error_reply('not a number') end
        n = tonumber(string.sub(v, 3))
      end
      n = n + tonumber(ARGV[1])
      local text = 'n:' .. string.format('%.17g', n)
      if v then redis.call('SET', KEYS[1], text, 'KEEPTTL')
      elseif tonumber(ARGV[2]) > 0 then redis.call('SET', KEYS[1], text, 'PX', ARGV[2])
      else redis.call('SET', KEYS[1], text) end
      local ttl = redis.call('PTTL', KEYS[1])
      redis.call('PUBLISH', ARGV[3], ARGV[4] .. '"v":"' .. text .. '","ttl":' .. ttl .. '}')
      return {text, ttl}
      """;

  static final String SET_SHA = RedisStore.sha1(SET);
  private static final String INCR_SHA = RedisStore.sha1(INCR);

  private final RedisStore store;
  private final ScriptEnvironment env;
  private final String origin = UUID.randomUUID().toString();
  private final String channel;
  private final Subscription subscription;

  public RedisKv(RedisStore store, ScriptEnvironment env) {
    this.store = store;
    this.env = env;
    this.channel = channel(store.url());
    this.subscription = new Subscription(store, channel, this::message, this::resync);
  }

  static String redisKey(String tenant, String key) {
    return PREFIX + tenant.length() + ":" + tenant + key; // the length keeps tenant "a:b" + key apart from "a" + ":bkey"
  }

  static String encode(Object value) {
    if (value instanceof Boolean b) {
      return "b:" + b;
    }
    if (value instanceof Number n) {
      return "n:" + n.doubleValue();
    }
    return "s:" + value;
  }

  static Object decode(String text) {
    if (text == null || text.length() < 2) {
      return null;
    }
    String v = text.substring(2);
    return switch (text.substring(0, 2)) {
      case "b:" -> Boolean.parseBoolean(v);
      case "n:" -> Double.parseDouble(v);
      case "s:" -> v;
      default -> null;
    };
  }

  @Override
  public void set(String tenant, String key, Object value, long expiresAtMillis) {
    long px = expiresAtMillis == 0 ? 0 : Math.max(1, expiresAtMillis - env.clock().millis());
    String message = new JsonObject().put("o", origin).put("t", tenant).put("k", key)
        .put("v", value == null ? null : encode(value)).put("ttl", expiresAtMillis == 0 ? -1 : px).encode();
    store.eval(SET, SET_SHA, List.of(redisKey(tenant, key)), List.of(value == null ? "" : encode(value), Long.toString(px), channel, message));
  }

  @Override
  public void incr(String tenant, String key, double by, long expiresAtMillis) {
    long px = expiresAtMillis == 0 ? 0 : Math.max(1, expiresAtMillis - env.clock().millis());
    String head = new JsonObject().put("o", origin).put("t", tenant).put("k", key).encode();
    String prefix = head.substring(0, head.length() - 1) + ",";
    // the total comes back through the channel, in Redis's order (the reply could overtake a later one)
    store.eval(INCR, INCR_SHA, List.of(redisKey(tenant, key)), List.of(Double.toString(by), Long.toString(px), channel, prefix));
  }

  private void apply(String tenant, String key, String encoded, long ttlMillis) {
    long expires = ttlMillis < 0 ? 0 : env.clock().millis() + Math.max(1, ttlMillis);
    env.store(tenant).applyRemote(key, decode(encoded), expires);
  }

  private void message(Response r) {
    if (r.size() < 3 || !"message".equals(r.get(0).toString())) {
      return;
    }
    try {
      JsonObject m = new JsonObject(r.get(2).toString());
      // Our own writes too: Redis publishes every write in the order it made them, and applying
      // them all in that order is what makes every instance end with the same value (a local
      // write overtaken by an earlier one of another instance is set again by its own message).
      String tenant = m.getString("t");
      String key = m.getString("k");
      if (tenant == null || key == null || tenant.isEmpty()) {
        return;
      }
      Object ttl = m.getValue("ttl");
      apply(tenant, key, m.getString("v"), ttl instanceof Number n ? n.longValue() : -1);
    } catch (RuntimeException e) {
      LOG.fine("kv message from the state store not understood: " + e);
    }
  }

  /** Reads every shared key back (after a (re)connection): what changed while away arrives. */
  private void resync() {
    scan("0");
  }

  private void scan(String cursor) {
    store.send(Request.cmd(Command.SCAN).arg(cursor).arg("MATCH").arg(PREFIX + "*").arg("COUNT").arg(500)).onSuccess(r -> {
      String next = r.get(0).toString();
      for (Response k : r.get(1)) {
        load(k.toString());
      }
      if (!"0".equals(next) && !subscription.closed()) {
        scan(next);
      }
    });
  }

  private void load(String redisKey) {
    String rest = redisKey.substring(PREFIX.length());
    int colon = rest.indexOf(':');
    if (colon < 1) {
      return;
    }
    int length;
    try {
      length = Integer.parseInt(rest.substring(0, colon));
    } catch (NumberFormatException e) {
      return;
    }
    if (rest.length() < colon + 1 + length) {
      return;
    }
    String tenant = rest.substring(colon + 1, colon + 1 + length);
    String key = rest.substring(colon + 1 + length);
    Future<Response> value = store.send(Request.cmd(Command.GET).arg(redisKey));
    Future<Response> ttl = store.send(Request.cmd(Command.PTTL).arg(redisKey));
    Future.all(value, ttl).onSuccess(x -> {
      if (value.result() != null) {
        apply(tenant, key, value.result().toString(), ttl.result().toLong());
      }
    });
  }

  @Override
  public void close() {
    subscription.close();
  }
}
