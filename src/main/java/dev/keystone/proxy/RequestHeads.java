package dev.keystone.proxy;

import dev.keystone.model.Backend;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;

import java.util.Map;

/** The head a request is forwarded with: the client's end-to-end headers, the forwarding headers, the script's edits. */
final class RequestHeads {

  private RequestHeads() {
  }

  static HttpHeaders forBackend(Exchange ex, Backend backend) {
    RequestHead head = ex.head();
    // Vert.x's map (its encoder is the faster one: BackendPool's RequestEncoder); no checks, every
    // value was checked on the way in.
    HttpHeaders out = io.vertx.core.http.impl.headers.HeadersMultiMap.caseInsensitive();
    HopByHop.copy(head.headers(), out::add, "host");
    ForwardedHeaders.apply(head, head.secure(), ex.hostHeader(), out);
    out.set("X-Request-ID", ex.requestId());
    String clientHost = ex.hostHeader();
    boolean preserve = ex.tenant().preserveHost() && clientHost != null && !clientHost.isEmpty();
    out.set("Host", preserve ? clientHost : backend.authority());
    if (head.method() == HttpMethod.HEAD) {
      // A backend that sends a body after a HEAD response's head (a common bug) would have it
      // read as the next request's response: a HEAD's connection is not reused (R3-5).
      out.set("Connection", "close");
    }
    if (ex.headerEdits != null) {
      apply(ex.headerEdits, out);
    }
    return out;
  }

  /** A script's header edits: a value replaces the header, null removes it. */
  static void apply(Map<String, String> edits, HttpHeaders headers) {
    edits.forEach((name, value) -> {
      if (value == null) {
        headers.remove(name);
      } else {
        headers.set(name, value);
      }
    });
  }
}
