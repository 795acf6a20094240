// What the JavaScript client checks share: arguments, the check() runner with its counters and timeouts, assertions,
// and the summary. Each script passes how to find the node's JSON-RPC error inside its library's errors.
//
//   const h = harness("ethers", { rpcError });
//   await h.check("name", async () => { ... }, { zkrOnly: true });
//   h.finish();

export const MNEMONIC = "test test test test test test test test test test test junk";
const SCRIPT_TIMEOUT_MS = 120_000;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

export function assertEq(actual, expected, what) {
  if (actual !== expected) throw new Error(`${what}: got ${actual}, want ${expected}`);
}

// Runs fn, which must throw; returns the error.
export async function expectError(fn, what) {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  throw new Error(`${what}: expected an error, got success`);
}

// Polls cond() until it returns truthy or ms elapse.
export async function waitFor(cond, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what} within ${ms} ms`);
    await sleep(100);
  }
}

// Parses `<http-url> [--target zkr|anvil]`, installs the whole-script timeout and the handlers that turn stray
// errors into failures, and returns the check runner. `rpcError(e)` finds the node's {code, message} in an error.
export function harness(library, { rpcError }) {
  const args = process.argv.slice(2);
  let target = "zkr";
  const positional = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--target") target = args[++i];
    else if (args[i].startsWith("--target=")) target = args[i].slice("--target=".length);
    else positional.push(args[i]);
  }
  if (positional.length !== 1 || !["zkr", "anvil"].includes(target)) {
    console.error(`usage: node ${library}.mjs <http-url> [--target zkr|anvil]`);
    process.exit(2);
  }
  const HTTP_URL = positional[0];
  const ZKR = target === "zkr";
  const counts = { passed: 0, failed: 0, skipped: 0 };
  const started = Date.now();

  // One line: what went wrong, with the node's JSON-RPC error where there is one.
  const describe = (e) => {
    if (e == null) return String(e);
    const rpc = rpcError(e);
    const base = e.shortMessage ?? e.message ?? String(e);
    const text = rpc && rpc.message !== base ? `${base} [node: ${rpc.code} ${rpc.message}]` : base;
    return text.replace(/\s*\n\s*/g, " | ");
  };

  setTimeout(() => {
    console.log(`FAIL script: did not finish within ${SCRIPT_TIMEOUT_MS / 1000} s`);
    process.exit(1);
  }, SCRIPT_TIMEOUT_MS).unref();
  // An error nobody awaited (e.g. from a subscription set up in the background) fails the run instead of crashing it.
  process.on("unhandledRejection", (e) => {
    counts.failed++;
    console.log(`FAIL unhandled rejection: ${describe(e)}`);
  });
  // E.g. a websocket that cannot connect: its "error" event has no listener inside the library.
  process.on("uncaughtException", (e) => {
    counts.failed++;
    console.log(`FAIL uncaught exception: ${describe(e)}`);
  });

  return {
    HTTP_URL,
    WS_URL: HTTP_URL.replace(/^http/, "ws"),
    ZKR,
    target,
    describe,

    // zkrOnly: the check tests zkr-node behaviour other nodes do not share; skipped (with the reason) elsewhere.
    async check(name, fn, { timeoutMs = 15_000, zkrOnly = false } = {}) {
      if (zkrOnly && !ZKR) {
        counts.skipped++;
        console.log(`skip ${name}: ${typeof zkrOnly === "string" ? zkrOnly : "zkr-node specific"}`);
        return true;
      }
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([fn(), timeout]);
        counts.passed++;
        console.log(`ok   ${name}`);
        return true;
      } catch (e) {
        counts.failed++;
        console.log(`FAIL ${name}: ${describe(e)}`);
        return false;
      } finally {
        clearTimeout(timer);
      }
    },

    // Asserts the node's answer (-32000 on zkr-node), its message starting with (or, for a RegExp, matching) want.
    assertNodeMessage(e, want) {
      const rpc = rpcError(e);
      assert(rpc, `no JSON-RPC error in: ${describe(e)}`);
      const ok = want instanceof RegExp ? want.test(rpc.message) : rpc.message.startsWith(want);
      assert(
        ok,
        `node answered ${rpc.code} "${rpc.message}", want message ${want instanceof RegExp ? "matching" : "starting with"} "${want}"`,
      );
      if (ZKR) assertEq(rpc.code, -32000, "JSON-RPC error code");
    },

    // Prints the summary and exits: 0 only when no check failed.
    finish() {
      const { passed, failed, skipped } = counts;
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`${library}: ${passed} passed, ${failed} failed, ${skipped} skipped in ${seconds} s`);
      process.exit(failed === 0 ? 0 : 1);
    },
  };
}
