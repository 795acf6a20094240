// Conformance checks: viem against a running zkr-node (or anvil with --target anvil).
//
//   node node/tests/clients/viem.mjs http://127.0.0.1:8545 [--target zkr|anvil]
//
// Uses accounts 3 and 4 of the dev mnemonic. Prints one line per check and exits 0 only if none failed.
import {
  BaseError,
  FeeCapTooLowError,
  InsufficientFundsError,
  IntrinsicGasTooLowError,
  NonceTooHighError,
  NonceTooLowError,
  RpcRequestError,
  TipAboveFeeCapError,
  concatHex,
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  keccak256,
  numberToHex,
  parseEther,
  parseSignature,
  toRlp,
  webSocket,
  zeroHash,
} from "viem";
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { getTransactionError } from "viem/utils";
import { createRequire } from "node:module";
import { MNEMONIC, assert, assertEq, expectError, harness, sleep, waitFor } from "./harness.mjs";

const CHAIN_ID = 42424;

// The node's JSON-RPC error ({code, message}) inside a viem error chain.
function rpcError(e) {
  if (e instanceof BaseError) {
    const req = e.walk((x) => x instanceof RpcRequestError);
    if (req) return { code: req.code, message: req.details };
  }
  if (e && typeof e.code === "number" && typeof e.message === "string") return e;
  return null;
}

const h = harness("viem", { rpcError });
const { HTTP_URL, WS_URL, ZKR, target, check, describe, assertNodeMessage } = h;
const randomAddress = () => privateKeyToAccount(generatePrivateKey()).address;

