package dev.keystone.bench;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;

/**
 * Not Keystone: the shortest correct-looking proxy on Vert.x core, for {@code CEILINGS=1
 * bench/run}. It strips {@code /api}, round-robins over two backends through a pooled Vert.x
 * HttpClient (the same options Keystone uses) and sends bodies with {@code send(ReadStream)}.
 * The distance between it and Keystone is what Keystone's own features cost; the distance
 * between it and {@link BareNettyProxy} is what the Vert.x HTTP layers cost.
 *
 * <p>Usage: {@code BareVertxProxy LISTEN_PORT BACKEND_PORT_A BACKEND_PORT_B}
 */
public final class BareVertxProxy extends VerticleBase {

  private final int listen;
  private final int[] backends;
  private HttpClient client;
  private int next;

  private BareVertxProxy(int listen, int[] backends) {
    this.listen = listen;
    this.backends = backends;
  }

  public static void main(String[] args) {
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setPreferNativeTransport(true));
    int[] backends = {Integer.parseInt(args[1]), Integer.parseInt(args[2])};
    vertx.deployVerticle(new BareVertxProxy(Integer.parseInt(args[0]), backends)).await();
    System.out.println("bare vert.x proxy listening on " + args[0] + ", native transport " + vertx.isNativeTransportEnabled());
  }

  @Override
  public Future<?> start() {
    client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setKeepAliveTimeout(60).setTcpNoDelay(true),
        new PoolOptions().setHttp1MaxSize(512).setMaxWaitQueueSize(-1));
    return vertx.createHttpServer(new HttpServerOptions().setTcpNoDelay(true).setHost("127.0.0.1").setPort(listen))
        .requestHandler(req -> {
          req.pause();
          String uri = req.uri().startsWith("/api/") ? req.uri().substring(4) : req.uri();
          RequestOptions options = new RequestOptions().setMethod(req.method())
              .setHost("127.0.0.1").setPort(backends[next++ & 1]).setURI(uri);
          client.request(options)
              .compose(upstream -> {
                upstream.headers().addAll(req.headers()).remove("Connection").set("X-Forwarded-For", "127.0.0.1");
                return upstream.send(req);
              })
              .onComplete(ar -> {
                HttpServerResponse resp = req.response();
                if (ar.failed()) {
                  resp.setStatusCode(502).end();
                  return;
                }
                resp.setStatusCode(ar.result().statusCode());
                resp.headers().addAll(ar.result().headers()).remove("Connection");
                resp.send(ar.result());
              });
        })
        .listen();
  }
}
