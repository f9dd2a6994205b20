package dev.keystone.state;

import dev.keystone.acme.SharedAcme;
import dev.keystone.model.AcmeTokens;
import dev.keystone.testing.Await;
import dev.keystone.testing.TestCertificates;
import dev.keystone.testing.TestRedis;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The ACME state shared through a real Redis: one lock holder per certificate, the cluster's
 * backoff after a failed order (doubling, or what the CA said), one account key, and the challenge
 * answers of one instance answered by the others (also by one that subscribes after they were
 * published) until taken away.
 */
class RedisAcmeTest {

  @TempDir
  Path dir;
  TestRedis redis;
  Vertx vertx;
  AcmeTokens tokensA = new AcmeTokens();
  AcmeTokens tokensB = new AcmeTokens();
  RedisAcme a;
  RedisAcme b;
  java.util.List<String> announcedToB = new java.util.concurrent.CopyOnWriteArrayList<>();

  @BeforeEach
  void start() {
    redis = new TestRedis(dir);
    vertx = Vertx.vertx();
    a = new RedisAcme(new RedisStore(vertx, redis.url()), tokensA, k -> { });
    b = new RedisAcme(new RedisStore(vertx, redis.url()), tokensB, announcedToB::add);
    Await.until("both subscribed", Duration.ofSeconds(10), () -> a.subscriber() != null && b.subscriber() != null);
  }

  @AfterEach
  void stop() {
    a.close();
    b.close();
    vertx.close();
    redis.close();
  }

  @Test
  void oneInstanceHoldsTheLockAndAFailedOrderHoldsTheWholeClusterBack() throws Exception {
    SharedAcme.Lock first = a.lock("shop.test-abc", false);
    assertThat(first.token()).isNotNull();
    SharedAcme.Lock second = b.lock("shop.test-abc", false);
    assertThat(second.token()).isNull();
    assertThat(second.retryInMillis()).isBetween(1L, RedisAcme.LOCK_MS);
    assertThat(b.lock("other.test-def", false).token()).as("a lock per set of names").isNotNull();

    assertThat(a.unlock("shop.test-abc", first.token(), true, 60_000, 21_600_000, 0)).isEqualTo(60_000);
    SharedAcme.Lock waiting = b.lock("shop.test-abc", false);
    assertThat(waiting.token()).as("the cluster waits after a failed order").isNull();
    assertThat(waiting.retryInMillis()).isBetween(50_000L, 60_000L);
    SharedAcme.Lock operator = b.lock("shop.test-abc", true);
    assertThat(operator.token()).as("an operator's replacement does not wait").isNotNull();
    b.unlock("shop.test-abc", operator.token(), true, 60_000, 21_600_000, 0); // failed too: the backoff doubles
    redisCall("SET", "keystone:acme:backoff:shop.test-abc", "0");
    redisCall("DEL", "keystone:acme:wait:shop.test-abc");
    a.unlock("shop.test-abc", a.lock("shop.test-abc", false).token(), true, 60_000, 21_600_000, 0);

    // the wait over (ended here by hand), the next failure doubles it; what the CA says wins when longer
    redisCall("DEL", "keystone:acme:wait:shop.test-abc");
    SharedAcme.Lock again = b.lock("shop.test-abc", false);
    assertThat(again.token()).isNotNull();
    assertThat(b.unlock("shop.test-abc", again.token(), true, 60_000, 21_600_000, 0)).isEqualTo(120_000);
    redisCall("DEL", "keystone:acme:wait:shop.test-abc");
    SharedAcme.Lock third = a.lock("shop.test-abc", false);
    assertThat(a.unlock("shop.test-abc", third.token(), true, 60_000, 21_600_000, 3_600_000)).isEqualTo(3_600_000);
    redisCall("DEL", "keystone:acme:wait:shop.test-abc");

    // a success ends the backoff
    SharedAcme.Lock fourth = a.lock("shop.test-abc", false);
    assertThat(a.unlock("shop.test-abc", fourth.token(), false, 0, 0, 0)).isZero();
    SharedAcme.Lock fifth = b.lock("shop.test-abc", false);
    assertThat(b.unlock("shop.test-abc", fifth.token(), true, 60_000, 21_600_000, 0)).isEqualTo(60_000);

    // a token that is not the holder's releases nothing
    redisCall("DEL", "keystone:acme:wait:shop.test-abc");
    SharedAcme.Lock held = a.lock("shop.test-abc", false);
    b.unlock("shop.test-abc", "not-the-token", false, 0, 0, 0);
    assertThat(b.lock("shop.test-abc", false).token()).isNull();
    assertThat(held.token()).isNotNull();
  }

  @Test
  void anInstanceThatStopsWhileOrderingFreesItsLock() throws Exception {
    RedisAcme stopping = new RedisAcme(new RedisStore(vertx, redis.url()), new AcmeTokens(), k -> { });
    assertThat(stopping.lock("shop.test-abc", false).token()).isNotNull();
    assertThat(b.lock("shop.test-abc", false).token()).isNull();
    stopping.close();
    assertThat(b.lock("shop.test-abc", false).token()).as("free at once, not after two minutes").isNotNull();
  }

