package dev.keystone.proxy;

import java.util.Locale;

/**
 * Reads a request or response head (or the trailers of a chunked body) byte by byte, the way the HTTP decoder
 * reads it, and keeps what decides the framing of the body: {@code Transfer-Encoding} and
 * {@code Content-Length}. {@link ChunkedFraming} must see every head exactly as the decoder does,
 * or a header it misses (a value behind 300 spaces, a folded line) makes it lose track of where
 * the chunk-size lines are, and a bad one reaches the decoder unchecked.
 *
 * <p>So nothing here is cut short: a framing header's value is kept whole (up to
 * {@link #MAX_FRAMING_VALUE}, beyond which the request is refused), other lines are only scanned
 * for their name, and what the decoder would read in a way this class cannot follow is refused:
 * obsolete line folding (RFC 9112 section 5.2 lets a server refuse it, and it is how a framing
 * value is hidden on a second line).
 */
final class FramingHead {

  /** What the byte just read means. */
  enum Step { MORE, ENDED, REFUSED_AT_LINE_START, REFUSED_MID_LINE }

  /** A Transfer-Encoding or Content-Length value longer than this (after leading spaces) is refused. */
  static final int MAX_FRAMING_VALUE = 1024;
  private static final int LONGEST_NAME = "transfer-encoding".length();

  private enum Part { BEFORE_REQUEST_LINE, REQUEST_LINE, NAME, TRANSFER_ENCODING, CONTENT_LENGTH, OTHER }

  private Part part = Part.BEFORE_REQUEST_LINE;
  private int lineBytes;
  private byte last;
  /** The name of the current line while it is read, then the value of a framing header. */
  private final StringBuilder text = new StringBuilder(32);
  private boolean chunked;
  private long contentLength;
  private boolean hasContentLength;
  /**
   * Heads of responses: a name ends at whitespace, as the response decoder reads it, and only
   * whitespace may follow it before the colon (requests: the request decoder refuses any).
   */
  private final boolean responses;
  private boolean spaceInName;
  /** The start of the head's first line: enough for a status line's code. */
  private final StringBuilder startLine = new StringBuilder(16);

  FramingHead(boolean responses) {
    this.responses = responses;
  }

  /** Starts reading a request head. */
  void startHead() {
    part = Part.BEFORE_REQUEST_LINE;
    chunked = false;
    contentLength = 0;
    hasContentLength = false;
    startLine.setLength(0);
    newLine();
  }

  /** Starts reading the trailer section after the last chunk. */
  void startTrailers() {
    newLine();
  }

  /** Whether the head's first line has begun (leading blank bytes are skipped, as the decoder does). */
  boolean started() {
    return part != Part.BEFORE_REQUEST_LINE;
  }

  /** Whether the head read declares a chunked body (any element of any Transfer-Encoding, as the decoder reads it). */
  boolean chunked() {
    return chunked;
  }

  /** The Content-Length the head declares; 0 if none or not a number (the decoder refuses those). */
  long contentLength() {
    return contentLength;
  }

  /** Whether the head has a Content-Length field at all. */
  boolean hasContentLength() {
    return hasContentLength;
  }

  /** The code of a status line ({@code HTTP/1.1 200 OK}), or -1 when the first line is none. */
  int statusCode() {
    if (startLine.length() < 12 || !startLine.toString().startsWith("HTTP/") || startLine.charAt(8) != ' ') {
      return -1;
    }
    int code = 0;
    for (int i = 9; i < 12; i++) {
      char c = startLine.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      code = code * 10 + (c - '0');
    }
    return code;
  }

  Step next(byte b) {
    if (part == Part.BEFORE_REQUEST_LINE) {
      if ((b >= 0 && b <= ' ') || b == 0x7f) {
        return Step.MORE; // the decoder skips control characters and spaces before a request line
      }
      part = Part.REQUEST_LINE;
    }
    if (b == '\n') {
      return endOfLine();
    }
    if (lineBytes++ == 0 && part == Part.NAME && (b == ' ' || b == '\t')) {
      return Step.REFUSED_AT_LINE_START; // obs-fold: the decoder would join this line to the one before
    }
    last = b;
    switch (part) {
      case REQUEST_LINE -> {
        if (startLine.length() < 16) {
          startLine.append((char) (b & 0xff));
        }
      }
      case NAME -> {
        if (b == ':') {
          part = framingField(text);
          text.setLength(0);
        } else if (responses && (b == ' ' || b == '\t')) {
          spaceInName = true; // the response decoder ends a name at whitespace and skips to the colon
        } else if (spaceInName) {
          // "Set-Cookie injected: x": the decoder would take the first word for the name (attack
          // D1-3); RFC 9112 section 5.1 allows only whitespace between a name and its colon.
          return Step.REFUSED_MID_LINE;
        } else if (text.length() <= LONGEST_NAME) {
          text.append((char) (b & 0xff)); // longer names match no framing header; read on to the colon
        }
      }
      case TRANSFER_ENCODING, CONTENT_LENGTH -> {
        if (text.length() == 0 && (b == ' ' || b == '\t')) {
          break; // leading whitespace, which the decoder drops too
        }
        if (text.length() >= MAX_FRAMING_VALUE) {
          return Step.REFUSED_MID_LINE;
        }
        text.append((char) (b & 0xff));
      }
      default -> { }
    }
    return Step.MORE;
  }

  /**
   * The decoder's name is everything before the colon, spaces included: no trimming here either.
   * Compared in place (no string per header line: this runs for every line of every head).
   */
  private static Part framingField(CharSequence name) {
    if (sameIgnoringCase(name, "transfer-encoding")) {
      return Part.TRANSFER_ENCODING;
    }
    return sameIgnoringCase(name, "content-length") ? Part.CONTENT_LENGTH : Part.OTHER;
  }

  /** {@code lower} is lower case ASCII. */
  private static boolean sameIgnoringCase(CharSequence name, String lower) {
    int n = lower.length();
    if (name.length() != n) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      char c = name.charAt(i);
      if (c >= 'A' && c <= 'Z') {
        c += 'a' - 'A';
      }
      if (c != lower.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private Step endOfLine() {
    boolean empty = lineBytes == 0 || (lineBytes == 1 && last == '\r');
    Part ended = part;
    String value = ended == Part.TRANSFER_ENCODING || ended == Part.CONTENT_LENGTH ? text.toString().trim() : null;
    newLine();
    if (ended == Part.REQUEST_LINE) {
      return Step.MORE;
    }
    if (empty) {
      return Step.ENDED;
    }
    if (ended == Part.TRANSFER_ENCODING) {
      chunked |= hasChunked(value);
    } else if (ended == Part.CONTENT_LENGTH) {
      hasContentLength = true;
      contentLength = digits(value);
    }
    return Step.MORE;
  }

  private void newLine() {
    spaceInName = false;
    if (part != Part.BEFORE_REQUEST_LINE) {
      part = Part.NAME;
    }
    lineBytes = 0;
    last = 0;
    text.setLength(0);
  }

  /** As Netty's {@code HttpUtil.isTransferEncodingChunked}: any comma-separated element, trimmed. */
  private static boolean hasChunked(String value) {
    for (String element : value.split(",", -1)) {
      if (element.trim().toLowerCase(Locale.ROOT).equals("chunked")) {
        return true;
      }
    }
    return false;
  }

  private static long digits(String value) {
    if (value.isEmpty() || value.length() > 18) {
      return 0;
    }
    for (int i = 0; i < value.length(); i++) {
      if (value.charAt(i) < '0' || value.charAt(i) > '9') {
        return 0;
      }
    }
    return Long.parseLong(value);
  }
}
