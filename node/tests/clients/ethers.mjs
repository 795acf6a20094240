// Conformance checks: ethers v6 against a running zkr-node (or anvil with --target anvil).
//
//   node node/tests/clients/ethers.mjs http://127.0.0.1:8545 [--target zkr|anvil]
//
// Uses accounts 1 and 2 of the dev mnemonic. Prints one line per check and exits 0 only if none failed.
import {
  HDNodeWallet,
  JsonRpcProvider,
  Signature,
  Wallet,
  WebSocketProvider,
  ZeroHash,
  concat,
  encodeRlp,
  keccak256,
  parseEther,
  toBeArray,
  toBeHex,
} from "ethers";
import { MNEMONIC, assert, assertEq, expectError, harness, sleep, waitFor } from "./harness.mjs";

const CHAIN_ID = 42424n;

// The JSON-RPC error object ({code, message}) inside an ethers error, wherever ethers put it.
function rpcError(e) {
  for (const c of [e?.info?.error, e?.error, e?.info?.info?.error, e]) {
    if (c && typeof c.message === "string" && typeof c.code === "number") return c;
  }
  return null;
}

const h = harness("ethers", { rpcError });
const { HTTP_URL, WS_URL, ZKR, target, check, describe, assertNodeMessage } = h;
const randomAddress = () => Wallet.createRandom().address;

// ---------------------------------------------------------------------------------------------------------------
// Shared state

