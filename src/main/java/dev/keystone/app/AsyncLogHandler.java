package dev.keystone.app;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Handler;
import java.util.logging.LogRecord;

/**
 * Writes log lines from a background thread, so an event loop that logs (one access-log line per
 * request) never waits on standard output: a slow or full pipe would otherwise stall every
 * request on that loop. Lines are formatted by the caller and queued; when the queue is full they
 * are dropped and counted, rather than blocking the proxy.
 */
final class AsyncLogHandler extends Handler {

  private static final int CAPACITY = 65_536;

  private final BlockingQueue<String> queue = new ArrayBlockingQueue<>(CAPACITY);
  private final AtomicLong dropped = new AtomicLong();
  private final PrintStream out;
  private final Thread writer;

  AsyncLogHandler(PrintStream out) {
    this.out = out;
    this.writer = new Thread(this::drain, "keystone-log-writer");
    writer.setDaemon(true);
    writer.start();
  }

  @Override
  public void publish(LogRecord record) {
    if (!isLoggable(record)) {
      return;
    }
    if (!queue.offer(getFormatter().format(record))) {
      dropped.incrementAndGet();
    }
  }

  private void drain() {
    List<String> batch = new ArrayList<>(1024);
    while (true) {
      try {
        batch.add(queue.take());
      } catch (InterruptedException e) {
        return;
      }
      queue.drainTo(batch, 1023);
      StringBuilder sb = new StringBuilder(batch.size() * 160);
      batch.forEach(sb::append);
      long lost = dropped.getAndSet(0);
      if (lost > 0) {
        sb.append("log: ").append(lost).append(" line(s) dropped: output too slow\n");
      }
      out.print(sb);
      out.flush();
      batch.clear();
    }
  }

  /** Waits (up to two seconds) until queued lines are written; used before the process exits. */
  @Override
  public void flush() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
    while (!queue.isEmpty() && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    out.flush();
  }

  @Override
  public void close() {
    flush();
  }
}
