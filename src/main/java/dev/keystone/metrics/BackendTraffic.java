package dev.keystone.metrics;

import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * Requests one tenant sent to one backend (or answered without one), by method class and status
 * class, and the backend's response-head latency. Cells are made on first use: a gateway with
 * thousands of tenants pays only for the combinations that happen.
 */
public final class BackendTraffic {

  /** Method classes: bounded, whatever methods clients invent. */
  public static final String[] METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"};
  /** Status classes; "aborted" is a client that left before the response was complete. */
  public static final String[] CODES = {"1xx", "2xx", "3xx", "4xx", "5xx", "aborted"};

  private final AtomicReferenceArray<LongAdder> requests = new AtomicReferenceArray<>(METHODS.length * CODES.length);
  private final AtomicReference<Histogram> upstream = new AtomicReference<>();

  public static int methodClass(String method) {
    return switch (method) {
      case "GET" -> 0;
      case "HEAD" -> 1;
      case "POST" -> 2;
      case "PUT" -> 3;
      case "DELETE" -> 4;
      case "PATCH" -> 5;
      case "OPTIONS" -> 6;
      default -> 7;
    };
  }

  /** The status class index of {@code status}; 0 or less means aborted. */
  public static int codeClass(int status) {
    return status <= 0 ? 5 : Math.max(0, Math.min(4, status / 100 - 1));
  }

  void count(int method, int code) {
    int i = method * CODES.length + code;
    LongAdder a = requests.get(i);
    if (a == null) {
      requests.compareAndSet(i, null, new LongAdder());
      a = requests.get(i);
    }
    a.increment();
  }

  void observeUpstream(long nanos) {
    Histogram.observeInto(upstream, nanos);
  }

  /** Requests with this method class and status class so far. */
  public long requests(int method, int code) {
    LongAdder a = requests.get(method * CODES.length + code);
    return a == null ? 0 : a.sum();
  }

  /** Requests with this status class, whatever the method. */
  public long requestsWithCode(int code) {
    long n = 0;
    for (int m = 0; m < METHODS.length; m++) {
      n += requests(m, code);
    }
    return n;
  }

  public long total() {
    long n = 0;
    for (int c = 0; c < CODES.length; c++) {
      n += requestsWithCode(c);
    }
    return n;
  }

  /** The backend's response-head latency, or null before its first response. */
  public Histogram upstream() {
    return upstream.get();
  }
}
