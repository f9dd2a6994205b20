package dev.keystone.proxy;

import dev.keystone.script.ResponseEdits;
import io.vertx.core.Future;

import java.util.List;
import java.util.Map;

/**
 * A tenant script's {@code on_response}, embedded or in a remote engine, set by the
 * {@link ScriptInterceptor} when the script has one: the forwarding hands it the backend's
 * response head and applies the edits. A failure carries the script's message and whether a
 * limit was hit, for the tenant's on_script_error policy.
 */
interface ResponseHook {

  Future<ResponseEdits> run(String backend, int status, List<Map.Entry<String, String>> headers);

  /** Why a response hook failed. */
  final class Failure extends Exception {
    final boolean limit;

    Failure(String message, boolean limit) {
      super(message, null, false, false);
      this.limit = limit;
    }
  }
}
