package dev.keystone.proxy;

import io.netty.handler.codec.http2.Http2Headers;
import io.vertx.core.http.impl.headers.HeadersMultiMap;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** An answer's fields for HTTP/2: lower-case names, connection-specific ones left out (RFC 9113 section 8.2). */
class Http2FieldsTest {

  private static List<String> fields(Http2Headers h) {
    List<String> out = new ArrayList<>();
    h.forEach(e -> out.add(e.getKey() + ": " + e.getValue()));
    return out;
  }

  @Test
  void namesAreLowerCaseAndInOrderWithTheStatusFirst() {
    var in = HeadersMultiMap.httpHeaders();
    in.add("Content-Type", "text/plain").add("X-Custom-Name", "A").add("SET-COOKIE", "a=1").add("set-cookie", "b=2")
        .add("x-request-id", "r1");
    assertThat(fields(Http2Fields.of(in, "200"))).containsExactly(":status: 200", "content-type: text/plain",
        "x-custom-name: A", "set-cookie: a=1", "set-cookie: b=2", "x-request-id: r1");
  }

  @Test
  void connectionSpecificFieldsAndWhatConnectionNamesAreLeftOut() {
    var in = HeadersMultiMap.httpHeaders();
    in.add("Connection", "close, X-Hop").add("Keep-Alive", "timeout=5").add("Proxy-Connection", "keep-alive")
        .add("Transfer-Encoding", "chunked").add("Upgrade", "h2c").add("X-Hop", "1").add("TE", "gzip")
        .add("X-Kept", "2");
    assertThat(fields(Http2Fields.of(in, "200"))).containsExactly(":status: 200", "x-kept: 2");
    var te = HeadersMultiMap.httpHeaders();
    te.add("TE", "Trailers");
    assertThat(fields(Http2Fields.of(te, null))).containsExactly("te: Trailers");
  }

  @Test
  void commonNamesAreTheSameConstantWhateverTheirCase() {
    assertThat((Object) Http2Fields.lowerCase("Content-Length")).isSameAs(Http2Fields.lowerCase("content-length"));
    assertThat(Http2Fields.lowerCase("CONTENT-LENGTH").toString()).isEqualTo("content-length");
    assertThat(Http2Fields.lowerCase("X-Not-Common").toString()).isEqualTo("x-not-common");
  }
}
