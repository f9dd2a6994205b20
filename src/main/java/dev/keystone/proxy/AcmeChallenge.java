package dev.keystone.proxy;

import dev.keystone.model.AcmeTokens;
import io.netty.handler.codec.http.HttpMethod;

/**
 * Answers the ACME CA's HTTP-01 validation, {@code GET /.well-known/acme-challenge/TOKEN}, for
 * the tokens this gateway's ACME client has open, whatever the host and before any tenant's
 * routing (RFC 8555 section 8.3: the CA connects to port 80 of the domain being validated). A
 * token it does not know goes on to routing, so a tenant whose backend runs its own ACME client
 * still gets its challenges.
 */
final class AcmeChallenge implements Interceptor {

  static final String PREFIX = "/.well-known/acme-challenge/";

  private final AcmeTokens tokens;

  AcmeChallenge(AcmeTokens tokens) {
    this.tokens = tokens;
  }

  @Override
  public void handle(Exchange ex) {
    String path = ex.path();
    HttpMethod m = ex.head().method();
    if ((m == HttpMethod.GET || m == HttpMethod.HEAD) && path.startsWith(PREFIX) && tokens.size() > 0) {
      String answer = tokens.answer(path.substring(PREFIX.length()));
      if (answer != null) {
        ResponseSink resp = ex.response();
        resp.status(200);
        resp.headers().set("Content-Type", "application/octet-stream").set("X-Request-ID", ex.requestId());
        ClientBody.answerUnread(ex, answer);
        return;
      }
    }
    ex.next();
  }
}
