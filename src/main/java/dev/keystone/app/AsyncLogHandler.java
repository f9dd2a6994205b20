package dev.keystone.app;

import java.io.PrintStream;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Handler;
import java.util.logging.LogRecord;

/**
 * Writes log lines from a background thread, so an event loop that logs (one access-log line per
 * request) never waits on standard output: a slow or full pipe would otherwise stall every
 * request on that loop. Producers only append to a lock-free queue and never wake the writer
 * (a wake-up per line cost two futex calls and a context switch per request); the writer drains
 * the queue every few milliseconds in one write. When the queue is full, lines are dropped and
 * counted rather than blocking the proxy. Records are formatted by the writer too (an access-log
 * record makes its text only then: {@code AccessLog.Line}).
 */
final class AsyncLogHandler extends Handler {

  static final int CAPACITY = 8_192;
  static final long PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(5);

  private final ConcurrentLinkedQueue<LogRecord> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger size = new AtomicInteger();
  private final AtomicLong dropped = new AtomicLong();
  private final PrintStream out;

  AsyncLogHandler(PrintStream out) {
    this.out = out;
    Thread writer = new Thread(this::run, "keystone-log-writer");
    writer.setDaemon(true);
    writer.start();
  }

  @Override
  public void publish(LogRecord record) {
    if (!isLoggable(record)) {
      return;
    }
    if (size.incrementAndGet() > CAPACITY) {
      size.decrementAndGet();
      dropped.incrementAndGet();
      return;
    }
    queue.add(record); // formatted by the writer: the producer (an event loop) only hands it over
  }

  private void run() {
    while (!Thread.currentThread().isInterrupted()) {
      if (!drain()) {
        LockSupport.parkNanos(PERIOD_NANOS);
      }
    }
  }

  /** The batch being written, reused (it made three copies of each line: 4 % of the CPU at 256 connections). */
  private StringBuilder batch = new StringBuilder(8192);
  private byte[] bytes = new byte[8192];

  /** Writes everything queued; returns false when there was nothing. */
  private synchronized boolean drain() {
    LogRecord line = queue.poll();
    if (line == null) {
      return false;
    }
    StringBuilder sb = batch;
    sb.setLength(0);
    int n = 0;
    for (; line != null && sb.length() < 1 << 20; line = queue.poll()) {
      format(sb, line);
      n++;
    }
    if (line != null) {
      format(sb, line);
      n++;
    }
    size.addAndGet(-n);
    long lost = dropped.getAndSet(0);
    if (lost > 0) {
      sb.append("log: ").append(lost).append(" line(s) dropped: output too slow\n");
    }
    write(sb);
    out.flush();
    if (sb.capacity() > 2 << 20) {
      batch = new StringBuilder(8192); // one huge record does not keep its buffers for good
      bytes = new byte[8192];
    }
    return true;
  }

  /** ASCII (nearly every line) as bytes straight to the stream; anything else through its encoder. */
  private void write(StringBuilder sb) {
    int n = sb.length();
    if (bytes.length < n) {
      bytes = new byte[Math.max(n, bytes.length * 2)];
    }
    byte[] b = bytes;
    for (int i = 0; i < n; i++) {
      char c = sb.charAt(i);
      if (c >= 0x80) {
        out.print(sb);
        return;
      }
      b[i] = (byte) c;
    }
    out.write(b, 0, n);
  }

  private void format(StringBuilder sb, LogRecord r) {
    int start = sb.length();
    try {
      if (getFormatter() instanceof Logging.OneLine one) {
        one.appendTo(sb, r);
      } else {
        sb.append(getFormatter().format(r));
      }
    } catch (RuntimeException e) {
      sb.setLength(start);
      sb.append("log: a line could not be formatted: ").append(e).append('\n'); // one bad record must not stop the writer
    }
  }

  /** Writes what is queued now; used before the process exits. */
  @Override
  public void flush() {
    while (drain()) {
      // keep going until empty
    }
    out.flush();
  }

  @Override
  public void close() {
    flush();
  }
}
