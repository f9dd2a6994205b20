package dev.keystone.cluster;

import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.parsetools.JsonParser;

import java.net.URI;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.function.Consumer;

/**
 * A watch on every key under a prefix, from a revision on, that survives etcd going away: the
 * stream is opened again (backoff 100 ms doubling to 5 s, the endpoints in turn) from the revision
 * after the last one delivered, so no change is missed or delivered twice. When etcd has compacted
 * past that revision, {@code onCompacted} is told: the caller reads the prefix again (a whole new
 * state) and watches from there.
 */
public final class EtcdWatch implements AutoCloseable {

  /** A change: the key's new value, or its deletion ({@code deleted}, value empty). */
  public record Event(EtcdClient.KeyValue kv, boolean deleted) {
  }

  private static final long MAX_BACKOFF_MS = 5000;

  private final EtcdClient etcd;
  private final String prefix;
  private final Consumer<List<Event>> onEvents;
  private final Consumer<Long> onCompacted;
  private long nextRevision;
  private long backoffMs = 100;
  private boolean closed;
  private HttpClientRequest current;
  private int endpoint;
  /** Which stream is current: a stream's late error or end, after another was opened, is ignored. */
  private int generation;

  /**
   * Watches {@code prefix} from {@code fromRevision} (the revision after a read of it); {@code
   * onEvents} gets each batch in order, {@code onCompacted} the compact revision when the watch
   * must start over from a new read. Both run on the client's event loop.
   */
  public EtcdWatch(EtcdClient etcd, String prefix, long fromRevision, Consumer<List<Event>> onEvents, Consumer<Long> onCompacted) {
    this.etcd = etcd;
    this.prefix = prefix;
    this.nextRevision = fromRevision;
    this.endpoint = etcd.preferredEndpoint(); // the member that answered last, not always the first
    this.onEvents = onEvents;
    this.onCompacted = onCompacted;
    etcd.vertx().runOnContext(v -> open());
  }

  /** The revision the next event will have at least: where a reconnect resumes. */
  public synchronized long nextRevision() {
    return nextRevision;
  }

  private void open() {
    if (closed) {
      return;
    }
    int gen = ++generation;
    URI u = etcd.endpoints().get(Math.floorMod(endpoint, etcd.endpoints().size()));
    JsonObject create = new JsonObject().put("create_request", new JsonObject()
        .put("key", EtcdClient.b64(prefix)).put("range_end", Base64.getEncoder().encodeToString(EtcdClient.prefixEnd(prefix)))
        .put("start_revision", Long.toString(nextRevision)));
    etcd.http().request(new RequestOptions().setMethod(HttpMethod.POST).setHost(u.getHost()).setPort(u.getPort())
        .setURI("/v3/watch")
        // etcd's require-leader metadata: a member cut off from its cluster's leader ends the stream
        // (a resumed watch then goes to another member) instead of keeping it open and silent
        .putHeader("Grpc-Metadata-hasleader", "true")).onComplete(ar -> {
          if (ar.failed()) {
            retry(gen);
            return;
          }
          HttpClientRequest req = ar.result();
          synchronized (this) {
            current = req;
          }
          req.send(create.toBuffer()).onComplete(res -> {
            if (res.failed() || res.result().statusCode() != 200) {
              retry(gen);
              return;
            }
            JsonParser parser = JsonParser.newParser().objectValueMode();
            parser.handler(ev -> {
              if (gen == generation) {
                message(ev.objectValue());
              }
            });
            parser.exceptionHandler(t -> retry(gen));
            res.result().handler(parser);
            res.result().exceptionHandler(t -> retry(gen));
            res.result().endHandler(v -> retry(gen)); // etcd went away or ended the stream: resume
          });
        });
  }

  private void message(JsonObject m) {
    JsonObject r = m.getJsonObject("result");
    if (r == null) {
      return;
    }
    backoffMs = 100; // a live stream: the next failure starts the backoff over
    long compact = EtcdClient.number(r, "compact_revision");
    if (compact > 0) {
      closed = true; // this watch is over: the caller reads the prefix again and watches anew
      generation++;
      closeCurrent();
      synchronized (this) {
        nextRevision = compact;
      }
      onCompacted.accept(compact);
      return;
    }
    JsonArray events = r.getJsonArray("events");
    if (events == null || events.isEmpty()) {
      return;
    }
    List<Event> batch = new ArrayList<>();
    long last = 0;
    for (int i = 0; i < events.size(); i++) {
      JsonObject e = events.getJsonObject(i);
      EtcdClient.KeyValue kv = EtcdClient.keyValue(e.getJsonObject("kv"));
      batch.add(new Event(kv, "DELETE".equals(e.getString("type"))));
      last = Math.max(last, kv.modRevision());
    }
    synchronized (this) {
      nextRevision = Math.max(nextRevision, last + 1);
    }
    onEvents.accept(batch);
  }

  private void retry(int gen) {
    if (gen != generation || closed) {
      return;
    }
    generation++; // this stream's other handlers, still to come, are stale
    closeCurrent();
    endpoint++;
    long delay = backoffMs;
    backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
    etcd.vertx().setTimer(delay, t -> open());
  }

  private void closeCurrent() {
    HttpClientRequest req;
    synchronized (this) {
      req = current;
      current = null;
    }
    if (req != null) {
      req.reset();
    }
  }

  @Override
  public void close() {
    etcd.vertx().runOnContext(v -> {
      closed = true;
      generation++;
      closeCurrent();
    });
  }
}
