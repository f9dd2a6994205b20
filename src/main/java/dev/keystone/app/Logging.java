package dev.keystone.app;

import java.io.PrintStream;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** One line per log record on standard output (written off the event loops): time, level, logger, message. */
public final class Logging {

  private Logging() {
  }

  public static void configure(PrintStream out) {
    Logger root = Logger.getLogger("");
    for (Handler h : root.getHandlers()) {
      root.removeHandler(h);
    }
    Handler handler = new AsyncLogHandler(out);
    handler.setFormatter(new OneLine());
    handler.setLevel(Level.ALL);
    root.addHandler(handler);
    root.setLevel(Level.INFO);
    // Netty and Vert.x are chatty at INFO about things an operator cannot act on.
    Logger.getLogger("io.netty").setLevel(Level.WARNING);
  }

  /** Writes out what the background log writer still holds (before printing or exiting). */
  public static void flush() {
    for (Handler h : Logger.getLogger("").getHandlers()) {
      h.flush();
    }
  }

  static final class OneLine extends Formatter {
    @Override
    public String format(LogRecord r) {
      StringBuilder sb = new StringBuilder(200);
      appendTo(sb, r);
      return sb.toString();
    }

    /** Appends the formatted line to {@code sb}: the log writer formats a whole batch into one builder. */
    void appendTo(StringBuilder sb, LogRecord r) {
      Timestamps.appendTo(sb, r.getMillis());
      sb.append(' ').append(r.getLevel().getName()).append(' ').append(shortName(r.getLoggerName())).append(' ');
      if (r instanceof dev.keystone.proxy.AccessLog.Line line) {
        line.appendMessageTo(sb); // one per request: no message string of its own
      } else {
        sb.append(formatMessage(r));
      }
      sb.append('\n');
      if (r.getThrown() != null) {
        java.io.StringWriter w = new java.io.StringWriter();
        r.getThrown().printStackTrace(new java.io.PrintWriter(w));
        sb.append(w);
      }
    }

    private static String shortName(String name) {
      if (name == null) {
        return "-";
      }
      return name.startsWith("keystone.") ? name.substring("keystone.".length()) : name;
    }
  }

}