  @Test
  void aStoreReplacedByAReloadLeavesTheNewOnePublishing() throws Exception {
    // a reload that changes state_store opens the new store, then closes the old (attack s19-acme F3)
    RedisAcme next = new RedisAcme(new RedisStore(vertx, redis.url()), tokensA, k -> { });
    try {
      a.close();
      tokensA.put("tok-after-reload", "tok-after-reload.thumb");
      Await.until("b still answers a's token", Duration.ofSeconds(10),
          () -> "tok-after-reload.thumb".equals(tokensB.answer("tok-after-reload")));
    } finally {
      next.close();
    }
  }

  @Test
  void theFirstAccountKeyOfferedIsTheClustersAndCertificatesAreKeptAndAnnounced() throws Exception {
    assertThat(a.accountKey("KEY-A")).isEqualTo("KEY-A");
    assertThat(b.accountKey("KEY-B")).isEqualTo("KEY-A");
    java.util.List<String> announced = announcedToB;
    assertThat(b.certificate("shop.test-abc")).isNull();
    a.putCertificate("shop.test-abc", "CHAIN+KEY", 60_000);
    assertThat(b.certificate("shop.test-abc")).isEqualTo("CHAIN+KEY");
    Await.until("b told", Duration.ofSeconds(10), () -> announced.equals(java.util.List.of("shop.test-abc")));
    assertThat(Long.parseLong(redisCall("PTTL", "keystone:acme:cert:shop.test-abc"))).as("kept for its life")
        .isBetween(50_000L, 60_000L);

    b.forgetCertificate("shop.test-abc", "ANOTHER");
    assertThat(a.certificate("shop.test-abc")).as("only the certificate revoked is forgotten").isEqualTo("CHAIN+KEY");
    b.forgetCertificate("shop.test-abc", "CHAIN+KEY");
    assertThat(a.certificate("shop.test-abc")).isNull();

    redisCall("HSET", "keystone:acme:cert:planted", "f", "v");
    assertThat(a.certificate("planted")).as("a value of another type is no certificate (not a store failure)").isNull();
  }

  @Test
  void anInstanceThatSubscribesLooksAtEveryCertificateKept() throws Exception {
    // attack s19-acme2 N1: an instance away when a replacement was announced kept serving the
    // revoked certificate; at its (re)subscription it now looks at what is kept
    a.putCertificate("shop.test-abc", "CHAIN+KEY", 60_000);
    java.util.List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (RedisAcme late = new RedisAcme(new RedisStore(vertx, redis.url()), new AcmeTokens(), seen::add)) {
      Await.until("told of the kept certificate", Duration.ofSeconds(10), () -> seen.equals(java.util.List.of("shop.test-abc")));
    }
  }

  @Test
  void challengeAnswersReachTheOtherInstancesUntilTakenAway() throws Exception {
    tokensA.put("tok-1", "tok-1.thumb");
    Await.until("b answers a's token", Duration.ofSeconds(10), () -> "tok-1.thumb".equals(tokensB.answer("tok-1")));
    var key = KeyPairGenerator.getInstance("EC").generateKeyPair(); // any key: the answer is carried, not checked
    java.security.cert.X509Certificate cert;
    java.nio.file.Files.createDirectories(dir.resolve("ca"));
    try (var in = java.nio.file.Files.newInputStream(TestCertificates.in(dir.resolve("ca")).issue("alpn", "alpn.test").cert())) {
      cert = (java.security.cert.X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
    tokensA.putAlpn("Alpn.Test", new AcmeTokens.AlpnAnswer(cert, key.getPrivate()));
    Await.until("b presents a's validation", Duration.ofSeconds(10), () -> tokensB.alpn("alpn.test") != null);
    assertThat(tokensB.alpn("alpn.test").certificate()).isEqualTo(cert);

    // an instance subscribing now reads the open answers back
    AcmeTokens tokensC = new AcmeTokens();
    try (RedisAcme c = new RedisAcme(new RedisStore(vertx, redis.url()), tokensC, k -> { })) {
      Await.until("c answers them", Duration.ofSeconds(10),
          () -> "tok-1.thumb".equals(tokensC.answer("tok-1")) && tokensC.alpn("alpn.test") != null);
      assertThat(tokensA.size()).as("a's own answers are not doubled by their echo").isEqualTo(1);

      tokensA.remove("tok-1");
      tokensA.removeAlpn("alpn.test");
      Await.until("taken away everywhere", Duration.ofSeconds(10), () -> tokensB.answer("tok-1") == null
          && tokensC.answer("tok-1") == null && tokensB.alpn("alpn.test") == null && tokensC.alpn("alpn.test") == null);
    }
    assertThat(redisCall("EXISTS", "keystone:acme:http01:tok-1")).isEqualTo("0");
  }

  String redisCall(String... args) throws Exception {
    var r = io.vertx.redis.client.Request.cmd(io.vertx.redis.client.Command.create(args[0]));
    for (int i = 1; i < args.length; i++) {
      r.arg(args[i]);
    }
    try (RedisStore s = new RedisStore(vertx, redis.url())) {
      var answer = s.send(r).toCompletionStage().toCompletableFuture().get();
      return answer == null ? null : answer.toString();
    }
  }
}
