package dev.keystone.proxy;

import dev.keystone.testing.RawBackend;
import dev.keystone.testing.RawHttp;
import dev.keystone.testing.TestGateway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random request shapes, valid and hostile, each followed on its connection by a plain sentinel
 * request. For every shape: an answer or a closed connection, never silence; never more answers
 * than requests; and nothing reaches the backend that a strict reading of RFC 9112 refuses. The
 * seed is fixed (set {@code -Dkeystone.fuzz.seed=N} and {@code -Dkeystone.fuzz.count=N} to explore);
 * a failure names the seed, the case and its bytes.
 */
class RequestShapesPropertyTest {

  static RawBackend backend;
  static TestGateway gw;

  @BeforeAll
  static void start() {
    backend = new RawBackend(c -> {
      RawBackend.Request r;
      while ((r = c.readRequest()) != null) {
        c.respond(200, "ok " + r.body().length);
      }
    });
    gw = TestGateway.start("""
        timeouts: { header_read: 2s, idle: 2s }
        limits: { max_body_size: 100000 }
        tenants:
          - name: t
            path_prefix: /t/
            health_interval: 1h
            services: [{ name: b, url: "%s", health: /health }]
        """.formatted(backend.url()));
  }

  @AfterAll
  static void stop() {
    gw.close();
    backend.close();
  }

  /** One generated request: its bytes, whether a strict server must refuse it, and its id. */
  record Shape(String id, byte[] bytes, boolean mustRefuse, int bodyLength, String why, boolean http10) {
  }

  /** Pieces a request is made of; each has a flag for whether it makes the request invalid. */
  record Piece(String text, boolean bad) {
  }

  static final Piece[] METHODS = {
      new Piece("GET", false), new Piece("POST", false), new Piece("PUT", false), new Piece("DELETE", false),
      new Piece("OPTIONS", false), new Piece("PATCH", false), new Piece("G\u0000T", true), new Piece("GE T", true)};
  static final Piece[] TARGETS = {
      new Piece("/t/a", false), new Piece("/t/a/./b/../c", false), new Piece("/t/%7Euser?q=1&r=%20", false),
      new Piece("http://h.example/t/abs", false), new Piece("/t/a\u0000b", true), new Piece("/t/a\u0001b", true),
      new Piece("/t/a\u007f", true), new Piece("/t/..%2Fx", true), new Piece("/t/a%2Fb", true),
      new Piece("/t/\u00e9", true), new Piece("t/no-slash", true), new Piece("/t/a\u000bb", true)};
  static final Piece[] VERSIONS = {
      new Piece("HTTP/1.1", false), new Piece("HTTP/1.0", false), new Piece("HTTP/2.0", true),
      new Piece("http/1.1", true), new Piece("HTTP/1.1 ", false)};
  static final Piece[] HOSTS = {
      new Piece("Host: h.example\r\n", false), new Piece("Host: H.Example:8080\r\n", false),
      new Piece("Host: [::1]:80\r\n", false), new Piece("", false), new Piece("Host: a\r\nHost: b\r\n", true),
      new Piece("Host: a b\r\n", true), new Piece("Host: a/b\r\n", true), new Piece("Host: u@h\r\n", true),
      new Piece("Host: h\u0000x\r\n", true)};
  static final Piece[] EXTRA = {
      new Piece("", false), new Piece("X-Ok: value\r\n", false), new Piece("X-Tab: a\tb\r\n", false),
      new Piece("X-Empty:\r\n", false), new Piece("Bad Name: x\r\n", true), new Piece("NoColon\r\n", true),
      // RFC 9112 section 5.2: an obs-fold may be replaced by spaces instead of refused
      new Piece("X-Fold: a\r\n  folded\r\n", false), new Piece("X-Nul: a\u0000b\r\n", true),
      new Piece("X-Ctl: a\u0001b\r\n", true), new Piece("X-Cr: a\rb\r\n", true), new Piece("X-Del: a\u007fb\r\n", true)};

  /** Body framings: how the body is declared and sent. */
  enum Framing { NONE, LENGTH, CHUNKED, BOTH, TWO_LENGTHS, BAD_LENGTH, ODD_TE, BAD_CHUNK, TE_10 }

