package dev.keystone.script;

import org.luaj.vm2.Globals;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.Prototype;
import org.luaj.vm2.compiler.LuaC;

import java.io.IOException;
import java.io.StringReader;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A script compiled once, at config load: its name and the compiled chunk. Immutable and shared
 * by every event loop; each loop runs it in its own {@link ScriptState}.
 */
public final class LuaScript {

  /** A script that does not compile; the message names the file and line. */
  public static final class SyntaxError extends Exception {
    public SyntaxError(String message) {
      super(message, null, false, false);
    }
  }

  private static final Globals COMPILER = compiler();

  /**
   * The largest script file: compiled code takes several times its source in memory, and a
   * script is read whole (attack R5-T1: a 60 MB script ended in OutOfMemoryError).
   */
  public static final int MAX_SOURCE = 1024 * 1024;

  private final String name;
  private final String chunkName;
  private final Prototype chunk;
  private final long footprint;

  private LuaScript(String name, String chunkName, Prototype chunk) {
    this.name = name;
    this.chunkName = chunkName;
    this.chunk = chunk;
    this.footprint = CompiledSize.of(chunk);
  }

  /**
   * Reads a script file of at most {@link #MAX_SOURCE} bytes; a larger one is refused unread. Read
   * with a plain stream: NIO's reads keep a direct buffer of the file's size cached per thread.
   */
  public static String read(java.nio.file.Path file) throws IOException, SyntaxError {
    long size = java.nio.file.Files.size(file);
    if (size > MAX_SOURCE) {
      throw new SyntaxError(file + ": " + size + " bytes, above the limit of " + MAX_SOURCE + " (1 MiB) for a script");
    }
    try (java.io.InputStream in = new java.io.FileInputStream(file.toFile())) {
      byte[] bytes = in.readNBytes(MAX_SOURCE + 1);
      if (bytes.length > MAX_SOURCE) {
        throw new SyntaxError(file + ": above the limit of " + MAX_SOURCE + " bytes (1 MiB) for a script");
      }
      return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  /**
   * What the compiled scripts of one config (or one engine's scripts directory) may keep
   * together: a sixteenth of the heap (16 MiB of the shipped 256 MiB; thousands of typical
   * scripts). A reload holds the old scripts and the new ones for a while, so at most twice that.
   */
  public static final class Budget {
    private final long max = Runtime.getRuntime().maxMemory() / 16;
    private long used;

    /** Counts {@code script}; null when it fits, else why not. */
    public String add(LuaScript script) {
      // One script may keep at most a quarter of the bound: one tenant's big script is refused
      // by its own name, not the next tenant's ordinary one (attack R6-4).
      if (script.footprint > max / 4) {
        return "script " + script.name + " keeps about " + (script.footprint >> 10) + " KiB compiled, above the limit of "
            + (max / 4 >> 10) + " KiB for one script (a quarter of the bound for all scripts together, a sixteenth of the heap)";
      }
      if (script.footprint > max - used) {
        return "script " + script.name + " keeps about " + (script.footprint >> 10) + " KiB compiled, and the scripts before it "
            + (used >> 10) + " KiB: above the bound of " + (max >> 10) + " KiB for all scripts together (a sixteenth of the heap)";
      }
      used += script.footprint;
      return null;
    }
  }

  /** About how many bytes of heap the compiled code keeps (an upper estimate; see {@link CompiledSize}). */
  public long footprint() {
    return footprint;
  }

  private static Globals compiler() {
    Globals g = new Globals();
    LuaC.install(g);
    return g;
  }

  /**
   * Compiles {@code source}; {@code chunkName} (usually the file name) prefixes every error
   * message and line number the script produces.
   */
  public static LuaScript compile(String name, String chunkName, String source) throws SyntaxError {
    try {
      synchronized (COMPILER) {
        // '@' marks the chunk name as a file name: messages read "file.lua:3: ..."
        return new LuaScript(name, chunkName, COMPILER.compilePrototype(new StringReader(source), "@" + chunkName));
      }
    } catch (LuaError | IOException e) {
      throw new SyntaxError(readable(e.getMessage()));
    } catch (RuntimeException | StackOverflowError e) {
      // LuaJ's compiler fails with a bare exception on some limits it does not name (more than
      // 200 locals in one function: attack R5-T7); still a script that does not compile.
      throw new SyntaxError(chunkName + ": the compiler failed (" + e.getClass().getSimpleName()
          + "), e.g. on more than 200 local variables in one function or nesting too deep");
    }
  }

  /** LuaJ's lexer reports a reserved word by its token number ("unexpected symbol 262 (Ć)"). */
  static String readable(String message) {
    Matcher m = TOKEN.matcher(message);
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      int index = Integer.parseInt(m.group(1)) - 257;
      String token = index >= 0 && index < TOKENS.length ? TOKENS[index] : m.group(1);
      m.appendReplacement(sb, Matcher.quoteReplacement("symbol '" + token + "'"));
    }
    m.appendTail(sb);
    return sb.toString();
  }

  private static final Pattern TOKEN = Pattern.compile("symbol (\\d{3}) \\(.\\)");
  private static final String[] TOKENS = {
      "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
      "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while", "..", "...",
      "==", ">=", "<=", "~=", "::", "<eof>", "<number>", "<name>", "<string>"};

  public String name() {
    return name;
  }

  /** Where the script came from, as given to {@link #compile}: its file, or classpath:/resource. */
  public String chunkName() {
    return chunkName;
  }

  Prototype chunk() {
    return chunk;
  }
}
