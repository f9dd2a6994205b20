package dev.keystone.state;

import io.vertx.redis.client.Command;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

import java.util.function.Consumer;

/**
 * A subscription to one state-store channel on a connection of its own (a subscribed connection
 * takes no other commands), kept up: a connection that fails or ends is replaced after a backoff
 * (100 ms doubling to 5 s). {@code subscribed} runs after each (re)subscription, so that the
 * subscriber reads back what was published while it was away.
 */
final class Subscription implements AutoCloseable {

  private final RedisStore store;
  private final String channel;
  private final Consumer<Response> messages;
  private final Runnable subscribed;
  private volatile RedisConnection connection;
  private volatile boolean closed;
  private long backoffMs = 100;

  Subscription(RedisStore store, String channel, Consumer<Response> messages, Runnable subscribed) {
    this.store = store;
    this.channel = channel;
    this.messages = messages;
    this.subscribed = subscribed;
    subscribe();
  }

  /** The subscribed connection, or null while there is none. */
  RedisConnection connection() {
    return connection;
  }

  boolean closed() {
    return closed;
  }

  private void subscribe() {
    if (closed) {
      return;
    }
    store.connect().onComplete(ar -> {
      if (ar.failed()) {
        retry();
        return;
      }
      RedisConnection c = ar.result();
      connection = c;
      c.handler(messages::accept);
      c.exceptionHandler(e -> reconnect(c));
      c.endHandler(v -> reconnect(c));
      c.send(Request.cmd(Command.SUBSCRIBE).arg(channel)).onComplete(s -> {
        if (s.failed()) {
          reconnect(c);
          return;
        }
        backoffMs = 100;
        subscribed.run();
      });
    });
  }

  private void reconnect(RedisConnection c) {
    if (connection != c) {
      return;
    }
    connection = null;
    c.close();
    retry();
  }

  private void retry() {
    if (closed) {
      return;
    }
    long delay = backoffMs;
    backoffMs = Math.min(5000, backoffMs * 2);
    store.vertx().setTimer(delay, t -> subscribe());
  }

  @Override
  public void close() {
    closed = true;
    RedisConnection c = connection;
    connection = null;
    if (c != null) {
      c.close();
    }
  }
}
