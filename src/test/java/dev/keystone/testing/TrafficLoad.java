package dev.keystone.testing;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Client threads that keep sending requests until stopped, counting 200s and recording every
 * other answer or exception: for "nothing fails while X happens" tests (reloads, an engine that
 * dies).
 */
public final class TrafficLoad implements AutoCloseable {

  /** One request: client number and sequence number in, response out. */
  @FunctionalInterface
  public interface Request {
    HttpResponse<String> send(int client, int i) throws Exception;
  }

  private final AtomicBoolean running = new AtomicBoolean(true);
  private final AtomicInteger ok = new AtomicInteger();
  private final Queue<String> failures = new ConcurrentLinkedQueue<>();
  private final List<Thread> clients = new ArrayList<>();

  private TrafficLoad() {
  }

  /** Starts {@code threads} clients, each sending {@code request} in a loop. */
  public static TrafficLoad start(int threads, Request request) {
    return start(threads, java.time.Duration.ZERO, request);
  }

  /**
   * The same at a steady rate: each client pauses {@code pace} before each request, so the load
   * leaves the machine some CPU (a pause of a fixed length, not a wait for a condition).
   */
  public static TrafficLoad start(int threads, java.time.Duration pace, Request request) {
    TrafficLoad load = new TrafficLoad();
    for (int c = 0; c < threads; c++) {
      int client = c;
      Thread t = new Thread(() -> {
        for (int i = 0; load.running.get(); i++) {
          try {
            if (!pace.isZero()) {
              Thread.sleep(pace.toMillis());
            }
            HttpResponse<String> r = request.send(client, i);
            if (r.statusCode() == 200) {
              load.ok.incrementAndGet();
            } else {
              load.failures.add(r.statusCode() + " " + r.body());
            }
          } catch (Exception e) {
            load.failures.add(e.toString());
          }
        }
      }, "traffic-" + c);
      t.start();
      load.clients.add(t);
    }
    return load;
  }

  /** Requests answered 200 so far. */
  public int ok() {
    return ok.get();
  }

  /** Waits until {@code more} further requests have succeeded. */
  public void awaitMore(String what, int more) {
    int before = ok.get();
    Await.until(what, () -> ok.get() >= before + more);
  }

  /** Stops the clients and returns every failure seen. */
  public List<String> stop() throws InterruptedException {
    running.set(false);
    for (Thread t : clients) {
      t.join();
    }
    return List.copyOf(failures);
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }
}
