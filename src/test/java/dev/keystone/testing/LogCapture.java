package dev.keystone.testing;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** Collects the messages of one logger (the access log, say) while open. */
public final class LogCapture extends Handler implements AutoCloseable {

  private final Logger logger;
  private final ConcurrentLinkedQueue<String> lines = new ConcurrentLinkedQueue<>();

  private LogCapture(Logger logger) {
    this.logger = logger;
  }

  public static LogCapture of(String loggerName) {
    LogCapture c = new LogCapture(Logger.getLogger(loggerName));
    c.logger.addHandler(c);
    return c;
  }

  /** The access log ({@code keystone.access}). */
  public static LogCapture accessLog() {
    return of("keystone.access");
  }

  @Override
  public void publish(LogRecord r) {
    lines.add(r.getMessage());
  }

  public List<String> lines() {
    return List.copyOf(lines);
  }

  /** The lines that contain {@code text}. */
  public List<String> matching(String text) {
    return lines.stream().filter(l -> l.contains(text)).toList();
  }

  /** Waits for exactly one line containing {@code text} (request_id=...) and returns it. */
  public String awaitOne(String text) {
    Await.until("an access log line with " + text, () -> !matching(text).isEmpty());
    List<String> found = matching(text);
    if (found.size() != 1) {
      throw new AssertionError("expected one line with " + text + ", got " + found);
    }
    return found.get(0);
  }

  @Override
  public void flush() {
  }

  @Override
  public void close() {
    logger.removeHandler(this);
  }
}