  static Shape generate(Random r, int n) {
    String id = "f" + n;
    Piece method = pick(r, METHODS);
    Piece target = pick(r, TARGETS);
    Piece version = pick(r, VERSIONS);
    Piece host = pick(r, HOSTS);
    Piece extra = pick(r, EXTRA);
    Framing framing = Framing.values()[r.nextInt(Framing.values().length)];
    int bodyLength = framing == Framing.NONE ? 0 : r.nextInt(3) == 0 ? 0 : 1 + r.nextInt(3000);
    List<String> why = new ArrayList<>();
    boolean bad = false;
    for (Piece p : new Piece[] {method, target, version, host, extra}) {
      if (p.bad()) {
        bad = true;
        why.add(printable(p.text()));
      }
    }
    boolean http10 = version.text().equals("HTTP/1.0");
    if (host.text().isEmpty() && !http10) {
      bad = true;
      why.add("HTTP/1.1 without Host");
    }
    String body = "b".repeat(bodyLength);
    StringBuilder head = new StringBuilder();
    head.append(method.text()).append(' ').append(target.text()).append(' ').append(version.text()).append("\r\n");
    head.append(host.text()).append("X-Fuzz-Id: ").append(id).append("\r\n").append(extra.text());
    String payload = "";
    switch (framing) {
      case NONE -> { }
      case LENGTH -> {
        head.append("Content-Length: ").append(bodyLength).append("\r\n");
        payload = body;
      }
      case CHUNKED -> {
        head.append("Transfer-Encoding: chunked\r\n");
        payload = chunked(body);
        if (http10) {
          bad = true;
          why.add("chunked in HTTP/1.0");
        }
      }
      case BOTH -> {
        head.append("Content-Length: ").append(bodyLength).append("\r\nTransfer-Encoding: chunked\r\n");
        payload = chunked(body);
        bad = true;
        why.add("Content-Length with Transfer-Encoding");
      }
      case TWO_LENGTHS -> {
        head.append("Content-Length: ").append(bodyLength).append("\r\nContent-Length: ").append(bodyLength + 1).append("\r\n");
        payload = body;
        bad = true;
        why.add("two Content-Lengths");
      }
      case BAD_LENGTH -> {
        head.append("Content-Length: +").append(bodyLength).append("\r\n");
        payload = body;
        bad = true;
        why.add("Content-Length with a sign");
      }
      case ODD_TE -> {
        head.append("Transfer-Encoding: ").append(r.nextBoolean() ? "chunked, identity" : "xchunked").append("\r\n");
        payload = chunked(body);
        bad = true;
        why.add("unknown transfer coding");
      }
      case BAD_CHUNK -> {
        head.append("Transfer-Encoding: chunked\r\n");
        payload = "zz\r\n" + body + "\r\n0\r\n\r\n";
        bad = true;
        why.add("bad chunk size");
      }
      case TE_10 -> {
        head.append("Transfer-Encoding: chunked\r\n");
        payload = chunked(body);
        if (!http10) {
          framing = Framing.CHUNKED;
        } else {
          bad = true;
          why.add("chunked in HTTP/1.0");
        }
      }
    }
    head.append("\r\n").append(payload);
    return new Shape(id, head.toString().getBytes(StandardCharsets.ISO_8859_1), bad, bodyLength, String.join("; ", why),
        http10);
  }

  static String chunked(String body) {
    if (body.isEmpty()) {
      return "0\r\n\r\n";
    }
    int half = body.length() / 2;
    StringBuilder sb = new StringBuilder();
    if (half > 0) {
      sb.append(Integer.toHexString(half)).append("\r\n").append(body, 0, half).append("\r\n");
    }
    sb.append(Integer.toHexString(body.length() - half)).append(";ext=1\r\n").append(body.substring(half)).append("\r\n");
    return sb.append("0\r\n\r\n").toString();
  }

