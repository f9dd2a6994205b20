package dev.keystone.cluster;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * etcd v3 through its JSON gateway ({@code /v3/kv/range}, {@code /v3/kv/put}, {@code /v3/kv/txn},
 * {@code /v3/watch}), on the gateway's own Vert.x 5 HTTP client. Not jetcd: jetcd 0.8.5 brings
 * Vert.x 4.5, grpc-netty and Netty 4.1, which conflict with the gateway's Vert.x 5 and Netty 4.2;
 * the config store is not on the request path, and the JSON gateway is part of etcd's API.
 * Calls go to the endpoints in turn; one that fails is skipped for the next call.
 */
public final class EtcdClient implements AutoCloseable {

  /** One key's value and its revisions. */
  public record KeyValue(String key, String value, long createRevision, long modRevision, long version) {
  }

  /** Keys read at one revision of the store. */
  public record Range(List<KeyValue> kvs, long revision) {
  }

  private static final Base64.Encoder B64 = Base64.getEncoder();
  private static final Base64.Decoder B64D = Base64.getDecoder();

  private final Vertx vertx;
  private final List<URI> endpoints;
  private final HttpClient http;
  private final AtomicInteger next = new AtomicInteger();

  public EtcdClient(Vertx vertx, List<String> endpoints) {
    if (endpoints.isEmpty()) {
      throw new IllegalArgumentException("etcd: at least one endpoint, such as http://127.0.0.1:2379");
    }
    this.vertx = vertx;
    this.endpoints = endpoints.stream().map(URI::create).toList();
    this.http = vertx.createHttpClient(new HttpClientOptions().setConnectTimeout(2000).setIdleTimeout(60));
  }

  /** The value of {@code key}, or null when there is none (with the store's revision in {@link Range}). */
  public Future<Range> get(String key) {
    return call("/v3/kv/range", new JsonObject().put("key", b64(key))).map(EtcdClient::range);
  }

  /** Every key that starts with {@code prefix}, at one revision. */
  public Future<Range> getPrefix(String prefix) {
    return call("/v3/kv/range", new JsonObject().put("key", b64(prefix)).put("range_end", B64.encodeToString(prefixEnd(prefix))))
        .map(EtcdClient::range);
  }

  /** Writes {@code key}; the store's revision after the write. */
  public Future<Long> put(String key, String value) {
    return call("/v3/kv/put", new JsonObject().put("key", b64(key)).put("value", b64(value)))
        .map(j -> revision(j.getJsonObject("header")));
  }

  /** A lease of {@code ttlSeconds}: keys written with it go when it is not kept alive. Its id. */
  public Future<Long> grantLease(long ttlSeconds) {
    return call("/v3/lease/grant", new JsonObject().put("TTL", Long.toString(ttlSeconds))).map(j -> number(j, "ID"));
  }

  /** Keeps lease {@code id} alive once; the seconds it has now, 0 when it has expired (or was revoked). */
  public Future<Long> keepAlive(long id) {
    return call("/v3/lease/keepalive", new JsonObject().put("ID", Long.toString(id))).map(j -> {
      JsonObject r = j.getJsonObject("result");
      return r == null ? 0L : number(r, "TTL");
    });
  }

  /** Ends lease {@code id} now: its keys go at once (a gateway that stops leaves the list at once). */
  public Future<Void> revokeLease(long id) {
    return call("/v3/lease/revoke", new JsonObject().put("ID", Long.toString(id))).mapEmpty();
  }

  /** Writes {@code key} under lease {@code lease}. */
  public Future<Long> put(String key, String value, long lease) {
    return call("/v3/kv/put", new JsonObject().put("key", b64(key)).put("value", b64(value)).put("lease", Long.toString(lease)))
        .map(j -> revision(j.getJsonObject("header")));
  }

  /** Deletes {@code key}; the store's revision after it. */
  public Future<Long> delete(String key) {
    return call("/v3/kv/deleterange", new JsonObject().put("key", b64(key))).map(j -> revision(j.getJsonObject("header")));
  }

