package dev.keystone.state;

import dev.keystone.model.AcmeTokens;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * The other instances' ACME news, from the state store's channel: their challenge answers, which
 * this instance answers too until they are taken away (or {@link RedisAcme#ANSWER_MS} passed,
 * should the message that takes one away be lost), and the certificates they kept. On every
 * (re)subscription what is stored is read back, so an instance started or reconnected during a
 * validation answers it, and one that missed an announcement looks at the certificate then
 * (attack s19-acme2 N1: a revoked certificate stayed served by an instance away for 8 s).
 */
final class ChallengeFeed implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger("keystone.acme");

  private final RedisStore store;
  private final AcmeTokens tokens;
  private final String origin;
  private final String channel;
  private final Consumer<String> certificateKept;
  private final Subscription subscription;

  ChallengeFeed(RedisStore store, AcmeTokens tokens, String origin, String channel, Consumer<String> certificateKept) {
    this.store = store;
    this.tokens = tokens;
    this.origin = origin;
    this.channel = channel;
    this.certificateKept = certificateKept;
    this.subscription = new Subscription(store, channel, this::message, () -> scan("0"));
  }

  RedisConnection subscriber() {
    return subscription.connection();
  }

  static JsonObject encodeAlpn(AcmeTokens.AlpnAnswer a) {
    try {
      return new JsonObject().put("c", Base64.getEncoder().encodeToString(a.certificate().getEncoded()))
          .put("k", Base64.getEncoder().encodeToString(a.key().getEncoded()));
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  static AcmeTokens.AlpnAnswer decodeAlpn(String json) throws Exception {
    JsonObject o = new JsonObject(json);
    X509Certificate c = (X509Certificate) CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(Base64.getDecoder().decode(o.getString("c"))));
    var key = java.security.KeyFactory.getInstance(c.getPublicKey().getAlgorithm())
        .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(Base64.getDecoder().decode(o.getString("k"))));
    return new AcmeTokens.AlpnAnswer(c, key);
  }

  private void message(Response r) {
    if (r.size() < 3 || !"message".equals(r.get(0).toString()) || r.get(2).toBytes().length > RedisAcme.MAX_VALUE) {
      return;
    }
    try {
      JsonObject m = new JsonObject(r.get(2).toString());
      if (origin.equals(m.getString("o"))) {
        return; // this instance's own: answered here already
      }
      String op = m.getString("op", "");
      switch (op) {
        case "http" -> answer(m.getString("t"), m.getString("a"), RedisAcme.ANSWER_MS);
        case "http-" -> tokens.removeRemote(m.getString("t"));
        case "alpn" -> answerAlpn(m.getString("d"), m.getString("v"), RedisAcme.ANSWER_MS);
        case "alpn-" -> tokens.removeRemoteAlpn(m.getString("d"), null);
        case "cert" -> certificateKept.accept(m.getString("key"));
        default -> { }
      }
    } catch (RuntimeException e) {
      LOG.fine("ACME message from the state store not understood: " + e);
    }
  }

  private void answer(String token, String keyAuthorization, long ttlMillis) {
    if (token == null || keyAuthorization == null || ttlMillis <= 0 || !tokens.applyRemote(token, keyAuthorization)) {
      return;
    }
    store.vertx().setTimer(ttlMillis, t -> {
      if (keyAuthorization.equals(tokens.answer(token))) {
        tokens.removeRemote(token);
      }
    });
  }

  private void answerAlpn(String domain, String value, long ttlMillis) {
    if (domain == null || value == null || ttlMillis <= 0) {
      return;
    }
    AcmeTokens.AlpnAnswer a;
    try {
      a = decodeAlpn(value);
    } catch (Exception e) {
      LOG.fine("ACME tls-alpn-01 answer from the state store not understood: " + e);
      return;
    }
    if (tokens.applyRemoteAlpn(domain, a)) {
      store.vertx().setTimer(ttlMillis, t -> tokens.removeRemoteAlpn(domain, a));
    }
  }

  /** Reads back the answers stored while this instance was not subscribed. */
  private void scan(String cursor) {
    store.send(Request.cmd(Command.SCAN).arg(cursor).arg("MATCH").arg(RedisAcme.PREFIX + "*").arg("COUNT").arg(500))
        .onSuccess(r -> {
          for (Response k : r.get(1)) {
            load(k.toString());
          }
          String next = r.get(0).toString();
          if (!"0".equals(next) && !subscription.closed()) {
            scan(next);
          }
        });
  }

  private void load(String redisKey) {
    String rest = redisKey.substring(RedisAcme.PREFIX.length());
    if (rest.startsWith("cert:")) {
      // an announcement missed while away (a replacement, after a revocation): looked at now
      certificateKept.accept(rest.substring("cert:".length()));
      return;
    }
    boolean http = rest.startsWith("http01:");
    if (!http && !rest.startsWith("alpn:")) {
      return;
    }
    String name = rest.substring(rest.indexOf(':') + 1);
    Future<Response> value = store.send(Request.cmd(Command.GET).arg(redisKey));
    Future<Response> ttl = store.send(Request.cmd(Command.PTTL).arg(redisKey));
    Future.all(value, ttl).onSuccess(x -> {
      Response v = value.result();
      if (v == null || v.toBytes().length > RedisAcme.MAX_VALUE || http && tokens.answer(name) != null) {
        return;
      }
      if (http) {
        answer(name, v.toString(StandardCharsets.UTF_8), ttl.result().toLong());
      } else {
        answerAlpn(name, v.toString(StandardCharsets.UTF_8), ttl.result().toLong());
      }
    });
  }

  @Override
  public void close() {
    subscription.close();
  }
}