  static <T> T pick(Random r, T[] options) {
    // valid pieces (listed first) come up more often, so most shapes have only one defect
    int validish = Math.min(options.length, 3);
    return r.nextInt(3) > 0 ? options[r.nextInt(validish)] : options[r.nextInt(options.length)];
  }

  static String printable(String s) {
    StringBuilder sb = new StringBuilder();
    for (char c : s.toCharArray()) {
      sb.append(c < 0x20 || c >= 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
    }
    return sb.toString();
  }

  @Test
  void everyShapeGetsOneAnswerOrAClosedConnectionAndNothingRefusableIsForwarded() {
    long seed = Long.getLong("keystone.fuzz.seed", 20261204L);
    int count = Integer.getInteger("keystone.fuzz.count", 400);
    Random random = new Random(seed);
    Map<String, Shape> shapes = new HashMap<>();
    for (int n = 0; n < count; n++) {
      Shape s = generate(random, n);
      shapes.put(s.id(), s);
      String context = "seed " + seed + ", case " + s.id() + " (" + s.why() + "): "
          + printable(new String(s.bytes(), StandardCharsets.ISO_8859_1));
      ByteArrayOutputStream both = new ByteArrayOutputStream();
      both.writeBytes(s.bytes());
      both.writeBytes("GET /t/sentinel HTTP/1.1\r\nHost: h.example\r\nX-Fuzz-Id: sentinel\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      try (RawHttp raw = gw.raw().timeout(8000)) {
        raw.write(both.toByteArray());
        RawHttp.Response first;
        try {
          first = raw.readResponse(new String(s.bytes(), 0, 4, StandardCharsets.ISO_8859_1).startsWith("HEAD"));
        } catch (AssertionError e) {
          throw new AssertionError("no answer and no close: " + context, e);
        }
        while (first.status() < 200) {
          first = raw.readResponse(false);
        }
        if (s.mustRefuse()) {
          assertThat(first.status()).as("refused: " + context).matches(st -> st / 100 == 4 || st == 505, "4xx or 505");
        }
        if (first.status() >= 400 && "close".equalsIgnoreCase(first.header("Connection"))) {
          assertThat(raw.closedByServer()).as("closed after saying so: " + context).isTrue();
          continue;
        }
        if (s.http10()) {
          assertThat(raw.closedByServer()).as("HTTP/1.0 without keep-alive: closed after the answer: " + context).isTrue();
          continue;
        }
        RawHttp.Response second;
        try {
          second = raw.readResponse(false);
        } catch (AssertionError e) {
          throw new AssertionError("after " + first.status() + " " + first.body().strip() + ", no answer to the sentinel: "
              + context, e);
        }
        assertThat(second.status()).as("the sentinel's answer comes second: " + context).isEqualTo(200);
        assertThat(second.body()).as(context).isEqualTo("ok 0");
      }
    }
    for (RawBackend.Request seen : backend.requests()) {
      String id = seen.header("X-Fuzz-Id");
      if ("sentinel".equals(id)) {
        continue;
      }
      Shape s = shapes.get(id);
      assertThat(s).as("the backend saw a request with X-Fuzz-Id " + id).isNotNull();
      assertThat(s.mustRefuse()).as("forwarded though a strict server refuses it: seed " + seed + ", " + id + " ("
          + s.why() + ") as " + seen.method() + " " + printable(seen.target())).isFalse();
      assertThat(seen.body()).as("body of " + id).hasSize(s.bodyLength());
      assertThat(seen.all("Content-Length").size() + seen.all("Transfer-Encoding").size())
          .as("one framing header at most: " + id).isLessThanOrEqualTo(1);
      for (String[] h : seen.headers()) {
        assertThat(h[1]).as("a well-formed header line in " + id + ": " + printable(h[0])).isNotNull();
        assertThat((h[0] + h[1]).chars().anyMatch(c -> (c < 0x20 && c != '\t') || c == 0x7f))
            .as("control characters forwarded in " + id + ": " + printable(h[0] + ": " + h[1])).isFalse();
      }
      if (seen.header("X-Fold") != null) {
        assertThat(seen.header("X-Fold")).as("the obs-fold replaced by a space").isEqualTo("a folded");
      }
    }
  }
}
