package dev.keystone.app;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;

import static org.assertj.core.api.Assertions.assertThat;

/** The log writer formats whole batches into one reused buffer: each line must come out whole and as formatted. */
class AsyncLogHandlerTest {

  private static LogRecord record(String logger, String message, long millis) {
    LogRecord r = new LogRecord(Level.INFO, message);
    r.setLoggerName(logger);
    r.setMillis(millis);
    return r;
  }

  @Test
  void linesComeOutInOrderAsformatted() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    AsyncLogHandler h = new AsyncLogHandler(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    h.setFormatter(new Logging.OneLine());
    long t = 1_796_555_376_007L; // 2026-12-06T11:09:36.007Z
    h.publish(record("keystone.main", "plain ascii", t));
    h.publish(record("keystone.health", "caf\u00e9 and a snowman \u2603", t + 1));
    h.publish(record("other", "third", t + 993));
    h.flush();
    assertThat(bytes.toString(StandardCharsets.UTF_8)).isEqualTo(
        "2026-12-06T11:09:36.007Z INFO main plain ascii\n"
            + "2026-12-06T11:09:36.008Z INFO health caf\u00e9 and a snowman \u2603\n"
            + "2026-12-06T11:09:37.000Z INFO other third\n");
    h.close();
  }

  @Test
  void aRecordThatCannotBeFormattedIsReportedAndTheOthersStillWritten() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    AsyncLogHandler h = new AsyncLogHandler(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    h.setFormatter(new Formatter() {
      @Override
      public String format(LogRecord r) {
        if (r.getMessage().equals("bad")) {
          throw new IllegalStateException("boom");
        }
        return r.getMessage() + "\n";
      }
    });
    h.publish(record("x", "one", 0));
    h.publish(record("x", "bad", 0));
    h.publish(record("x", "two", 0));
    h.flush();
    assertThat(bytes.toString(StandardCharsets.UTF_8))
        .isEqualTo("one\nlog: a line could not be formatted: java.lang.IllegalStateException: boom\ntwo\n");
    h.close();
  }
}
