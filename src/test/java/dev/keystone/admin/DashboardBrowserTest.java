package dev.keystone.admin;

import dev.keystone.testing.Await;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import dev.keystone.testing.TrafficLoad;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import java.util.logging.Level;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dashboard in a real headless Chromium (Debian's chromium and chromedriver, which .ci/run
 * installs), against the real gateway. Also takes the screenshots in docs/ when
 * {@code keystone.screenshots.dir} points there (bin/dashboard-screenshots).
 */
class DashboardBrowserTest {

  private static final String CHROMIUM = "/usr/bin/chromium";
  private static final String CHROMEDRIVER = "/usr/bin/chromedriver";

  Vertx vertx;
  TestBackend blue;
  TestBackend green;
  TestBackend api;
  TestGateway gw;
  ChromeDriverService service;
  WebDriver browser;

  @BeforeEach
  void start() {
    assertThat(new File(CHROMIUM)).as("Debian's chromium package (installed by .ci/run)").exists();
    assertThat(new File(CHROMEDRIVER)).as("Debian's chromium-driver package (installed by .ci/run)").exists();
    vertx = Vertx.vertx();
    blue = new TestBackend(vertx, "blue");
    green = new TestBackend(vertx, "green");
    api = new TestBackend(vertx, "api-v1");
    gw = TestGateway.start(config(""));
    Await.until("healthy", () -> gw.gateway().snapshot().tenants().stream().allMatch(t -> t.pool().healthyCount() == t.pool().backends().size()));
    service = new ChromeDriverService.Builder().usingDriverExecutable(new File(CHROMEDRIVER)).usingAnyFreePort().build();
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM);
    options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--window-size=1280,1000", "--no-first-run", "--disable-extensions", "--disable-background-networking");
    LoggingPreferences logs = new LoggingPreferences();
    logs.enable(LogType.BROWSER, Level.ALL);
    options.setCapability("goog:loggingPrefs", logs);
    browser = new ChromeDriver(service, options);
  }

  @AfterEach
  void stop() {
    if (browser != null) {
      browser.quit();
    }
    if (service != null) {
      service.stop();
    }
    if (gw != null) {
      gw.close();
    }
    vertx.close();
  }

  private String config(String extra) {
    return """
        tenants:
          - name: shop
            domains: [shop.example.com]
            health_interval: 200ms
            services:
              - { name: blue, url: "%s", health: /health, labels: { color: blue } }
              - { name: green, url: "%s", health: /health, labels: { color: green } }
          - name: api
            path_prefix: /api/
            health_interval: 200ms
            services:
              - { name: v1, url: "%s", health: /health }
        """.formatted(blue.url(), green.url(), api.url()) + extra;
  }

  /** The number in a rate cell such as "198.8 req/s"; 0 while there is none yet ("…"). */
  private static double rate(String text) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("([0-9][0-9,]*(?:\\.[0-9]+)?)\\s*req/s").matcher(text);
    return m.find() ? Double.parseDouble(m.group(1).replace(",", "")) : 0;
  }

  /** A tenant the reload test adds. */
  private String docsTenant() {
    return """
          - name: docs
            path_prefix: /docs/
            services:
              - { name: site, url: "%s" }
        """.formatted(api.url());
  }

  private <T> T waitFor(String what, Function<WebDriver, T> condition) {
    return new WebDriverWait(browser, Duration.ofSeconds(10)).withMessage(what).until(condition);
  }

  private WebElement backendRow(String id) {
    return browser.findElement(By.cssSelector("[data-backend='" + id + "']"));
  }

  private boolean backendState(String id, String state) {
    List<WebElement> rows = browser.findElements(By.cssSelector("[data-backend='" + id + "']"));
    return !rows.isEmpty() && state.equals(rows.get(0).getDomAttribute("data-state"));
  }

  private void openWithToken() {
    browser.get(gw.adminBase() + "/dashboard/?interval=300");
    WebElement input = waitFor("the token form", d -> {
      WebElement e = d.findElement(By.id("token-input"));
      return e.isDisplayed() ? e : null;
    });
    input.sendKeys("not-the-token");
    browser.findElement(By.id("token-submit")).click();
    waitFor("the refusal", d -> d.findElement(By.id("token-message")).isDisplayed()
        && d.findElement(By.id("token-message")).getText().contains("refused"));
    WebElement again = browser.findElement(By.id("token-input"));
    again.clear();
    again.sendKeys(TestGateway.ADMIN_TOKEN);
    browser.findElement(By.id("token-submit")).click();
    waitFor("tenants shown", d -> !d.findElements(By.cssSelector("[data-tenant='shop']")).isEmpty());
  }

  private void screenshot(String name) throws Exception {
    Path dir = Path.of(System.getProperty("keystone.screenshots.dir", "target/screenshots"));
    Files.createDirectories(dir);
    byte[] png = ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES);
    Files.write(dir.resolve(name), png);
  }

  @Test
  void showsTenantsAndFollowsBackendHealth() throws Exception {
    openWithToken();
    assertThat(browser.findElement(By.id("connection")).getDomAttribute("data-state")).isEqualTo("ok");
    waitFor("backends healthy", d -> backendState("shop/blue", "healthy") && backendState("shop/green", "healthy")
        && backendState("api/v1", "healthy"));
    assertThat(backendRow("shop/blue").getText()).contains("blue").contains(blue.url());
    assertThat(browser.findElement(By.cssSelector("[data-tenant='shop']")).getText()).contains("shop.example.com");
    assertThat(browser.findElement(By.cssSelector("[data-tenant='api']")).getText()).contains("/api/");

    TrafficLoad load = TrafficLoad.start(2, Duration.ofMillis(5), (client, i) -> { // the browser needs CPU too
      if (i % 3 == 0) {
        gw.get("/api/v" + i);
      }
      return gw.get("/x" + i, "Host", "shop.example.com");
    });
    try {
      load.awaitMore("traffic", 300);
      waitFor("a request rate above zero", d -> rate(d.findElement(By.cssSelector("[data-tenant='shop'] .rate")).getText()) > 0);
      green.healthStatus(503);
      waitFor("green shown unhealthy within seconds", d -> backendState("shop/green", "unhealthy"));
      waitFor("the transition listed", d -> d.findElement(By.id("events")).getText().contains("green"));
      waitFor("ten samples on the chart", d -> {
        String path = d.findElement(By.cssSelector("[data-tenant='shop'] path.chart-rate")).getDomAttribute("d");
        return path != null && path.split(" L").length >= 10;
      });
      screenshot("dashboard.png");
      green.healthStatus(200);
      waitFor("green healthy again", d -> backendState("shop/green", "healthy"));
    } finally {
      load.stop();
    }
    assertThat(browser.findElement(By.cssSelector("[data-tenant='shop'] .chart")).isDisplayed()).isTrue();

    // Passive health: green's health endpoint says 200, its requests fail: ejected, and shown so.
    green.handler(req -> req.response().setStatusCode(503).end("busy"));
    for (int i = 0; i < 12; i++) {
      gw.get("/e" + i, "Host", "shop.example.com");
    }
    waitFor("green shown ejected", d -> backendState("shop/green", "ejected"));
    assertThat(backendRow("shop/green").getText()).contains("ejected after failed requests, until");

    // The filter asks the API for matching tenants only (q=): the list of a big config stays small.
    browser.findElement(By.id("tenant-filter")).sendKeys("/api/");
    waitFor("only the api tenant", d -> d.findElements(By.cssSelector("[data-tenant='shop']")).isEmpty()
        && !d.findElements(By.cssSelector("[data-tenant='api']")).isEmpty());
    assertThat(browser.findElement(By.id("tenant-count-note")).getText()).contains("1 of 2");
    assertThat(browser.getCurrentUrl()).contains("filter=");
    browser.findElement(By.id("tenant-filter")).clear();
    browser.findElement(By.id("tenant-filter")).sendKeys(org.openqa.selenium.Keys.ENTER);
    waitFor("both tenants again", d -> !d.findElements(By.cssSelector("[data-tenant='shop']")).isEmpty());
    assertNoScriptErrors();
  }

  @Test
  void drainAndReloadButtonsAct() throws Exception {
    openWithToken();
    waitFor("blue healthy", d -> backendState("shop/blue", "healthy"));
    backendRow("shop/blue").findElement(By.cssSelector("[data-action='drain']")).click();
    waitFor("blue drained", d -> backendState("shop/blue", "drained"));
    assertThat(gw.gateway().snapshot().tenants().get(0).pool().backends().get(0).health().drained()).isTrue();
    for (int i = 0; i < 4; i++) {
      assertThat(gw.get("/x", "Host", "shop.example.com").body()).startsWith("green ");
    }
    backendRow("shop/blue").findElement(By.cssSelector("[data-action='undrain']")).click();
    waitFor("blue back", d -> backendState("shop/blue", "healthy"));
    assertThat(gw.gateway().snapshot().tenants().get(0).pool().backends().get(0).health().drained()).isFalse();

    gw.rewrite(config(docsTenant()) + "    bogus: 1\n");
    browser.findElement(By.id("reload")).click();
    WebElement result = waitFor("a refused reload", d -> {
      WebElement r = d.findElement(By.id("reload-result"));
      return "false".equals(r.getDomAttribute("data-applied")) ? r : null;
    });
    assertThat(result.getText()).contains("bogus");
    assertThat(browser.findElements(By.cssSelector("[data-tenant='docs']"))).isEmpty();

    gw.rewrite(config(docsTenant()));
    browser.findElement(By.id("reload")).click();
    waitFor("an applied reload", d -> "true".equals(d.findElement(By.id("reload-result")).getDomAttribute("data-applied")));
    waitFor("the new tenant", d -> !d.findElements(By.cssSelector("[data-tenant='docs']")).isEmpty());
    assertThat(gw.get("/docs/x").statusCode()).isEqualTo(200);
    screenshot("dashboard-reload.png");
    assertNoScriptErrors();
  }

  /** No JavaScript error in the console (failed fetches of an unreachable gateway or a 401 are expected). */
  private void assertNoScriptErrors() {
    List<String> severe = browser.manage().logs().get(LogType.BROWSER).getAll().stream()
        .filter(e -> e.getLevel().intValue() >= Level.SEVERE.intValue())
        .map(LogEntry::getMessage)
        .filter(m -> !m.contains("Failed to load resource"))
        .toList();
    assertThat(severe).isEmpty();
  }

  @Test
  void showsARolloutOnItsTenantAndInTheEvents() throws Exception {
    openWithToken();
    waitFor("both healthy", d -> backendState("shop/blue", "healthy") && backendState("shop/green", "healthy"));
    java.net.http.HttpResponse<String> started = gw.send(java.net.http.HttpRequest.newBuilder(
            java.net.URI.create(gw.adminBase() + "/api/v1/rollouts/shop"))
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"canary\": \"green\", \"steps\": \"5,100\", \"interval\": \"1h\"}")),
        "Authorization", "Bearer " + TestGateway.ADMIN_TOKEN);
    assertThat(started.statusCode()).as(started.body()).isEqualTo(201);
    waitFor("the rollout on the card", d -> d.findElement(By.cssSelector("[data-tenant='shop'] .rollout")).getText()
        .equals("rollout green running at 5%"));
    waitFor("the start in the events", d -> d.findElement(By.id("events")).getText().contains("shop: canary green started (5%)"));
    assertThat(gw.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(gw.adminBase() + "/api/v1/rollouts/shop/abort"))
        .POST(java.net.http.HttpRequest.BodyPublishers.noBody()), "Authorization", "Bearer " + TestGateway.ADMIN_TOKEN)
        .statusCode()).isEqualTo(200);
    waitFor("aborted on the card", d -> d.findElement(By.cssSelector("[data-tenant='shop'] .rollout")).getText()
        .equals("rollout green aborted at 0%"));
    waitFor("the abort in the events", d -> d.findElement(By.id("events")).getText().contains("shop: canary green aborted (0%)"));
    assertNoScriptErrors();
  }

  @Test
  void saysClearlyWhenTheGatewayIsUnreachable() throws Exception {
    openWithToken();
    waitFor("connected", d -> "ok".equals(d.findElement(By.id("connection")).getDomAttribute("data-state")));
    gw.close();
    gw = null;
    waitFor("unreachable", d -> "unreachable".equals(d.findElement(By.id("connection")).getDomAttribute("data-state")));
    WebElement banner = browser.findElement(By.id("banner"));
    assertThat(banner.isDisplayed()).isTrue();
    assertThat(banner.getText()).containsIgnoringCase("unreachable");
    assertThat(browser.findElements(By.cssSelector("[data-tenant='shop']"))).as("the last data stays visible").isNotEmpty();
    screenshot("dashboard-unreachable.png");
    assertNoScriptErrors();
  }

  @Test
  void showsWhichCatalogEntryATenantRuns(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    gw.close();
    new dev.keystone.catalog.Installed(dir).install(new dev.keystone.catalog.Catalog(
        dev.keystone.catalog.CatalogSource.open("builtin"), null).fetch("rate-limit-header", "1.0.0"), "builtin", java.util.List.of("lua"), "");
    Path file = Files.writeString(dir.resolve("keystone.yaml"), TestGateway.withTestListeners(config("""
          - name: limited
            path_prefix: /limited/
            script: { catalog: rate-limit-header@1.0.0, params: { limit: 5, header: X-Secret-Param } }
            services:
              - { name: v1, url: "%s" }
        """.formatted(api.url()))));
    gw = TestGateway.startFile(file, java.util.Map.of(), new dev.keystone.gateway.GatewayOptions(2, "test", java.time.Clock.systemUTC()));
    openWithToken();
    WebElement script = waitFor("the limited tenant's card", d -> {
      List<WebElement> e = d.findElements(By.cssSelector("[data-tenant='limited'] .script"));
      return e.isEmpty() || e.get(0).getText().isEmpty() ? null : e.get(0);
    });
    assertThat(script.getText()).isEqualTo("catalog rate-limit-header@1.0.0 (embedded)");
    assertThat(script.getDomAttribute("data-catalog")).isEqualTo("rate-limit-header@1.0.0");
    String sha = new dev.keystone.catalog.Installed(dir).lock().scripts().get("rate-limit-header").sha256();
    assertThat(script.getDomAttribute("title")).contains("catalog entry rate-limit-header@1.0.0 sha256 " + sha.substring(0, 12));
    assertThat(browser.getPageSource()).doesNotContain("X-Secret-Param");
    assertThat(browser.findElement(By.cssSelector("[data-tenant='shop'] .script")).getText()).isEqualTo("no script");
  }

  @Test
  void saysWhenTheConfigStoreIsUnreachable(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    gw.close();
    try (dev.keystone.testing.TestEtcd etcd = new dev.keystone.testing.TestEtcd(dir)) {
      String store = "etcd://" + etcd.endpoint().substring("http://".length()) + "/dash";
      dev.keystone.cluster.EtcdClient client = new dev.keystone.cluster.EtcdClient(vertx, etcd.endpoints());
      long revision = Await.result(client.put("/dash/config", TestGateway.withTestListeners(config(""))));
      client.close();
      gw = TestGateway.startOnStore(store, dir.resolve("cache.json"));
      openWithToken();
      WebElement cluster = waitFor("the config store", d -> {
        WebElement e = d.findElement(By.id("cluster"));
        return e.isDisplayed() && !e.getText().isEmpty() ? e : null;
      });
      assertThat(cluster.getText()).isEqualTo("revision " + revision + ", connected");
      assertThat(cluster.getDomAttribute("class")).isNullOrEmpty();
      etcd.stop();
      // two failed probes (2 s apart, each up to 2 s), then the dashboard's poll: longer than waitFor's 10 s on a slow host
      new WebDriverWait(browser, Duration.ofSeconds(30)).withMessage("the store said unreachable").until(d -> d.findElement(By.id("cluster")).getText()
          .equals("revision " + revision + ", unreachable: serving the last config"));
      assertThat(browser.findElement(By.id("cluster")).getDomAttribute("class")).isEqualTo("warn");
      assertThat(browser.findElement(By.id("state-box")).isDisplayed()).isFalse();
      assertNoScriptErrors();
    }
  }
}