// The wallets send through `provider`: ethers' default polling (every 4 s), without its 250 ms cache of identical
// requests. With blocks faster than that cache (250 ms by default, 100 ms here) a transaction can be mined before
// `wait()` first looks, and the next send would then reuse the cached pending nonce ("nonce has already been used"):
// dapps on fast chains turn the cache off the same way (README). `fastProvider` keeps the default cache with 100 ms
// polling: the combination that used to hang `wait()` on an idle chain. Checks read through `reader` (no cache).
const provider = new JsonRpcProvider(HTTP_URL, undefined, { cacheTimeout: -1 });
const reader = new JsonRpcProvider(HTTP_URL, undefined, { cacheTimeout: -1 });
const fastProvider = new JsonRpcProvider(HTTP_URL, undefined, { pollingInterval: 100 });
const account = (i) => HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`);
const alice = account(1).connect(provider);
const bob = account(2).connect(provider);
const state = {}; // receipts and hashes later checks read

// Signs a transaction (EIP-1559 unless `fields` say otherwise) with every field given, for broadcastTransaction:
// no signer fills in or checks anything.
async function signRaw(wallet, fields) {
  const fee = await reader.getFeeData();
  return wallet.signTransaction({
    type: 2,
    chainId: CHAIN_ID,
    nonce: await reader.getTransactionCount(wallet.address, "pending"),
    to: randomAddress(),
    value: 1n,
    gasLimit: 21000n,
    maxFeePerGas: fee.maxFeePerGas,
    maxPriorityFeePerGas: fee.maxPriorityFeePerGas,
    ...fields,
  });
}

// Like signRaw, but encodes and signs the EIP-1559 transaction by hand, for fields ethers refuses to sign.
async function signRawUnchecked(wallet, { maxFeePerGas, maxPriorityFeePerGas }) {
  const nonce = await reader.getTransactionCount(wallet.address, "pending");
  const n = (v) => toBeArray(BigInt(v));
  const fields = [n(CHAIN_ID), n(nonce), n(maxPriorityFeePerGas), n(maxFeePerGas), n(21000), randomAddress(), n(1), "0x", []];
  const sig = Signature.from(wallet.signingKey.sign(keccak256(concat(["0x02", encodeRlp(fields)]))));
  return concat(["0x02", encodeRlp([...fields, n(sig.yParity), n(sig.r), n(sig.s)])]);
}

// ---------------------------------------------------------------------------------------------------------------
// Checks

async function connection() {
  await check("derive dev accounts from the mnemonic", async () => {
    const first = account(0);
    assertEq(first.address, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "account 0");
    assertEq(first.privateKey, "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80", "key 0");
  });
  const reachable = await check("chain id is 42424", async () => {
    const net = await reader.getNetwork();
    assertEq(net.chainId, CHAIN_ID, "getNetwork().chainId");
    assertEq(BigInt(await reader.send("eth_chainId", [])), CHAIN_ID, "eth_chainId");
  });
  await check("net_version is 42424", async () => {
    assertEq(await reader.send("net_version", []), "42424", "net_version");
  });
  await check("web3_clientVersion", async () => {
    const v = await reader.send("web3_clientVersion", []);
    assert(typeof v === "string" && v.length > 0, `empty client version ${v}`);
    if (ZKR) assert(v.startsWith("zkr-node/"), `client version ${v} does not start with zkr-node/`);
  });
  await check("block number advances on an idle chain", async () => {
    const first = await reader.getBlockNumber();
    await sleep(1000);
    await waitFor(async () => (await reader.getBlockNumber()) > first, 3000, `block number stayed ${first}`);
  });
  await check("dev accounts are funded", async () => {
    for (const w of [alice, bob]) {
      const bal = await reader.getBalance(w.address);
      assert(bal > parseEther("1"), `${w.address} holds only ${bal} wei`);
    }
  });
  return reachable;
}

// Sends `request` from `wallet` to a fresh address, waits with tx.wait(), checks receipt and balances.
async function transferAndVerify(wallet, request, wantType) {
  const to = randomAddress();
  const value = parseEther("0.01") + BigInt(Math.floor(Math.random() * 1e6));
  const before = await reader.getBalance(wallet.address);
  const tx = await wallet.sendTransaction({ to, value, ...request });
  assertEq(tx.type, wantType, "transaction type");
  const receipt = await tx.wait();
  assert(receipt, "tx.wait() returned null");
  assertEq(receipt.status, 1, "receipt status");
  assertEq(receipt.gasUsed, 21000n, "gasUsed");
  assertEq(receipt.hash, tx.hash, "receipt hash");
  assertEq(receipt.type, wantType, "receipt type");
  assertEq(receipt.logs.length, 0, "receipt logs");
  const after = await reader.getBalance(wallet.address);
  assertEq(before - after, value + receipt.gasUsed * receipt.gasPrice, "sender balance decrease");
  assertEq(await reader.getBalance(to), value, "recipient balance");
  const fetched = await reader.getTransaction(tx.hash);
  assertEq(fetched.blockNumber, receipt.blockNumber, "getTransaction blockNumber");
  assertEq(fetched.from, wallet.address, "getTransaction from");
  return receipt;
}

async function transfers() {
  await check("legacy transfer (type 0), tx.wait() default polling", async () => {
    state.legacy = await transferAndVerify(alice, { type: 0 }, 0);
  }, { timeoutMs: 25_000 });
  await check("EIP-2930 transfer (type 1, empty access list), tx.wait() default polling", async () => {
    state.eip2930 = await transferAndVerify(alice, { type: 1, accessList: [] }, 1);
  }, { timeoutMs: 25_000 });
  await check("EIP-1559 transfer (type 2), tx.wait() default polling", async () => {
    state.eip1559 = await transferAndVerify(alice, {}, 2);
  }, { timeoutMs: 25_000 });
  await check("EIP-1559 transfer, tx.wait() with pollingInterval 100", async () => {
    state.fast = await transferAndVerify(alice.connect(fastProvider), {}, 2);
  });
  await check("tx.wait() with pollingInterval 100 returns on an already mined tx", async () => {
    // Waiting again on a tx mined earlier must not wait for a further block forever.
    assert(state.fast, "no receipt from the previous check");
    const tx = await fastProvider.getTransaction(state.fast.hash);
    const receipt = await tx.wait();
    assertEq(receipt.hash, state.fast.hash, "receipt hash");
  });
  await check("transfer to self", async () => {
    const before = await reader.getBalance(bob.address);
    const tx = await bob.connect(fastProvider).sendTransaction({ to: bob.address, value: 12345n });
    const receipt = await tx.wait();
    assertEq(receipt.status, 1, "status");
    const after = await reader.getBalance(bob.address);
    assertEq(before - after, receipt.gasUsed * receipt.gasPrice, "balance decrease");
  });
}

async function estimates() {
  await check("estimateGas of a transfer is 21000", async () => {
    assertEq(await reader.estimateGas({ from: alice.address, to: randomAddress(), value: 1n }), 21000n, "estimate");
    assertEq(await reader.estimateGas({ to: randomAddress() }), 21000n, "estimate without from");
  });
  await check("estimateGas with value above balance -> INSUFFICIENT_FUNDS", async () => {
    const bal = await reader.getBalance(alice.address);
    const e = await expectError(
      () => reader.estimateGas({ from: alice.address, to: randomAddress(), value: bal + parseEther("1") }),
      "estimateGas",
    );
    assertEq(e.code, "INSUFFICIENT_FUNDS", `ethers error code (${describe(e)})`);
    if (ZKR) assertNodeMessage(e, "insufficient funds for gas * price + value");
  }, { zkrOnly: "anvil estimates a transfer without checking the balance" });
  await check("eth_call of a transfer returns 0x", async () => {
    assertEq(await reader.call({ from: alice.address, to: randomAddress(), value: 1n }), "0x", "call result");
  });
  await check("eth_call with value above balance is refused", async () => {
    const bal = await reader.getBalance(alice.address);
    const e = await expectError(
      () => reader.call({ from: alice.address, to: randomAddress(), value: bal + parseEther("1") }),
      "call",
    );
    assertNodeMessage(e, ZKR ? "insufficient funds for gas * price + value" : /insufficient funds/i);
  });
  const zkRefusals = [
    ["estimateGas with calldata", "estimateGas", { to: randomAddress(), data: "0x12345678" }, "contract calls are not supported in zk mode"],
    ["estimateGas of contract creation", "estimateGas", { data: "0x6000600055" }, "contract creation is not supported in zk mode"],
    ["estimateGas with an access list", "estimateGas", { to: randomAddress(), type: 1, accessList: [{ address: randomAddress(), storageKeys: [] }] }, "access lists are not supported in zk mode"],
    ["estimateGas to precompile 0x11", "estimateGas", { to: toBeHex(0x11, 20), value: 1n }, "contract calls are not supported in zk mode"],
  ];
  for (const [name, method, req, msg] of zkRefusals) {
    await check(`${name} refused (zk mode)`, async () => {
      const e = await expectError(() => reader[method]({ from: alice.address, ...req }), method);
      assertEq(e.code, "CALL_EXCEPTION", `ethers error code (${describe(e)})`);
      assertNodeMessage(e, msg);
    }, { zkrOnly: true });
  }
  // eth_call is a read, answered as geth answers it: no account holds code in zk mode, so calldata returns nothing.
  await check("eth_call with calldata returns 0x (no code on L2)", async () => {
    assertEq(await reader.call({ from: alice.address, to: randomAddress(), data: "0x12345678" }), "0x", "eth_call result");
  }, { zkrOnly: true });
}

async function fees() {
  await check("fee data: gas price, priority fee, base fee", async () => {
    const fee = await reader.getFeeData();
    const block = await reader.getBlock("latest");
    assert(block.baseFeePerGas > 0n, `base fee ${block.baseFeePerGas}`);
    assert(fee.gasPrice >= block.baseFeePerGas / 2n, `gas price ${fee.gasPrice} vs base fee ${block.baseFeePerGas}`);
    if (ZKR) assertEq(fee.maxPriorityFeePerGas, 1_000_000n, "maxPriorityFeePerGas (0.001 gwei)");
    assert(fee.maxFeePerGas >= block.baseFeePerGas + fee.maxPriorityFeePerGas, `maxFeePerGas ${fee.maxFeePerGas}`);
  });
  await check("eth_feeHistory", async () => {
    const h = await reader.send("eth_feeHistory", ["0x4", "latest", [25, 75]]);
    assertEq(h.baseFeePerGas.length, 5, "baseFeePerGas length");
    assertEq(h.gasUsedRatio.length, 4, "gasUsedRatio length");
    assertEq(h.reward.length, 4, "reward length");
    assertEq(h.reward[0].length, 2, "reward percentiles");
    assert(BigInt(h.oldestBlock) > 0n, `oldestBlock ${h.oldestBlock}`);
  });
}

async function sendRefusals() {
  await check("send with value above balance -> INSUFFICIENT_FUNDS", async () => {
    const bal = await reader.getBalance(alice.address);
    const e = await expectError(
      () => alice.sendTransaction({ to: randomAddress(), value: bal + 1n, gasLimit: 21000n }),
      "sendTransaction",
    );
    assertEq(e.code, "INSUFFICIENT_FUNDS", `ethers error code (${describe(e)})`);
    if (ZKR) assertNodeMessage(e, "insufficient funds for gas * price + value: balance ");
  });
  await check("send from an empty account -> INSUFFICIENT_FUNDS", async () => {
    const empty = Wallet.createRandom().connect(provider);
    const e = await expectError(
      () => empty.sendTransaction({ to: randomAddress(), value: 0n, gasLimit: 21000n }),
      "sendTransaction",
    );
    assertEq(e.code, "INSUFFICIENT_FUNDS", `ethers error code (${describe(e)})`);
  });
  await check("send with a used nonce -> NONCE_EXPIRED", async () => {
    const e = await expectError(
      () => alice.sendTransaction({ to: randomAddress(), value: 1n, gasLimit: 21000n, nonce: 0 }),
      "sendTransaction",
    );
    assertEq(e.code, "NONCE_EXPIRED", `ethers error code (${describe(e)})`);
    if (ZKR) assertNodeMessage(e, /^nonce too low: next nonce \d+, tx nonce 0$/);
  });
  await check("send with a nonce gap refused (nonce too high)", async () => {
    // Gaps up to 64 wait in the pool for their predecessors; beyond that the node refuses.
    const nonce = (await reader.getTransactionCount(alice.address, "pending")) + 65;
    const raw = await signRaw(alice, { nonce });
    const e = await expectError(() => reader.broadcastTransaction(raw), "broadcastTransaction");
    assertNodeMessage(e, "nonce too high");
  }, { zkrOnly: true });
  await check("send with gas limit 20000 refused (intrinsic gas too low)", async () => {
    const e = await expectError(
      () => alice.sendTransaction({ to: randomAddress(), value: 1n, gasLimit: 20000n }),
      "sendTransaction",
    );
    assertNodeMessage(e, ZKR ? "intrinsic gas too low: gas 20000, minimum needed 21000" : /intrinsic gas too low/);
  });
  await check("send with fee cap below base fee refused", async () => {
    const block = await reader.getBlock("latest");
    assert(block.baseFeePerGas >= 2n, `base fee ${block.baseFeePerGas} too low to undercut`);
    const e = await expectError(
      () =>
        alice.sendTransaction({
          to: randomAddress(),
          value: 1n,
          gasLimit: 21000n,
          maxFeePerGas: block.baseFeePerGas / 2n,
          maxPriorityFeePerGas: 0n,
        }),
      "sendTransaction",
    );
    assertNodeMessage(e, "max fee per gas less than block base fee");
  });
  await check("tip above fee cap refused (raw signed, ethers refuses locally)", async () => {
    const local = await expectError(
      () => alice.sendTransaction({ to: randomAddress(), value: 1n, gasLimit: 21000n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 3_000_000_000n }),
      "sendTransaction",
    );
    assert(!rpcError(local), `expected a local refusal, got ${describe(local)}`);
    const raw = await signRawUnchecked(alice, { maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 3_000_000_000n });
    const e = await expectError(() => reader.broadcastTransaction(raw), "broadcastTransaction");
    assertNodeMessage(e, "max priority fee per gas higher than max fee per gas");
  });
  await check("same nonce, same fee -> REPLACEMENT_UNDERPRICED; same bytes -> already known", async () => {
    // Both answers need the first tx still pending: sign both in advance and send them back to back.
    // If a block lands in between (the second is then "nonce too low"), try again with the next nonce.
    for (let attempt = 1; ; attempt++) {
      const first = await signRaw(bob, { value: 1n });
      const nonce = await reader.getTransactionCount(bob.address, "pending");
      const second = await signRaw(bob, { value: 2n, nonce });
      await reader.broadcastTransaction(first);
      const dup = await reader.send("eth_sendRawTransaction", [first]).then(
        () => null,
        (e) => e,
      );
      const repl = await reader.broadcastTransaction(second).then(
        () => null,
        (e) => e,
      );
      if ((dup && /nonce too low/i.test(describe(dup))) || (repl && repl.code === "NONCE_EXPIRED")) {
        if (attempt < 4) continue;
      }
      assert(dup, "resending the same bytes succeeded");
      assertNodeMessage(dup, ZKR ? "already known" : /already known|already imported/i);
      assert(repl, "replacement with the same fee succeeded");
      assertEq(repl.code, "REPLACEMENT_UNDERPRICED", `ethers error code (${describe(repl)})`);
      if (ZKR) assertNodeMessage(repl, "replacement transaction underpriced");
      return;
    }
  });
  await check("wrong chain id refused (invalid sender)", async () => {
    const raw = await signRaw(alice, { chainId: 1n });
    const e = await expectError(() => reader.broadcastTransaction(raw), "broadcastTransaction");
    assertNodeMessage(e, ZKR ? "invalid sender: invalid chain id for signer: have 1 want 42424" : /chain ?id/i);
  });
  await check("blob transaction (type 3) refused", async () => {
    const raw = await signRaw(alice, {
      type: 3,
      maxFeePerBlobGas: 1_000_000_000n,
      blobVersionedHashes: ["0x01" + "11".repeat(31)],
    });
    const e = await expectError(() => reader.broadcastTransaction(raw), "broadcastTransaction");
    assertNodeMessage(e, "transaction type not supported: type 3");
  }, { zkrOnly: true });
  const zkSends = [
    ["contract creation", { to: null, data: "0x6000600055", gasLimit: 100_000n, value: 0n }, "contract creation is not supported in zk mode"],
    ["calldata", { data: "0x12345678", gasLimit: 50_000n }, "contract calls are not supported in zk mode"],
    ["non-empty access list", { accessList: [{ address: randomAddress(), storageKeys: [ZeroHash] }], gasLimit: 50_000n }, "access lists are not supported in zk mode"],
    ["transfer to precompile 0x02", { to: toBeHex(2, 20), gasLimit: 50_000n }, "contract calls are not supported in zk mode"],
  ];
  for (const [name, fields, msg] of zkSends) {
    await check(`send with ${name} refused (zk mode)`, async () => {
      const raw = await signRaw(alice, fields);
      const e = await expectError(() => reader.broadcastTransaction(raw), "broadcastTransaction");
      assertNodeMessage(e, msg);
    }, { zkrOnly: true });
  }
  await check("signer-level send with calldata refused (zk mode)", async () => {
    const e = await expectError(() => alice.sendTransaction({ to: randomAddress(), data: "0x1234" }), "sendTransaction");
    assertNodeMessage(e, "contract calls are not supported in zk mode");
  }, { zkrOnly: true });
}

async function blocksAndReceipts() {
  const receipt = () => {
    assert(state.eip1559, "no receipt from the transfer checks");
    return state.eip1559;
  };
  await check("getBlock by number and by hash hold the tx", async () => {
    const r = receipt();
    const byNumber = await reader.getBlock(r.blockNumber);
    const byHash = await reader.getBlock(r.blockHash);
    assertEq(byNumber.hash, r.blockHash, "block hash");
    assertEq(byHash.number, r.blockNumber, "block number");
    assert(byNumber.transactions.includes(r.hash), "tx missing from block by number");
    assert(byHash.transactions.includes(r.hash), "tx missing from block by hash");
    const full = await reader.getBlock(r.blockNumber, true);
    assert(full.prefetchedTransactions.some((t) => t.hash === r.hash), "tx missing from full block");
  });
  await check("eth_getBlockReceipts holds the tx receipt", async () => {
    const r = receipt();
    for (const tag of [toBeHex(r.blockNumber), r.blockHash]) {
      const receipts = await reader.send("eth_getBlockReceipts", [tag]);
      const mine = receipts.find((x) => x.transactionHash === r.hash);
      assert(mine, `receipt missing from eth_getBlockReceipts(${tag})`);
      assertEq(BigInt(mine.gasUsed), 21000n, "gasUsed");
      assertEq(mine.status, "0x1", "status");
    }
  });
  await check("eth_getTransactionByBlock{Number,Hash}AndIndex", async () => {
    const r = receipt();
    const idx = toBeHex(r.index);
    const a = await reader.send("eth_getTransactionByBlockNumberAndIndex", [toBeHex(r.blockNumber), idx]);
    const b = await reader.send("eth_getTransactionByBlockHashAndIndex", [r.blockHash, idx]);
    assertEq(a?.hash, r.hash, "by number and index");
    assertEq(b?.hash, r.hash, "by hash and index");
    const none = await reader.send("eth_getTransactionByBlockNumberAndIndex", [toBeHex(r.blockNumber), "0xffff"]);
    assertEq(none, null, "out-of-range index");
  });
  await check("eth_getBlockTransactionCountBy{Number,Hash}", async () => {
    const r = receipt();
    const block = await reader.getBlock(r.blockHash);
    const n = BigInt(await reader.send("eth_getBlockTransactionCountByNumber", [toBeHex(r.blockNumber)]));
    const h = BigInt(await reader.send("eth_getBlockTransactionCountByHash", [r.blockHash]));
    assertEq(n, BigInt(block.transactions.length), "count by number");
    assertEq(h, BigInt(block.transactions.length), "count by hash");
  });
  await check("getTransactionReceipt and getTransaction", async () => {
    const r = receipt();
    const again = await reader.getTransactionReceipt(r.hash);
    assertEq(again.blockHash, r.blockHash, "receipt block hash");
    const tx = await reader.getTransaction(r.hash);
    assertEq(tx.type, 2, "type");
    assertEq(tx.chainId, CHAIN_ID, "chainId");
    assertEq(await reader.getTransactionReceipt(ZeroHash), null, "unknown receipt");
    assertEq(await reader.getTransaction(ZeroHash), null, "unknown tx");
  });
  await check("eth_getLogs returns no logs for transfers", async () => {
    const r = receipt();
    const logs = await reader.getLogs({ fromBlock: r.blockNumber, toBlock: r.blockNumber });
    assert(Array.isArray(logs), "not an array");
    assertEq(logs.length, 0, "logs");
  });
}

async function accountState() {
  await check("getTransactionCount latest and pending", async () => {
    const latest = await reader.getTransactionCount(alice.address, "latest");
    const pending = await reader.getTransactionCount(alice.address, "pending");
    assert(latest >= 4, `alice nonce ${latest} after 4 transfers`);
    assert(pending >= latest, `pending ${pending} < latest ${latest}`);
    assertEq(await reader.getTransactionCount(randomAddress()), 0, "fresh address nonce");
  });
  await check("getCode is 0x", async () => {
    assertEq(await reader.getCode(alice.address), "0x", "code of alice");
    assertEq(await reader.getCode(randomAddress()), "0x", "code of a fresh address");
  });
  await check("getStorage is a zero word", async () => {
    assertEq(await reader.getStorage(randomAddress(), 0n), ZeroHash, "slot 0");
    assertEq(await reader.getStorage(alice.address, 7n), ZeroHash, "slot 7");
  });
  await check("eth_accounts", async () => {
    const accounts = await reader.send("eth_accounts", []);
    assert(Array.isArray(accounts), "not an array");
    if (ZKR) assertEq(accounts.length, 0, "eth_accounts length");
  });
  await check("eth_sendTransaction refused (unknown account)", async () => {
    const e = await expectError(
      () => reader.send("eth_sendTransaction", [{ from: randomAddress(), to: randomAddress(), value: "0x1" }]),
      "eth_sendTransaction",
    );
    if (ZKR) assertNodeMessage(e, "unknown account");
    else assert(rpcError(e), `no JSON-RPC error: ${describe(e)}`);
  });
  await check("historical balance refused", async () => {
    const n = await reader.getBlockNumber();
    const e = await expectError(() => reader.getBalance(alice.address, n - 5), "getBalance at an old block");
    assertNodeMessage(e, "historical state not available");
  }, { zkrOnly: true });
}

async function filters() {
  await check("eth_newBlockFilter + eth_getFilterChanges", async () => {
    const id = await reader.send("eth_newBlockFilter", []);
    const hashes = await waitFor(async () => {
      const c = await reader.send("eth_getFilterChanges", [id]);
      return c.length > 0 ? c : null;
    }, 5000, "no new block hash");
    assert(/^0x[0-9a-f]{64}$/.test(hashes[0]), `not a block hash: ${hashes[0]}`);
    const block = await reader.getBlock(hashes[0]);
    assert(block, `unknown block hash ${hashes[0]}`);
    assertEq(await reader.send("eth_uninstallFilter", [id]), true, "uninstall");
  });
  await check("eth_newPendingTransactionFilter sees a sent tx", async () => {
    const id = await reader.send("eth_newPendingTransactionFilter", []);
    const tx = await bob.sendTransaction({ to: randomAddress(), value: 1n });
    const seen = [];
    await waitFor(async () => {
      seen.push(...(await reader.send("eth_getFilterChanges", [id])));
      return seen.includes(tx.hash);
    }, 5000, `tx ${tx.hash} not reported`);
    assertEq(await reader.send("eth_uninstallFilter", [id]), true, "uninstall");
    await tx.wait();
  });
  await check("eth_newFilter, eth_getFilterLogs, eth_getFilterChanges, eth_uninstallFilter", async () => {
    const id = await reader.send("eth_newFilter", [{ fromBlock: "latest", address: randomAddress() }]);
    const logs = await reader.send("eth_getFilterLogs", [id]);
    assert(Array.isArray(logs), "getFilterLogs: not an array");
    await sleep(300);
    const changes = await reader.send("eth_getFilterChanges", [id]);
    assert(Array.isArray(changes), "getFilterChanges: not an array");
    assertEq(await reader.send("eth_uninstallFilter", [id]), true, "first uninstall");
    assertEq(await reader.send("eth_uninstallFilter", [id]), false, "second uninstall");
    const e = await expectError(() => reader.send("eth_getFilterChanges", [id]), "getFilterChanges after uninstall");
    assertNodeMessage(e, ZKR ? "filter not found" : /filter not found/i);
  });
  await check("ethers event listener for logs (filter polling)", async () => {
    const p = new JsonRpcProvider(HTTP_URL, undefined, { pollingInterval: 100 });
    const filter = { address: randomAddress() };
    await p.on(filter, () => {});
    await sleep(600);
    await p.off(filter);
    await sleep(500); // let the eth_uninstallFilter that off() sends complete
    p.destroy();
  });
}

async function websocket() {
  const ws = new WebSocketProvider(WS_URL);
  try {
    const connected = await check("websocket: connect, chain id", async () => {
      assertEq((await ws.getNetwork()).chainId, CHAIN_ID, "chainId");
      assert((await ws.getBlockNumber()) > 0, "block number");
    });
    if (!connected) return; // the other websocket checks would only time out
    await check("websocket: newHeads subscription gives >= 2 heads", async () => {
      const heads = new Set();
      const listener = (n) => heads.add(n);
      await ws.on("block", listener);
      try {
        await waitFor(() => heads.size >= 2, 8000, `only ${heads.size} heads`);
      } finally {
        await ws.off("block", listener);
      }
    });
    await check("websocket: newPendingTransactions sees a sent tx", async () => {
      const seen = new Set();
      const listener = (h) => seen.add(h);
      await ws.on("pending", listener);
      try {
        await sleep(500); // let eth_subscribe complete
        const tx = await bob.sendTransaction({ to: randomAddress(), value: 1n });
        await waitFor(() => seen.has(tx.hash), 8000, `tx ${tx.hash} not reported`);
        await tx.wait();
      } finally {
        await ws.off("pending", listener);
      }
    }, { timeoutMs: 20_000 });
    await check("websocket: logs subscription (ethers listener)", async () => {
      const filter = { address: randomAddress(), topics: [] };
      await ws.on(filter, () => {});
      await sleep(500);
      await ws.off(filter);
    });
    await check("websocket: raw eth_subscribe logs/newHeads + eth_unsubscribe", async () => {
      for (const params of [["logs", { address: randomAddress() }], ["logs", {}], ["newHeads"], ["newPendingTransactions"]]) {
        const id = await ws.send("eth_subscribe", params);
        assert(typeof id === "string" && id.startsWith("0x"), `subscription id ${id} for ${params[0]}`);
        assertEq(await ws.send("eth_unsubscribe", [id]), true, `eth_unsubscribe ${params[0]}`);
      }
    });
  } finally {
    await Promise.race([ws.destroy(), sleep(2000)]).catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------------------------

console.log(`ethers ${(await import("ethers")).version} against ${HTTP_URL} (target ${target})`);
if (!(await connection())) {
  console.log(`ethers: FAIL, the node at ${HTTP_URL} did not answer eth_chainId with 42424; stopping`);
  process.exit(1);
}
await transfers();
await estimates();
await fees();
await sendRefusals();
await blocksAndReceipts();
await accountState();
await filters();
await websocket();
provider.destroy();
reader.destroy();
fastProvider.destroy();
h.finish();
