package dev.keystone.proxy;

import dev.keystone.model.Backend;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.net.NetSocket;

/**
 * Proxies a WebSocket upgrade: the handshake goes to the backend, and once it answers 101 the two
 * connections become a raw byte tunnel, piped with backpressure both ways. The tunnel holds no
 * reference to the config, so reloads never touch open WebSockets. A tunnel that stays silent is
 * closed by the backend connection's idle timeout.
 */
final class WebSocketTunnel {

  private WebSocketTunnel() {
  }

  /**
   * A WebSocket handshake: an HTTP/1.1 GET without a body asking to upgrade (RFC 6455). Anything
   * else with an Upgrade header is forwarded as a plain request (Upgrade is hop-by-hop, so it is
   * dropped).
   */
  static boolean isUpgrade(Exchange ex) {
    RequestHead req = ex.head();
    return isHandshake(req.method(), req.version(), req.headers(), ClientBody.declared(ex));
  }

  /** {@link #isUpgrade} on a head as decoded; {@code body}: it announces a body. */
  static boolean isHandshake(io.netty.handler.codec.http.HttpMethod method, io.netty.handler.codec.http.HttpVersion version,
                             io.netty.handler.codec.http.HttpHeaders headers, boolean body) {
    // RFC 9110 section 7.8: an Upgrade in an HTTP/1.0 request is ignored (C1-2).
    if (method != io.netty.handler.codec.http.HttpMethod.GET || body
        || version != io.netty.handler.codec.http.HttpVersion.HTTP_1_1) {
      return false;
    }
    String upgrade = headers.get("Upgrade");
    String connection = headers.get("Connection");
    return upgrade != null && upgrade.equalsIgnoreCase("websocket")
        && connection != null && connection.toLowerCase(java.util.Locale.ROOT).contains("upgrade");
  }

  static void open(Exchange ex, HttpClientRequest upstream, Backend backend) {
    HttpServerRequest req = VertxClientSide.request(ex);
    UpstreamCall.copyRequestHead(ex, upstream);
    upstream.exceptionHandler(Failures::handledElsewhere);
    // Upgrade and Connection are hop-by-hop, but for an upgrade they are the point.
    upstream.headers().set("Connection", "Upgrade").set("Upgrade", req.getHeader("Upgrade"));
    ex.abortUpstream = upstream::reset;
    ex.phase(Exchange.Phase.AWAITING_HEAD);
    upstream.idleTimeout(ex.snapshot().plan().timeouts().responseHeader().toMillis());
    upstream.connect().onComplete(ex.guard(ar -> {
      if (ar.failed()) {
        String why = "websocket handshake with " + backend.name() + ": " + Failures.describe(ar.cause());
        backend.health().passiveFailure(why, ex.snapshot().plan().passiveHealth(), false);
        ex.fail(Failures.isTimeout(ar.cause()) ? ProxyError.UPSTREAM_TIMEOUT : ProxyError.UPSTREAM_FAILED, why);
        return;
      }
      HttpClientResponse answer = ar.result();
      String protocol = answer.getHeader("Upgrade");
      if (answer.statusCode() == 101 && (protocol == null || !protocol.trim().equalsIgnoreCase("websocket"))) {
        // RFC 9110 section 15.2.2: a 101 names the protocol switched to, one the client asked
        // for; a tunnel to anything else would carry bytes the client can't read as WebSocket.
        answer.exceptionHandler(Failures::handledElsewhere); // the reset below is ours (R5-5)
        upstream.reset();
        String why = "websocket handshake with " + backend.name() + ": 101 switching to "
            + (protocol == null ? "no protocol (no Upgrade header)" : "'" + protocol + "'") + ", not websocket";
        backend.health().passiveFailure(why, ex.snapshot().plan().passiveHealth(), false);
        ex.fail(ProxyError.UPSTREAM_FAILED, why);
        return;
      }
      backend.health().passiveSuccess();
      if (answer.statusCode() != 101) {
        req.resume();
        new ResponseRelay(ex, answer, false, how -> {
          if (how != ResponseRelay.End.COMPLETE) {
            upstream.reset();
          }
        }).start();
        return;
      }
      HttpServerResponse resp = req.response();
      ClientConnections.tunnel(ClientConnections.channel(req.connection()));
      resp.setStatusCode(101);
      HopByHop.copy(answer.headers(), resp.headers(), null);
      resp.headers().set("Connection", "Upgrade").set("Upgrade", answer.getHeader("Upgrade"));
      resp.headers().set("X-Request-ID", ex.requestId());
      resp.headers().set("Via", ForwardedHeaders.appended(answer.headers(), "Via", ForwardedHeaders.via(answer.version())));
      NetSocket backendSocket = answer.netSocket();
      ex.abortUpstream = backendSocket::close;
      ex.answered = true;
      req.resume();
      req.toNetSocket().onComplete(ex.guard(sock -> {
        if (sock.failed()) {
          Completion.done(ex, Completion.Outcome.ABORTED);
          backendSocket.close();
          return;
        }
        ex.abortUpstream = null;
        Completion.done(ex, Completion.Outcome.COMPLETE); // the exchange is now a tunnel: count and log the upgrade
        NetSocket clientSocket = sock.result();
        clientSocket.pipeTo(backendSocket);
        backendSocket.pipeTo(clientSocket);
      }));
    }));
  }
}