  /**
   * Writes {@code key} only if its mod revision is still {@code modRevision} (0: only if it does not
   * exist): two writers that read the same revision cannot both win. True when written.
   */
  public Future<Boolean> putIf(String key, String value, long modRevision) {
    JsonObject compare = new JsonObject().put("key", b64(key)).put("target", "MOD").put("result", "EQUAL")
        .put("mod_revision", Long.toString(modRevision));
    JsonObject put = new JsonObject().put("request_put", new JsonObject().put("key", b64(key)).put("value", b64(value)));
    return call("/v3/kv/txn", new JsonObject().put("compare", new JsonArray().add(compare)).put("success", new JsonArray().add(put)))
        .map(j -> Boolean.TRUE.equals(j.getValue("succeeded")));
  }

  /**
   * Calls the endpoints in turn, starting with the one that answered last: a member that cannot be
   * connected to is skipped at once (nothing was sent to it, so even a write is safe to send to the
   * next). A failure after the request went out (a timeout, an error from etcd) is the answer: a
   * write may have landed, and only the caller knows whether to repeat it.
   */
  Future<JsonObject> call(String path, JsonObject body) {
    return call(path, body, READ_DEADLINE_MS);
  }

  /**
   * The same within {@code deadlineMs} in all: a read is tried again (next member, 100 ms
   * doubling) only while time is left, and no single request waits longer than what is left (a
   * frozen member answers nothing: attack s18-cluster F2, a read took 30 s to give up).
   */
  Future<JsonObject> call(String path, JsonObject body, long deadlineMs) {
    long deadline = System.nanoTime() + deadlineMs * 1_000_000;
    Future<JsonObject> first = call(path, body, Math.floorMod(next.get(), endpoints.size()), endpoints.size(), deadline);
    return READS.contains(path) ? first.recover(e -> retryRead(path, body, e, 1, deadline)) : first;
  }

  /** How long a read may take in all, retries included. */
  static final long READ_DEADLINE_MS = 6000;
  /** The longest single request. */
  static final long REQUEST_TIMEOUT_MS = 5000;

  /** Calls that change nothing: repeated when a member is between leaders or slow (etcd's own client does the same). */
  private static final java.util.Set<String> READS = java.util.Set.of("/v3/kv/range", "/v3/lease/keepalive");

  /**
   * A read that failed is tried again on the next member after 100, 200, 400, 800 ms while time is
   * left: a leader election (a member killed) answers "leader changed" for about a second, and that
   * is no reason to call the store unreachable or fail a push.
   */
  private Future<JsonObject> retryRead(String path, JsonObject body, Throwable last, int attempt, long deadline) {
    long delay = 100L << Math.min(attempt - 1, 4);
    if (System.nanoTime() + delay * 1_000_000 >= deadline) {
      return Future.failedFuture(last);
    }
    Promise<JsonObject> p = Promise.promise();
    vertx.setTimer(delay, t -> call(path, body, Math.floorMod(next.get(), endpoints.size()), endpoints.size(), deadline)
        .recover(e -> retryRead(path, body, e, attempt + 1, deadline)).onComplete(p));
    return p.future();
  }

  /**
   * The mod revision of the newest key under {@code prefix} (0: none), read within {@code
   * timeoutMs}: one key, keys only, sorted by mod revision. A watch that has not delivered it is
   * behind (a member cut off from its cluster keeps a stream open and silent).
   */
  public Future<Long> newestUnder(String prefix, long timeoutMs) {
    JsonObject body = new JsonObject().put("key", b64(prefix)).put("range_end", B64.encodeToString(prefixEnd(prefix)))
        .put("limit", "1").put("sort_order", "DESCEND").put("sort_target", "MOD").put("keys_only", true);
    return call("/v3/kv/range", body, timeoutMs).map(j -> {
      JsonArray kvs = j.getJsonArray("kvs", new JsonArray());
      return kvs.isEmpty() ? 0L : number(kvs.getJsonObject(0), "mod_revision");
    });
  }