// Asserts the error chain holds an instance of cls (viem's classification of the node's answer).
function assertClass(e, cls) {
  assert(e instanceof BaseError && e.walk((x) => x instanceof cls), `no ${cls.name} in the error chain: ${e?.name}: ${describe(e)}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Clients and shared state

const chain = defineChain({
  id: CHAIN_ID,
  name: "zkr dev",
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [HTTP_URL], webSocket: [WS_URL] } },
});
const account = (i) => mnemonicToAccount(MNEMONIC, { addressIndex: i });
const carol = account(3);
const dave = account(4);
const client = createPublicClient({ chain, transport: http(HTTP_URL) }); // default polling (4 s)
const fastClient = createPublicClient({ chain, transport: http(HTTP_URL), pollingInterval: 100, cacheTime: 0 });
const wallet = (acct) => createWalletClient({ account: acct, chain, transport: http(HTTP_URL) });
const carolWallet = wallet(carol);
const daveWallet = wallet(dave);
const state = {};

// Signs a fully specified EIP-1559 (or other typed) transaction with viem's serializer.
async function signRaw(acct, fields) {
  const fees = await client.estimateFeesPerGas();
  return acct.signTransaction({
    type: "eip1559",
    chainId: CHAIN_ID,
    nonce: await fastClient.getTransactionCount({ address: acct.address, blockTag: "pending" }),
    to: randomAddress(),
    value: 1n,
    gas: 21000n,
    maxFeePerGas: fees.maxFeePerGas,
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    ...fields,
  });
}

// Encodes and signs an EIP-1559 transaction by hand, for fields viem's serializer refuses.
async function signRawUnchecked(acct, { maxFeePerGas, maxPriorityFeePerGas }) {
  const nonce = await fastClient.getTransactionCount({ address: acct.address, blockTag: "pending" });
  const n = (v) => (BigInt(v) === 0n ? "0x" : numberToHex(v));
  const fields = [n(CHAIN_ID), n(nonce), n(maxPriorityFeePerGas), n(maxFeePerGas), n(21000), randomAddress(), n(1), "0x", []];
  const sig = parseSignature(await acct.sign({ hash: keccak256(concatHex(["0x02", toRlp(fields)])) }));
  return concatHex(["0x02", toRlp([...fields, n(sig.yParity), n(sig.r), n(sig.s)])]);
}

// Sends raw bytes; on refusal returns the error as viem's sendTransaction would classify it.
async function sendRaw(serializedTransaction) {
  try {
    return await client.sendRawTransaction({ serializedTransaction });
  } catch (e) {
    throw getTransactionError(e, {});
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Checks

async function connection() {
  await check("derive dev accounts from the mnemonic", async () => {
    const first = account(0);
    assertEq(first.address, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "account 0");
    const key = first.getHdKey().privateKey;
    assertEq(Buffer.from(key).toString("hex"), "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80", "key 0");
  });
  const reachable = await check("chain id is 42424", async () => {
    assertEq(await client.getChainId(), CHAIN_ID, "getChainId");
  });
  await check("net_version is 42424", async () => {
    assertEq(await client.request({ method: "net_version" }), "42424", "net_version");
  });
  await check("web3_clientVersion", async () => {
    const v = await client.request({ method: "web3_clientVersion" });
    assert(typeof v === "string" && v.length > 0, `empty client version ${v}`);
    if (ZKR) assert(v.startsWith("zkr-node/"), `client version ${v} does not start with zkr-node/`);
  });
  await check("block number advances on an idle chain", async () => {
    const first = await client.getBlockNumber({ cacheTime: 0 });
    await sleep(1000);
    await waitFor(async () => (await client.getBlockNumber({ cacheTime: 0 })) > first, 3000, `block number stayed ${first}`);
  });
  await check("dev accounts are funded", async () => {
    for (const a of [carol, dave]) {
      const bal = await client.getBalance({ address: a.address });
      assert(bal > parseEther("1"), `${a.address} holds only ${bal} wei`);
    }
  });
  return reachable;
}

// Sends `request` from the wallet to a fresh address, waits with waitForTransactionReceipt, checks balances.
async function transferAndVerify(walletClient, request, wantType, waitClient = client) {
  const from = walletClient.account.address;
  const to = randomAddress();
  const value = parseEther("0.01") + BigInt(Math.floor(Math.random() * 1e6));
  const before = await fastClient.getBalance({ address: from });
  const hash = await walletClient.sendTransaction({ to, value, ...request });
  const receipt = await waitClient.waitForTransactionReceipt({ hash });
  assertEq(receipt.status, "success", "receipt status");
  assertEq(receipt.gasUsed, 21000n, "gasUsed");
  assertEq(receipt.type, wantType, "receipt type");
  assertEq(receipt.logs.length, 0, "receipt logs");
  const after = await fastClient.getBalance({ address: from });
  assertEq(before - after, value + receipt.gasUsed * receipt.effectiveGasPrice, "sender balance decrease");
  assertEq(await fastClient.getBalance({ address: to }), value, "recipient balance");
  const tx = await client.getTransaction({ hash });
  assertEq(tx.type, wantType, "transaction type");
  assertEq(tx.from.toLowerCase(), from.toLowerCase(), "transaction from");
  assertEq(tx.blockNumber, receipt.blockNumber, "transaction block number");
  return receipt;
}

async function transfers() {
  await check("legacy transfer, waitForTransactionReceipt", async () => {
    state.legacy = await transferAndVerify(carolWallet, { type: "legacy" }, "legacy");
  }, { timeoutMs: 25_000 });
  await check("EIP-2930 transfer (empty access list), waitForTransactionReceipt", async () => {
    state.eip2930 = await transferAndVerify(carolWallet, { type: "eip2930", accessList: [] }, "eip2930");
  }, { timeoutMs: 25_000 });
  await check("EIP-1559 transfer, waitForTransactionReceipt", async () => {
    state.eip1559 = await transferAndVerify(carolWallet, {}, "eip1559");
  }, { timeoutMs: 25_000 });
  await check("EIP-1559 transfer, waitForTransactionReceipt with pollingInterval 100", async () => {
    state.fast = await transferAndVerify(carolWallet, { type: "eip1559" }, "eip1559", fastClient);
  });
  await check("waitForTransactionReceipt on an already mined tx returns", async () => {
    assert(state.fast, "no receipt from the previous check");
    const r = await fastClient.waitForTransactionReceipt({ hash: state.fast.transactionHash });
    assertEq(r.blockHash, state.fast.blockHash, "block hash");
  });
}

async function estimates() {
  await check("estimateGas of a transfer is 21000", async () => {
    assertEq(await client.estimateGas({ account: carol.address, to: randomAddress(), value: 1n }), 21000n, "estimate");
    assertEq(await client.estimateGas({ to: randomAddress() }), 21000n, "estimate without account");
  });
  await check("estimateGas with value above balance -> InsufficientFundsError", async () => {
    const bal = await client.getBalance({ address: carol.address });
    const e = await expectError(
      () => client.estimateGas({ account: carol.address, to: randomAddress(), value: bal + parseEther("1") }),
      "estimateGas",
    );
    assertClass(e, InsufficientFundsError);
    assertNodeMessage(e, "insufficient funds for gas * price + value");
  }, { zkrOnly: "anvil estimates a transfer without checking the balance" });
  await check("call of a transfer returns no data", async () => {
    const r = await client.call({ account: carol.address, to: randomAddress(), value: 1n });
    assertEq(r.data, undefined, "call data");
  });
  await check("call with value above balance -> InsufficientFundsError", async () => {
    const bal = await client.getBalance({ address: carol.address });
    const e = await expectError(
      () => client.call({ account: carol.address, to: randomAddress(), value: bal + parseEther("1") }),
      "call",
    );
    assertClass(e, InsufficientFundsError);
    if (ZKR) assertNodeMessage(e, "insufficient funds for gas * price + value");
  });
  const zkRefusals = [
    ["estimateGas with calldata", "estimateGas", { to: randomAddress(), data: "0x12345678" }, "contract calls are not supported in zk mode"],
    ["estimateGas of contract creation", "estimateGas", { data: "0x6000600055" }, "contract creation is not supported in zk mode"],
    ["estimateGas with an access list", "estimateGas", { to: randomAddress(), accessList: [{ address: randomAddress(), storageKeys: [] }] }, "access lists are not supported in zk mode"],
    ["estimateGas to precompile 0x11", "estimateGas", { to: numberToHex(0x11, { size: 20 }), value: 1n }, "contract calls are not supported in zk mode"],
  ];
  for (const [name, method, req, msg] of zkRefusals) {
    await check(`${name} refused (zk mode)`, async () => {
      const e = await expectError(() => client[method]({ account: carol.address, ...req }), method);
      assertNodeMessage(e, msg);
    }, { zkrOnly: true });
  }
  // eth_call is a read, answered as geth answers it: no account holds code in zk mode, so calldata returns nothing.
  await check("call with calldata returns no data (no code on L2)", async () => {
    const result = await client.call({ account: carol.address, to: randomAddress(), data: "0x12345678" });
    assertEq(result.data, undefined, "call result");
  }, { zkrOnly: true });
}

async function fees() {
  await check("gas price, priority fee, base fee", async () => {
    const block = await client.getBlock();
    assert(block.baseFeePerGas > 0n, `base fee ${block.baseFeePerGas}`);
    const gasPrice = await client.getGasPrice();
    assert(gasPrice >= block.baseFeePerGas / 2n, `gas price ${gasPrice} vs base fee ${block.baseFeePerGas}`);
    const tip = await client.estimateMaxPriorityFeePerGas();
    if (ZKR) assertEq(tip, 1_000_000n, "eth_maxPriorityFeePerGas (0.001 gwei)");
    const fees = await client.estimateFeesPerGas();
    assert(fees.maxFeePerGas >= block.baseFeePerGas + fees.maxPriorityFeePerGas, `maxFeePerGas ${fees.maxFeePerGas}`);
  });
  await check("getFeeHistory", async () => {
    const h = await client.getFeeHistory({ blockCount: 4, rewardPercentiles: [25, 75] });
    assertEq(h.baseFeePerGas.length, 5, "baseFeePerGas length");
    assertEq(h.gasUsedRatio.length, 4, "gasUsedRatio length");
    assertEq(h.reward.length, 4, "reward length");
    assertEq(h.reward[0].length, 2, "reward percentiles");
  });
}

async function sendRefusals() {
  await check("send with value above balance -> InsufficientFundsError", async () => {
    const bal = await client.getBalance({ address: carol.address });
    const e = await expectError(
      () => carolWallet.sendTransaction({ to: randomAddress(), value: bal + 1n, gas: 21000n }),
      "sendTransaction",
    );
    assertClass(e, InsufficientFundsError);
    if (ZKR) assertNodeMessage(e, "insufficient funds for gas * price + value: balance ");
  });
  await check("send with a used nonce -> NonceTooLowError", async () => {
    const e = await expectError(
      () => carolWallet.sendTransaction({ to: randomAddress(), value: 1n, gas: 21000n, nonce: 0 }),
      "sendTransaction",
    );
    assertClass(e, NonceTooLowError);
    if (ZKR) assertNodeMessage(e, /^nonce too low: next nonce \d+, tx nonce 0$/);
  });
  await check("send with a nonce gap -> NonceTooHighError", async () => {
    // Gaps up to 64 wait in the pool for their predecessors; beyond that the node refuses.
    const nonce = (await fastClient.getTransactionCount({ address: carol.address, blockTag: "pending" })) + 65;
    const e = await expectError(
      () => carolWallet.sendTransaction({ to: randomAddress(), value: 1n, gas: 21000n, nonce }),
      "sendTransaction",
    );
    assertClass(e, NonceTooHighError);
    assertNodeMessage(e, "nonce too high");
  }, { zkrOnly: "anvil queues transactions with a nonce gap" });
  await check("send with gas 20000 -> IntrinsicGasTooLowError", async () => {
    const e = await expectError(
      () => carolWallet.sendTransaction({ to: randomAddress(), value: 1n, gas: 20000n }),
      "sendTransaction",
    );
    assertClass(e, IntrinsicGasTooLowError);
    if (ZKR) assertNodeMessage(e, "intrinsic gas too low: gas 20000, minimum needed 21000");
  });
  await check("send with fee cap below base fee -> FeeCapTooLowError", async () => {
    const block = await fastClient.getBlock();
    assert(block.baseFeePerGas >= 2n, `base fee ${block.baseFeePerGas} too low to undercut`);
    const e = await expectError(
      () =>
        carolWallet.sendTransaction({
          to: randomAddress(),
          value: 1n,
          gas: 21000n,
          maxFeePerGas: block.baseFeePerGas / 2n,
          maxPriorityFeePerGas: 0n,
        }),
      "sendTransaction",
    );
    assertClass(e, FeeCapTooLowError);
    assertNodeMessage(e, "max fee per gas less than block base fee");
  });
  await check("tip above fee cap -> TipAboveFeeCapError (raw signed, viem refuses locally)", async () => {
    const local = await expectError(
      () => carolWallet.sendTransaction({ to: randomAddress(), value: 1n, gas: 21000n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 3_000_000_000n }),
      "sendTransaction",
    );
    assert(!rpcError(local), `expected a local refusal, got ${describe(local)}`);
    const raw = await signRawUnchecked(carol, { maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 3_000_000_000n });
    const e = await expectError(() => sendRaw(raw), "sendRawTransaction");
    assertClass(e, TipAboveFeeCapError);
    assertNodeMessage(e, "max priority fee per gas higher than max fee per gas");
  });
  await check("same nonce, same fee -> replacement underpriced; same bytes -> already known", async () => {
    // Both answers need the first tx still pending: sign both in advance and send them back to back.
    // If a block lands in between (an answer is then "nonce too low"), try again with the next nonce.
    for (let attempt = 1; ; attempt++) {
      const first = await signRaw(dave, { value: 1n });
      const nonce = await fastClient.getTransactionCount({ address: dave.address, blockTag: "pending" });
      const second = await signRaw(dave, { value: 2n, nonce });
      await sendRaw(first);
      const dup = await sendRaw(first).then(() => null, (e) => e);
      const repl = await sendRaw(second).then(() => null, (e) => e);
      const raced = [dup, repl].some((e) => e && /nonce too low/i.test(rpcError(e)?.message ?? ""));
      if (raced && attempt < 4) continue;
      assert(dup, "resending the same bytes succeeded");
      assertNodeMessage(dup, ZKR ? "already known" : /already known|already imported/i);
      assertClass(dup, NonceTooLowError); // viem files "already known" under NonceTooLowError
      assert(repl, "replacement with the same fee succeeded");
      assertNodeMessage(repl, "replacement transaction underpriced");
      return;
    }
  });
  await check("wrong chain id refused (invalid sender)", async () => {
    const raw = await signRaw(carol, { chainId: 1 });
    const e = await expectError(() => sendRaw(raw), "sendRawTransaction");
    assertNodeMessage(e, ZKR ? "invalid sender: invalid chain id for signer: have 1 want 42424" : /chain ?id/i);
  });
  await check("blob transaction (type 3) refused", async () => {
    const raw = await signRaw(carol, {
      type: "eip4844",
      maxFeePerBlobGas: 1_000_000_000n,
      blobVersionedHashes: ["0x01" + "11".repeat(31)],
    });
    const e = await expectError(() => sendRaw(raw), "sendRawTransaction");
    assertNodeMessage(e, "transaction type not supported: type 3");
  }, { zkrOnly: true });
  const zkSends = [
    ["contract creation", { to: null, data: "0x6000600055", gas: 100_000n, value: 0n }, "contract creation is not supported in zk mode"],
    ["calldata", { data: "0x12345678", gas: 50_000n }, "contract calls are not supported in zk mode"],
    ["non-empty access list", { accessList: [{ address: randomAddress(), storageKeys: [zeroHash] }], gas: 50_000n }, "access lists are not supported in zk mode"],
    ["transfer to precompile 0x02", { to: numberToHex(2, { size: 20 }), gas: 50_000n }, "contract calls are not supported in zk mode"],
  ];
  for (const [name, fields, msg] of zkSends) {
    await check(`send with ${name} refused (zk mode)`, async () => {
      const e = await expectError(async () => sendRaw(await signRaw(carol, fields)), "sendRawTransaction");
      assertNodeMessage(e, msg);
    }, { zkrOnly: true });
  }
  await check("wallet sendTransaction with calldata refused (zk mode)", async () => {
    const e = await expectError(() => carolWallet.sendTransaction({ to: randomAddress(), data: "0x1234" }), "sendTransaction");
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
    const byNumber = await client.getBlock({ blockNumber: r.blockNumber });
    const byHash = await client.getBlock({ blockHash: r.blockHash, includeTransactions: true });
    assertEq(byNumber.hash, r.blockHash, "block hash");
    assertEq(byHash.number, r.blockNumber, "block number");
    assert(byNumber.transactions.includes(r.transactionHash), "tx missing from block by number");
    assert(byHash.transactions.some((t) => t.hash === r.transactionHash), "tx missing from full block by hash");
  });
  await check("getBlockReceipts holds the tx receipt", async () => {
    const r = receipt();
    for (const where of [{ blockNumber: r.blockNumber }, { blockHash: r.blockHash }]) {
      const receipts = await client.getBlockReceipts(where);
      const mine = receipts.find((x) => x.transactionHash === r.transactionHash);
      assert(mine, `receipt missing from getBlockReceipts(${JSON.stringify(where, (_, v) => (typeof v === "bigint" ? `${v}` : v))})`);
      assertEq(mine.gasUsed, 21000n, "gasUsed");
      assertEq(mine.status, "success", "status");
    }
  });
  await check("getTransaction by block number/hash and index", async () => {
    const r = receipt();
    const a = await client.getTransaction({ blockNumber: r.blockNumber, index: r.transactionIndex });
    const b = await client.getTransaction({ blockHash: r.blockHash, index: r.transactionIndex });
    assertEq(a.hash, r.transactionHash, "by number and index");
    assertEq(b.hash, r.transactionHash, "by hash and index");
  });
  await check("getBlockTransactionCount by number and hash", async () => {
    const r = receipt();
    const block = await client.getBlock({ blockHash: r.blockHash });
    assertEq(await client.getBlockTransactionCount({ blockNumber: r.blockNumber }), block.transactions.length, "by number");
    assertEq(await client.getBlockTransactionCount({ blockHash: r.blockHash }), block.transactions.length, "by hash");
  });
  await check("getTransactionReceipt, unknown hash -> TransactionReceiptNotFoundError", async () => {
    const r = receipt();
    const again = await client.getTransactionReceipt({ hash: r.transactionHash });
    assertEq(again.blockHash, r.blockHash, "block hash");
    const e = await expectError(() => client.getTransactionReceipt({ hash: zeroHash }), "getTransactionReceipt");
    assertEq(e.name, "TransactionReceiptNotFoundError", "error name");
  });
  await check("getLogs returns no logs for transfers", async () => {
    const r = receipt();
    const logs = await client.getLogs({ fromBlock: r.blockNumber, toBlock: r.blockNumber });
    assert(Array.isArray(logs), "not an array");
    assertEq(logs.length, 0, "logs");
  });
}

async function accountState() {
  await check("getTransactionCount latest and pending", async () => {
    const latest = await client.getTransactionCount({ address: carol.address });
    const pending = await client.getTransactionCount({ address: carol.address, blockTag: "pending" });
    assert(latest >= 4, `carol nonce ${latest} after 4 transfers`);
    assert(pending >= latest, `pending ${pending} < latest ${latest}`);
    assertEq(await client.getTransactionCount({ address: randomAddress() }), 0, "fresh address nonce");
  });
  await check("getCode is empty", async () => {
    assertEq(await client.getCode({ address: carol.address }), undefined, "code of carol");
    assertEq(await client.getCode({ address: randomAddress() }), undefined, "code of a fresh address");
  });
  await check("getStorageAt is a zero word", async () => {
    assertEq(await client.getStorageAt({ address: randomAddress(), slot: "0x0" }), zeroHash, "slot 0");
    assertEq(await client.getStorageAt({ address: carol.address, slot: numberToHex(7) }), zeroHash, "slot 7");
  });
  await check("eth_accounts", async () => {
    const accounts = await client.request({ method: "eth_accounts" });
    assert(Array.isArray(accounts), "not an array");
    if (ZKR) assertEq(accounts.length, 0, "eth_accounts length");
  });
  await check("eth_sendTransaction (JSON-RPC account) refused", async () => {
    const raw = await expectError(
      () => client.request({ method: "eth_sendTransaction", params: [{ from: randomAddress(), to: randomAddress(), value: "0x1" }] }),
      "eth_sendTransaction",
    );
    if (ZKR) assertNodeMessage(raw, "unknown account");
    // A wallet client with a JSON-RPC account tries wallet_sendTransaction after this refusal and, when the node
    // lacks that method (-32601), throws the eth_sendTransaction error.
    const remote = createWalletClient({ account: randomAddress(), chain, transport: http(HTTP_URL) });
    const e = await expectError(() => remote.sendTransaction({ to: randomAddress(), value: 1n, gas: 21000n }), "sendTransaction");
    if (ZKR) assertNodeMessage(e, "unknown account");
    else assert(rpcError(e), `no JSON-RPC error: ${describe(e)}`);
  });
  await check("historical balance refused", async () => {
    const n = await client.getBlockNumber({ cacheTime: 0 });
    const e = await expectError(() => client.getBalance({ address: carol.address, blockNumber: n - 5n }), "getBalance at an old block");
    assertNodeMessage(e, "historical state not available");
  }, { zkrOnly: true });
}

async function filters() {
  await check("createBlockFilter + getFilterChanges", async () => {
    const filter = await client.createBlockFilter();
    const hashes = await waitFor(async () => {
      const c = await client.getFilterChanges({ filter });
      return c.length > 0 ? c : null;
    }, 5000, "no new block hash");
    assert(await client.getBlock({ blockHash: hashes[0] }), `unknown block hash ${hashes[0]}`);
    assertEq(await client.uninstallFilter({ filter }), true, "uninstall");
  });
  await check("createPendingTransactionFilter sees a sent tx", async () => {
    const filter = await client.createPendingTransactionFilter();
    const hash = await daveWallet.sendTransaction({ to: randomAddress(), value: 1n });
    const seen = [];
    await waitFor(async () => {
      seen.push(...(await client.getFilterChanges({ filter })));
      return seen.includes(hash);
    }, 5000, `tx ${hash} not reported`);
    assertEq(await client.uninstallFilter({ filter }), true, "uninstall");
    await fastClient.waitForTransactionReceipt({ hash });
  });
  await check("createEventFilter, getFilterLogs, getFilterChanges, uninstallFilter", async () => {
    const filter = await client.createEventFilter({ address: randomAddress() });
    assert(Array.isArray(await client.getFilterLogs({ filter })), "getFilterLogs: not an array");
    await sleep(300);
    assert(Array.isArray(await client.getFilterChanges({ filter })), "getFilterChanges: not an array");
    assertEq(await client.uninstallFilter({ filter }), true, "first uninstall");
    assertEq(await client.uninstallFilter({ filter }), false, "second uninstall");
    const e = await expectError(() => client.getFilterChanges({ filter }), "getFilterChanges after uninstall");
    assertNodeMessage(e, ZKR ? "filter not found" : /filter not found/i);
  });
}

async function websocket() {
  const ws = createPublicClient({ chain, transport: webSocket(WS_URL) });
  try {
    const connected = await check("websocket: connect, chain id", async () => {
      assertEq(await ws.getChainId(), CHAIN_ID, "chain id");
    });
    if (!connected) return; // the other websocket checks would only time out
    await check("websocket: watchBlocks (newHeads) gives >= 2 heads", async () => {
      const heads = new Set();
      let error;
      const unwatch = ws.watchBlocks({ poll: false, onBlock: (b) => heads.add(b.hash), onError: (e) => (error = e) });
      try {
        await waitFor(() => error || heads.size >= 2, 8000, `only ${heads.size} heads`);
        if (error) throw error;
      } finally {
        unwatch();
      }
    });
    await check("websocket: watchPendingTransactions sees a sent tx", async () => {
      const seen = new Set();
      let error;
      const unwatch = ws.watchPendingTransactions({
        poll: false,
        onTransactions: (hashes) => hashes.forEach((h) => seen.add(h)),
        onError: (e) => (error = e),
      });
      try {
        await sleep(500); // let eth_subscribe complete
        const hash = await daveWallet.sendTransaction({ to: randomAddress(), value: 1n });
        await waitFor(() => error || seen.has(hash), 8000, `tx ${hash} not reported`);
        if (error) throw error;
        await fastClient.waitForTransactionReceipt({ hash });
      } finally {
        unwatch();
      }
    }, { timeoutMs: 20_000 });
    await check("websocket: watchEvent (logs subscription)", async () => {
      let error;
      const unwatch = ws.watchEvent({ address: randomAddress(), poll: false, onLogs: () => {}, onError: (e) => (error = e) });
      await sleep(500);
      unwatch();
      if (error) throw error;
    });
    await check("websocket: transport subscribe logs/newHeads/newPendingTransactions + eth_unsubscribe", async () => {
      for (const params of [["logs", { address: randomAddress() }], ["logs", {}], ["newHeads"], ["newPendingTransactions"]]) {
        const sub = await ws.transport.subscribe({ params, onData: () => {}, onError: () => {} });
        assert(typeof sub.subscriptionId === "string" && sub.subscriptionId.startsWith("0x"), `subscription id ${sub.subscriptionId} for ${params[0]}`);
        const res = await sub.unsubscribe();
        assertEq(res.result, true, `eth_unsubscribe ${params[0]}`);
      }
    });
  } finally {
    const close = ws.transport.getRpcClient().then((socket) => socket.close());
    await Promise.race([close, sleep(2000)]).catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------------------------

const { version } = createRequire(import.meta.url)("viem/package.json");
console.log(`viem ${version} against ${HTTP_URL} (target ${target})`);
if (!(await connection())) {
  console.log(`viem: FAIL, the node at ${HTTP_URL} did not answer eth_chainId with 42424; stopping`);
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
h.finish();
