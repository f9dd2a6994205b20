package dev.keystone.proxy;

import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.net.NetSocket;

/**
 * Proxies a WebSocket upgrade: the handshake goes to the backend, and once it answers 101 the two
 * connections become a raw byte tunnel, piped with backpressure both ways. The tunnel holds no
 * reference to the config, so reloads never touch open WebSockets.
 */
final class WebSocketTunnel {

  private WebSocketTunnel() {
  }

  static boolean isUpgrade(HttpServerRequest req) {
    String upgrade = req.getHeader("Upgrade");
    String connection = req.getHeader("Connection");
    return upgrade != null && upgrade.equalsIgnoreCase("websocket")
        && connection != null && connection.toLowerCase(java.util.Locale.ROOT).contains("upgrade");
  }

  static void open(Exchange ex, HttpClientRequest upstream, Forwarder forwarder) {
    HttpServerRequest req = ex.request();
    Forwarder.copyRequestHead(ex, upstream);
    upstream.exceptionHandler(Forwarder::handledElsewhere);
    // Upgrade and Connection are hop-by-hop, but for an upgrade they are the point.
    upstream.headers().set("Connection", "Upgrade").set("Upgrade", req.getHeader("Upgrade"));
    upstream.connect().onComplete(ar -> {
      if (ar.failed()) {
        ex.fail(Forwarder.isTimeout(ar.cause()) ? ProxyError.UPSTREAM_TIMEOUT : ProxyError.UPSTREAM_FAILED,
            "websocket handshake: " + Forwarder.describe(ar.cause()));
        return;
      }
      HttpClientResponse answer = ar.result();
      if (answer.statusCode() != 101) {
        req.resume();
        forwarder.relay(ex, answer, () -> { }, upstream);
        return;
      }
      HttpServerResponse resp = req.response();
      resp.setStatusCode(101);
      HopByHop.copy(answer.headers(), resp.headers(), null);
      resp.headers().set("Connection", "Upgrade").set("Upgrade", answer.getHeader("Upgrade"));
      resp.headers().set("X-Request-ID", ex.requestId());
      NetSocket backendSocket = answer.netSocket();
      req.resume();
      req.toNetSocket().onComplete(sock -> {
        if (sock.failed()) {
          Completion.done(ex, true);
          backendSocket.close();
          return;
        }
        Completion.done(ex, false); // the exchange is now a tunnel: count and log the upgrade itself
        NetSocket clientSocket = sock.result();
        clientSocket.pipeTo(backendSocket);
        backendSocket.pipeTo(clientSocket);
      });
    });
  }
}
