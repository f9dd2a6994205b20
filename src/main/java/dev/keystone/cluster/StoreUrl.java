package dev.keystone.cluster;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code etcd://host:2379[,host:2379...]/prefix}: the etcd members to ask (in turn) and the key
 * prefix under which a cluster's config lives ({@code /prefix/config}), so that several clusters
 * can share one etcd. Plain HTTP to each member (its v3 JSON gateway).
 */
public record StoreUrl(List<String> endpoints, String prefix) {

  public static StoreUrl parse(String url) {
    if (url == null || !url.startsWith("etcd://")) {
      throw new IllegalArgumentException("a store such as etcd://127.0.0.1:2379/keystone, got '" + url + "'");
    }
    String rest = url.substring("etcd://".length());
    int slash = rest.indexOf('/');
    String hosts = slash < 0 ? rest : rest.substring(0, slash);
    String prefix = slash < 0 ? "/keystone" : rest.substring(slash).replaceAll("/+$", "");
    if (prefix.isEmpty() || !prefix.matches("(/[A-Za-z0-9._-]+)+") || prefix.matches(".*/\\.\\.?(/.*)?")) {
      throw new IllegalArgumentException("the prefix of " + url + ": /name[/name...] of letters, digits, '.', '_', '-'");
    }
    List<String> endpoints = new ArrayList<>();
    for (String h : hosts.split(",")) {
      if (!h.matches("[A-Za-z0-9.-]+:[0-9]{1,5}|\\[[0-9A-Fa-f:]+\\]:[0-9]{1,5}")) {
        throw new IllegalArgumentException("the members of " + url + ": host:port[,host:port...], got '" + h + "'");
      }
      endpoints.add("http://" + h);
    }
    return new StoreUrl(List.copyOf(endpoints), prefix);
  }

  /** The key that holds the config's YAML. */
  public String configKey() {
    return prefix + "/config";
  }

  /** The key an admin API reload writes: every instance watching it reloads the config it serves. */
  public String reloadKey() {
    return prefix + "/reload";
  }

  /** Where the cluster's instances register, each under a lease that ends when it stops being renewed. */
  public String instancesPrefix() {
    return prefix + "/instances/";
  }

  /** Where the cluster's API keys are: one key each, named by the API key's name (its SHA-256 inside, never the key). */
  public String keysPrefix() {
    return prefix + "/keys/";
  }

  /**
   * Whether {@code key} is one of this cluster's API keys: {@code PREFIX/keys/NAME} exactly, NAME
   * a key's name (no '/'). A key deeper down belongs to another cluster whose prefix starts with
   * this one's {@code keys} (attack s18-cluster F1: {@code /prod/keys/keys/k9} opened {@code /prod}).
   */
  public boolean isApiKey(String key) {
    return key.startsWith(keysPrefix()) && key.substring(keysPrefix().length()).matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  }

  /** Where the cluster's drains are: one key per drained backend, deleted when undrained. */
  public String drainsPrefix() {
    return prefix + "/drains/";
  }

  /**
   * The key of a drain of {@code backend} in {@code tenant} (null: in every tenant). Names are
   * URL-encoded, so that no name can stand for another's key.
   */
  public String drainKey(String tenant, String backend) {
    return drainsPrefix() + (tenant == null ? "all/" : "tenant/" + enc(tenant) + "/") + enc(backend);
  }

  /** The tenant (null: every tenant) and backend of a drain key, or null when {@code key} is not one. */
  public String[] drainOf(String key) {
    if (!key.startsWith(drainsPrefix())) {
      return null;
    }
    String[] parts = key.substring(drainsPrefix().length()).split("/", -1);
    try {
      if (parts.length == 2 && parts[0].equals("all") && !parts[1].isEmpty()) {
        return new String[] {null, dec(parts[1])};
      }
      if (parts.length == 3 && parts[0].equals("tenant") && !parts[1].isEmpty() && !parts[2].isEmpty()) {
        return new String[] {dec(parts[1]), dec(parts[2])};
      }
    } catch (IllegalArgumentException e) {
      return null; // a malformed escape: not a key this gateway wrote
    }
    return null;
  }

  private static String enc(String s) {
    return java.net.URLEncoder.encode(s, java.nio.charset.StandardCharsets.UTF_8);
  }

  private static String dec(String s) {
    return java.net.URLDecoder.decode(s, java.nio.charset.StandardCharsets.UTF_8);
  }

  /** Where every key of this cluster lives (config, reload, drains, instances): the watched prefix. */
  public String keys() {
    return prefix + "/";
  }

  /** The store as it is written: {@code etcd://host:port[,host:port]/prefix}. */
  @Override
  public String toString() {
    return "etcd://" + String.join(",", endpoints.stream().map(e -> e.substring("http://".length())).toList()) + prefix;
  }
}