  private Future<JsonObject> call(String path, JsonObject body, int i, int triesLeft, long deadline) {
    URI u = endpoints.get(i);
    long left = (deadline - System.nanoTime()) / 1_000_000;
    if (left <= 0) {
      return Future.failedFuture(new java.util.concurrent.TimeoutException("etcd " + u + path + ": no answer in time"));
    }
    // A read that another member can answer gets half of what is left (at least a second): a
    // frozen first member took 5 s of a push's 6 s, leaving the healthy one under a second.
    long wait = READS.contains(path) && endpoints.size() > 1 ? Math.max(Math.min(1000, left), left / 2) : left;
    Promise<JsonObject> p = Promise.promise();
    Future<io.vertx.core.http.HttpClientRequest> request;
    try {
      request = http.request(new RequestOptions().setMethod(HttpMethod.POST).setHost(u.getHost()).setPort(u.getPort()).setURI(path)
          .setTimeout(Math.min(REQUEST_TIMEOUT_MS, wait)));
    } catch (RuntimeException e) {
      return Future.failedFuture(e); // the client is closed (a stop): a failure, not an exception on a timer (attack s18-cluster F8)
    }
    request
        .onComplete(conn -> {
          if (conn.failed()) {
            int after = (i + 1) % endpoints.size();
            next.compareAndSet(i, after);
            if (triesLeft > 1) {
              call(path, body, after, triesLeft - 1, deadline).onComplete(p);
            } else {
              p.fail(conn.cause());
            }
            return;
          }
          conn.result().send(body.toBuffer()).compose(res -> res.body().map(b -> {
            if (res.statusCode() != 200) {
              throw new IllegalStateException("etcd " + u + path + ": HTTP " + res.statusCode() + " " + b.toString(StandardCharsets.UTF_8));
            }
            return b.toJsonObject();
          })).onComplete(ar -> {
            if (ar.failed()) {
              next.compareAndSet(i, (i + 1) % endpoints.size()); // the next call tries another member
            }
            p.handle(ar);
          });
        });
    return p.future();
  }

  /** The index of the member calls go to next (the one that answered last). */
  int preferredEndpoint() {
    return Math.floorMod(next.get(), endpoints.size());
  }

  List<URI> endpoints() {
    return endpoints;
  }

  HttpClient http() {
    return http;
  }

  Vertx vertx() {
    return vertx;
  }

  private static Range range(JsonObject j) {
    List<KeyValue> kvs = new ArrayList<>();
    JsonArray list = j.getJsonArray("kvs", new JsonArray());
    for (int i = 0; i < list.size(); i++) {
      kvs.add(keyValue(list.getJsonObject(i)));
    }
    return new Range(List.copyOf(kvs), revision(j.getJsonObject("header")));
  }

  static KeyValue keyValue(JsonObject kv) {
    return new KeyValue(unb64(kv.getString("key")), unb64(kv.getString("value", "")), number(kv, "create_revision"),
        number(kv, "mod_revision"), number(kv, "version"));
  }

  static long revision(JsonObject header) {
    return header == null ? 0 : number(header, "revision");
  }

  /** The JSON gateway writes 64-bit numbers as strings (and leaves zeros out). */
  static long number(JsonObject o, String key) {
    Object v = o.getValue(key);
    return v == null ? 0 : Long.parseLong(v.toString());
  }

  static String b64(String s) {
    return B64.encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  static String unb64(String s) {
    return s == null ? "" : new String(B64D.decode(s), StandardCharsets.UTF_8);
  }

  /** The first key after every key that starts with {@code prefix}: the prefix with its last byte + 1. */
  static byte[] prefixEnd(String prefix) {
    byte[] b = prefix.getBytes(StandardCharsets.UTF_8);
    for (int i = b.length - 1; i >= 0; i--) {
      if (b[i] != (byte) 0xff) {
        byte[] end = java.util.Arrays.copyOf(b, i + 1);
        end[i]++;
        return end;
      }
    }
    return new byte[] {0}; // every key
  }

  @Override
  public void close() {
    http.close();
  }
}
