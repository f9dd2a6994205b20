package dev.keystone.script;


import java.util.List;
import java.util.Map;

/**
 * What a routing script is told about a request. Built by the gateway for each scripted request.
 *
 * @param path      the path as forwarded (after prefix stripping)
 * @param rawPath   the path as the client sent it
 * @param query     the raw query string, or null
 * @param headers   every request header, in order, with repeats
 * @param backends  the tenant's backends, with their current health
 * @param kv        the tenant's key/value store
 * @param body      the request body, only for tenants that opt in ({@code script_body}); else null
 */
public record ScriptRequest(String method, String path, String rawPath, String query, String host, String clientIp,
                            String tenant, String requestId, List<Map.Entry<String, String>> headers,
                            List<? extends BackendView> backends, KeyValueStore kv, byte[] body) {

  /** A request whose body the script does not see. */
  public ScriptRequest(String method, String path, String rawPath, String query, String host, String clientIp,
                       String tenant, String requestId, List<Map.Entry<String, String>> headers,
                       List<? extends BackendView> backends, KeyValueStore kv) {
    this(method, path, rawPath, query, host, clientIp, tenant, requestId, headers, backends, kv, null);
  }
}
