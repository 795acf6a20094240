"""Conformance checks: web3.py + eth-account against a running zkr-node (or anvil with --target anvil).

    .tools/clients-venv/bin/python node/tests/clients/web3_check.py http://127.0.0.1:8545 [--target zkr|anvil]

Uses accounts 5 and 6 of the dev mnemonic. Prints one line per check and exits 0 only if none failed.
"""

import argparse
import asyncio
import os
import random
import re
import signal
import sys
import threading
import time
from importlib.metadata import version

from eth_account import Account
from hexbytes import HexBytes
from web3 import AsyncWeb3, Web3, WebSocketProvider
from web3.exceptions import TransactionNotFound, Web3RPCError
from web3.gas_strategies.rpc import rpc_gas_price_strategy
from web3.middleware import SignAndSendRawMiddlewareBuilder

MNEMONIC = "test test test test test test test test test test test junk"
CHAIN_ID = 42424
SCRIPT_TIMEOUT_S = 120
ZERO_WORD = HexBytes(b"\x00" * 32)
ETHER = 10**18

# --------------------------------------------------------------------------------------------------------------
# Arguments, check() helpers and small utilities

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("url", help="the node's HTTP JSON-RPC URL; websocket is the same host:port over ws://")
parser.add_argument("--target", choices=["zkr", "anvil"], default="zkr")
opts = parser.parse_args()
HTTP_URL = opts.url
WS_URL = re.sub(r"^http", "ws", HTTP_URL)
ZKR = opts.target == "zkr"

counts = {"passed": 0, "failed": 0, "skipped": 0}
state = {}


def whole_script_timeout():
    print(f"FAIL script: did not finish within {SCRIPT_TIMEOUT_S} s", flush=True)
    os._exit(1)


watchdog = threading.Timer(SCRIPT_TIMEOUT_S, whole_script_timeout)
watchdog.daemon = True
watchdog.start()


class CheckTimeout(BaseException):
    """Raised by SIGALRM inside a check; a BaseException so that no library's `except Exception` swallows it."""


def _on_alarm(_signum, _frame):
    raise CheckTimeout("timed out")


signal.signal(signal.SIGALRM, _on_alarm)


def _skip(name, zkr_only):
    if zkr_only and not ZKR:
        counts["skipped"] += 1
        reason = zkr_only if isinstance(zkr_only, str) else "zkr-node specific"
        print(f"skip {name}: {reason}", flush=True)
        return True
    return False


def _report(name, error):
    if error is None:
        counts["passed"] += 1
        print(f"ok   {name}", flush=True)
    else:
        counts["failed"] += 1
        print(f"FAIL {name}: {describe(error)}", flush=True)


def check(name, fn, timeout=15, zkr_only=False):
    """Runs fn() with a timeout. zkr_only: zkr-node behaviour other nodes lack; skipped (with reason) for them."""
    if _skip(name, zkr_only):
        return True
    signal.setitimer(signal.ITIMER_REAL, timeout)
    error = None
    try:
        fn()
    except CheckTimeout:
        error = CheckTimeout(f"timed out after {timeout} s")
    except Exception as e:  # noqa: BLE001 - every failure is reported
        error = e
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    _report(name, error)
    return error is None


async def acheck(name, fn, timeout=15, zkr_only=False):
    """check() for coroutine functions."""
    if _skip(name, zkr_only):
        return
    error = None
    try:
        await asyncio.wait_for(fn(), timeout)
    except asyncio.TimeoutError:
        error = CheckTimeout(f"timed out after {timeout} s")
    except Exception as e:  # noqa: BLE001
        error = e
    _report(name, error)


def rpc_error(e):
    """The node's JSON-RPC error dict ({code, message}) carried by a web3.py exception, or None."""
    response = getattr(e, "rpc_response", None)
    if isinstance(response, dict) and isinstance(response.get("error"), dict):
        return response["error"]
    return None


def describe(e):
    """One line: the exception, with the node's JSON-RPC error where there is one."""
    rpc = rpc_error(e)
    if rpc:
        return f"{type(e).__name__}: node answered {rpc.get('code')} {rpc.get('message')!r}"
    return re.sub(r"\s*\n\s*", " | ", f"{type(e).__name__}: {e}")


def expect_error(fn, what):
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        return e
    raise AssertionError(f"{what}: expected an error, got success")


def assert_eq(actual, expected, what):
    if actual != expected:
        raise AssertionError(f"{what}: got {actual!r}, want {expected!r}")


def assert_node_message(e, want):
    """The error carries the node's answer (code -32000 on zkr) whose message starts with (or matches) want."""
    rpc = rpc_error(e)
    if rpc is None:
        raise AssertionError(f"no JSON-RPC error in {describe(e)}")
    message = rpc.get("message", "")
    ok = want.search(message) if isinstance(want, re.Pattern) else message.startswith(want)
    if not ok:
        raise AssertionError(f"node answered {rpc.get('code')} {message!r}, want {want!r}")
    if ZKR:
        assert_eq(rpc.get("code"), -32000, "JSON-RPC error code")


def wait_for(cond, seconds, what):
    end = time.monotonic() + seconds
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"{what} within {seconds} s")
        time.sleep(0.1)


def random_address():
    return Account.create().address


# --------------------------------------------------------------------------------------------------------------
# Clients and accounts

Account.enable_unaudited_hdwallet_features()


def dev_account(i):
    return Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}")


erin = dev_account(5)
frank = dev_account(6)


def http_web3():
    return Web3(Web3.HTTPProvider(HTTP_URL, request_kwargs={"timeout": 10}))


w3 = http_web3()  # plain reads and raw sends
signing = http_web3()  # send_transaction signs locally for erin and frank
signing.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build([erin, frank]), layer=0)
legacy = http_web3()  # same, with a gas price strategy: send_transaction builds legacy / EIP-2930 transactions
legacy.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build([erin, frank]), layer=0)
legacy.eth.set_gas_price_strategy(rpc_gas_price_strategy)


def sign_raw(acct, **fields):
    """Signs a fully specified EIP-1559 transaction with eth-account (no node round trip for validation)."""
    tx = {
        "type": 2,
        "chainId": CHAIN_ID,
        "nonce": w3.eth.get_transaction_count(acct.address, "pending"),
        "to": random_address(),
        "value": 1,
        "gas": 21000,
        "maxFeePerGas": 2 * w3.eth.get_block("latest")["baseFeePerGas"] + w3.eth.max_priority_fee,
        "maxPriorityFeePerGas": w3.eth.max_priority_fee,
    }
    tx.update(fields)
    if tx.get("to") is None:
        tx.pop("to")
    return acct.sign_transaction(tx).raw_transaction


def send_raw_error(raw):
    return expect_error(lambda: w3.eth.send_raw_transaction(raw), "send_raw_transaction")


# --------------------------------------------------------------------------------------------------------------
# Checks


def connection():
    def derive():
        first = dev_account(0)
        assert_eq(first.address, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "account 0")
        assert_eq(first.key.hex().removeprefix("0x"), "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80", "key 0")

    def chain_id():
        assert w3.is_connected(), "is_connected() is false"
        assert_eq(w3.eth.chain_id, CHAIN_ID, "eth.chain_id")

    def net_version():
        assert_eq(w3.net.version, str(CHAIN_ID), "net.version")

    def client_version():
        v = w3.client_version
        assert v, "empty client version"
        if ZKR:
            assert v.startswith("zkr-node/"), f"client version {v} does not start with zkr-node/"

    def advancing():
        first = w3.eth.block_number
        time.sleep(1)
        wait_for(lambda: w3.eth.block_number > first, 3, f"block number stayed {first}")

    def funded():
        for a in (erin, frank):
            bal = w3.eth.get_balance(a.address)
            assert bal > ETHER, f"{a.address} holds only {bal} wei"

    check("derive dev accounts from the mnemonic", derive)
    reachable = check("chain id is 42424", chain_id)
    check("net_version is 42424", net_version)
    check("web3_clientVersion", client_version)
    check("block number advances on an idle chain", advancing)
    check("dev accounts are funded", funded)
    return reachable


def transfer_and_verify(client, acct, extra, want_type):
    """send_transaction (signed by the middleware) to a fresh address; wait_for_transaction_receipt; balances."""
    to = random_address()
    value = ETHER // 100 + random.randrange(10**6)
    before = w3.eth.get_balance(acct.address)
    tx_hash = client.eth.send_transaction({"from": acct.address, "to": to, "value": value, **extra})
    receipt = client.eth.wait_for_transaction_receipt(tx_hash, timeout=10, poll_latency=0.1)
    assert_eq(receipt["status"], 1, "receipt status")
    assert_eq(receipt["gasUsed"], 21000, "gasUsed")
    assert_eq(receipt["type"], want_type, "receipt type")
    assert_eq(receipt["logs"], [], "receipt logs")
    after = w3.eth.get_balance(acct.address)
    assert_eq(before - after, value + receipt["gasUsed"] * receipt["effectiveGasPrice"], "sender balance decrease")
    assert_eq(w3.eth.get_balance(to), value, "recipient balance")
    tx = w3.eth.get_transaction(tx_hash)
    assert_eq(tx["type"], want_type, "transaction type")
    assert_eq(tx["from"], acct.address, "transaction from")
    assert_eq(tx["blockHash"], receipt["blockHash"], "transaction block hash")
    return receipt


def transfers():
    def legacy_tx():
        state["legacy"] = transfer_and_verify(legacy, erin, {}, 0)

    def eip2930_tx():
        state["eip2930"] = transfer_and_verify(legacy, erin, {"accessList": []}, 1)

    def eip1559_tx():
        state["eip1559"] = transfer_and_verify(signing, erin, {}, 2)

    def default_wait():
        # wait_for_transaction_receipt with its default timeout and poll latency
        tx_hash = signing.eth.send_transaction({"from": frank.address, "to": random_address(), "value": 1})
        receipt = signing.eth.wait_for_transaction_receipt(tx_hash)
        assert_eq(receipt["status"], 1, "status")

    check("legacy transfer (gas price strategy), wait_for_transaction_receipt", legacy_tx)
    check("EIP-2930 transfer (empty access list), wait_for_transaction_receipt", eip2930_tx)
    check("EIP-1559 transfer, wait_for_transaction_receipt", eip1559_tx)
    check("wait_for_transaction_receipt with default settings", default_wait)


def estimates():
    def transfer():
        assert_eq(w3.eth.estimate_gas({"from": erin.address, "to": random_address(), "value": 1}), 21000, "estimate")
        assert_eq(w3.eth.estimate_gas({"to": random_address()}), 21000, "estimate without from")

    def too_much(method):
        bal = w3.eth.get_balance(erin.address)
        tx = {"from": erin.address, "to": random_address(), "value": bal + ETHER}
        e = expect_error(lambda: getattr(w3.eth, method)(tx), method)
        assert "insufficient funds" in str(e).lower(), f"no 'insufficient funds' in {describe(e)}"
        if ZKR:
            assert_node_message(e, "insufficient funds for gas * price + value")

    def call_transfer():
        assert_eq(w3.eth.call({"from": erin.address, "to": random_address(), "value": 1}), HexBytes(b""), "call result")

    check("estimate_gas of a transfer is 21000", transfer)
    check("estimate_gas with value above balance -> insufficient funds", lambda: too_much("estimate_gas"),
          zkr_only="anvil estimates a transfer without checking the balance")
    check("eth_call of a transfer returns empty bytes", call_transfer)
    check("eth_call with value above balance -> insufficient funds", lambda: too_much("call"))

    zk_refusals = [
        ("estimate_gas with calldata", "estimate_gas", {"to": random_address(), "data": "0x12345678"}, "contract calls are not supported in zk mode"),
        ("estimate_gas of contract creation", "estimate_gas", {"data": "0x6000600055"}, "contract creation is not supported in zk mode"),
        ("estimate_gas with an access list", "estimate_gas", {"to": random_address(), "accessList": [{"address": random_address(), "storageKeys": []}]}, "access lists are not supported in zk mode"),
        ("estimate_gas to precompile 0x11", "estimate_gas", {"to": "0x" + "00" * 19 + "11", "value": 1}, "contract calls are not supported in zk mode"),
    ]
    for name, method, tx, message in zk_refusals:
        def refused(method=method, tx=tx, message=message):
            e = expect_error(lambda: getattr(w3.eth, method)({"from": erin.address, **tx}), method)
            assert_node_message(e, message)

        check(f"{name} refused (zk mode)", refused, zkr_only=True)

    # eth_call is a read, answered as geth answers it: no account holds code in zk mode, so calldata returns nothing.
    def call_calldata():
        result = w3.eth.call({"from": erin.address, "to": random_address(), "data": "0x12345678"})
        assert_eq(bytes(result), b"", "eth_call result")

    check("eth_call with calldata returns empty bytes (no code on L2)", call_calldata, zkr_only=True)


def fees():
    def fee_values():
        base = w3.eth.get_block("latest")["baseFeePerGas"]
        assert base > 0, f"base fee {base}"
        assert w3.eth.gas_price >= base // 2, f"gas price {w3.eth.gas_price} vs base fee {base}"
        if ZKR:
            assert_eq(w3.eth.max_priority_fee, 1_000_000, "eth_maxPriorityFeePerGas (0.001 gwei)")

    def fee_history():
        h = w3.eth.fee_history(4, "latest", [25, 75])
        assert_eq(len(h["baseFeePerGas"]), 5, "baseFeePerGas length")
        assert_eq(len(h["gasUsedRatio"]), 4, "gasUsedRatio length")
        assert_eq(len(h["reward"]), 4, "reward length")
        assert_eq(len(h["reward"][0]), 2, "reward percentiles")

    check("gas price, priority fee, base fee", fee_values)
    check("eth_feeHistory", fee_history)


def send_refusals():
    def insufficient():
        bal = w3.eth.get_balance(erin.address)
        e = expect_error(
            lambda: signing.eth.send_transaction({"from": erin.address, "to": random_address(), "value": bal + 1, "gas": 21000}),
            "send_transaction",
        )
        assert_node_message(e, "insufficient funds for gas * price + value: balance " if ZKR else re.compile("insufficient funds", re.I))

    def nonce_low():
        e = send_raw_error(sign_raw(erin, nonce=0))
        assert_node_message(e, re.compile(r"^nonce too low: next nonce \d+, tx nonce 0$") if ZKR else re.compile("nonce too low"))

    def nonce_high():
        # Gaps up to 64 wait in the pool for their predecessors; beyond that the node refuses.
        e = send_raw_error(sign_raw(erin, nonce=w3.eth.get_transaction_count(erin.address, "pending") + 65))
        assert_node_message(e, "nonce too high")

    def intrinsic():
        e = expect_error(
            lambda: signing.eth.send_transaction({"from": erin.address, "to": random_address(), "value": 1, "gas": 20000}),
            "send_transaction",
        )
        assert_node_message(e, "intrinsic gas too low: gas 20000, minimum needed 21000" if ZKR else re.compile("intrinsic gas too low"))

    def fee_cap_low():
        base = w3.eth.get_block("latest")["baseFeePerGas"]
        assert base >= 2, f"base fee {base} too low to undercut"
        e = send_raw_error(sign_raw(erin, maxFeePerGas=base // 2, maxPriorityFeePerGas=0))
        assert_node_message(e, "max fee per gas less than block base fee")

    def tip_above_cap():
        e = send_raw_error(sign_raw(erin, maxFeePerGas=2 * 10**9, maxPriorityFeePerGas=3 * 10**9))
        assert_node_message(e, "max priority fee per gas higher than max fee per gas")

    def underpriced_and_known():
        # Both answers need the first tx still pending: sign both in advance and send them back to back.
        # If a block lands in between (an answer is then "nonce too low"), try again with the next nonce.
        for attempt in range(1, 5):
            first = sign_raw(frank, value=1)
            second = sign_raw(frank, value=2, nonce=w3.eth.get_transaction_count(frank.address, "pending"))
            w3.eth.send_raw_transaction(first)
            dup = send_raw_error(first)
            repl = send_raw_error(second)
            raced = any("nonce too low" in (rpc_error(e) or {}).get("message", "") for e in (dup, repl))
            if raced and attempt < 4:
                continue
            assert_node_message(dup, "already known" if ZKR else re.compile("already known|already imported", re.I))
            assert_node_message(repl, "replacement transaction underpriced")
            return

    def wrong_chain():
        e = send_raw_error(sign_raw(erin, chainId=1))
        assert_node_message(e, "invalid sender: invalid chain id for signer: have 1 want 42424" if ZKR else re.compile("chain ?id", re.I))

    def blob_type():
        raw = sign_raw(erin, type=3, maxFeePerBlobGas=10**9, blobVersionedHashes=["0x01" + "11" * 31])
        assert_node_message(send_raw_error(raw), "transaction type not supported: type 3")

    check("send with value above balance -> insufficient funds", insufficient)
    check("send with a used nonce -> nonce too low", nonce_low)
    check("send with a nonce gap -> nonce too high", nonce_high, zkr_only="anvil queues transactions with a nonce gap")
    check("send with gas 20000 -> intrinsic gas too low", intrinsic)
    check("send with fee cap below base fee refused", fee_cap_low)
    check("send with tip above fee cap refused", tip_above_cap)
    check("same nonce, same fee -> replacement underpriced; same bytes -> already known", underpriced_and_known)
    check("wrong chain id refused (invalid sender)", wrong_chain)
    check("blob transaction (type 3) refused", blob_type, zkr_only=True)

    zk_sends = [
        ("contract creation", {"to": None, "data": "0x6000600055", "gas": 100_000, "value": 0}, "contract creation is not supported in zk mode"),
        ("calldata", {"data": "0x12345678", "gas": 50_000}, "contract calls are not supported in zk mode"),
        ("non-empty access list", {"accessList": [{"address": random_address(), "storageKeys": ["0x" + "00" * 32]}], "gas": 50_000}, "access lists are not supported in zk mode"),
        ("transfer to precompile 0x02", {"to": "0x" + "00" * 19 + "02", "gas": 50_000}, "contract calls are not supported in zk mode"),
    ]
    for name, fields, message in zk_sends:
        def refused(fields=fields, message=message):
            assert_node_message(send_raw_error(sign_raw(erin, **fields)), message)

        check(f"send with {name} refused (zk mode)", refused, zkr_only=True)

    def signer_calldata():
        e = expect_error(
            lambda: signing.eth.send_transaction({"from": erin.address, "to": random_address(), "data": "0x1234"}),
            "send_transaction",
        )
        assert_node_message(e, "contract calls are not supported in zk mode")

    check("middleware send_transaction with calldata refused (zk mode)", signer_calldata, zkr_only=True)


def blocks_and_receipts():
    def receipt():
        assert "eip1559" in state, "no receipt from the transfer checks"
        return state["eip1559"]

    def blocks():
        r = receipt()
        by_number = w3.eth.get_block(r["blockNumber"])
        by_hash = w3.eth.get_block(r["blockHash"], full_transactions=True)
        assert_eq(by_number["hash"], r["blockHash"], "block hash")
        assert_eq(by_hash["number"], r["blockNumber"], "block number")
        assert r["transactionHash"] in by_number["transactions"], "tx missing from block by number"
        assert any(t["hash"] == r["transactionHash"] for t in by_hash["transactions"]), "tx missing from full block"

    def block_receipts():
        r = receipt()
        for ident in (r["blockNumber"], r["blockHash"]):
            mine = [x for x in w3.eth.get_block_receipts(ident) if x["transactionHash"] == r["transactionHash"]]
            assert mine, f"receipt missing from get_block_receipts({ident!r})"
            assert_eq(mine[0]["gasUsed"], 21000, "gasUsed")
            assert_eq(mine[0]["status"], 1, "status")

    def by_block_and_index():
        r = receipt()
        for ident in (r["blockNumber"], r["blockHash"]):
            tx = w3.eth.get_transaction_by_block(ident, r["transactionIndex"])
            assert_eq(tx["hash"], r["transactionHash"], f"get_transaction_by_block({ident!r})")

    def tx_count():
        r = receipt()
        n = len(w3.eth.get_block(r["blockHash"])["transactions"])
        assert_eq(w3.eth.get_block_transaction_count(r["blockNumber"]), n, "count by number")
        assert_eq(w3.eth.get_block_transaction_count(r["blockHash"]), n, "count by hash")

    def receipts_and_unknown():
        r = receipt()
        assert_eq(w3.eth.get_transaction_receipt(r["transactionHash"])["blockHash"], r["blockHash"], "receipt block hash")
        for fn in (w3.eth.get_transaction_receipt, w3.eth.get_transaction):
            e = expect_error(lambda fn=fn: fn("0x" + "00" * 32), fn.__name__)
            assert isinstance(e, TransactionNotFound), f"{fn.__name__} of an unknown hash: {describe(e)}"

    def logs():
        r = receipt()
        assert_eq(w3.eth.get_logs({"fromBlock": r["blockNumber"], "toBlock": r["blockNumber"]}), [], "logs")

    check("get_block by number and by hash hold the tx", blocks)
    check("get_block_receipts holds the tx receipt", block_receipts)
    check("get_transaction_by_block (number/hash and index)", by_block_and_index)
    check("get_block_transaction_count by number and hash", tx_count)
    check("get_transaction_receipt; unknown hash -> TransactionNotFound", receipts_and_unknown)
    check("get_logs returns no logs for transfers", logs)


def account_state():
    def nonces():
        latest = w3.eth.get_transaction_count(erin.address)
        pending = w3.eth.get_transaction_count(erin.address, "pending")
        assert latest >= 3, f"erin nonce {latest} after 3 transfers"
        assert pending >= latest, f"pending {pending} < latest {latest}"
        assert_eq(w3.eth.get_transaction_count(random_address()), 0, "fresh address nonce")

    def code():
        assert_eq(w3.eth.get_code(erin.address), HexBytes(b""), "code of erin")
        assert_eq(w3.eth.get_code(random_address()), HexBytes(b""), "code of a fresh address")

    def storage():
        assert_eq(w3.eth.get_storage_at(random_address(), 0), ZERO_WORD, "slot 0")
        assert_eq(w3.eth.get_storage_at(erin.address, 7), ZERO_WORD, "slot 7")

    def accounts():
        got = w3.eth.accounts
        assert isinstance(got, (list, tuple)), f"not a list: {got!r}"
        if ZKR:
            assert_eq(list(got), [], "eth_accounts")

    def send_transaction():
        e = expect_error(lambda: w3.eth.send_transaction({"from": random_address(), "to": random_address(), "value": 1, "gas": 21000}), "send_transaction")
        if ZKR:
            assert_node_message(e, "unknown account")
        else:
            assert rpc_error(e), f"no JSON-RPC error: {describe(e)}"

    def historical():
        n = w3.eth.block_number
        e = expect_error(lambda: w3.eth.get_balance(erin.address, n - 5), "get_balance at an old block")
        assert_node_message(e, "historical state not available")

    check("get_transaction_count latest and pending", nonces)
    check("get_code is empty", code)
    check("get_storage_at is a zero word", storage)
    check("eth_accounts", accounts)
    check("eth_sendTransaction refused (unknown account)", send_transaction)
    check("historical balance refused", historical, zkr_only=True)


def filters():
    def block_filter():
        f = w3.eth.filter("latest")
        hashes = wait_for(f.get_new_entries, 5, "no new block hash")
        assert w3.eth.get_block(hashes[0]), f"unknown block hash {hashes[0]!r}"
        assert_eq(w3.eth.uninstall_filter(f.filter_id), True, "uninstall")

    def pending_filter():
        f = w3.eth.filter("pending")
        tx_hash = signing.eth.send_transaction({"from": frank.address, "to": random_address(), "value": 1})
        seen = []
        wait_for(lambda: seen.extend(f.get_new_entries()) or tx_hash in seen, 5, f"tx {tx_hash.to_0x_hex()} not reported")
        assert_eq(w3.eth.uninstall_filter(f.filter_id), True, "uninstall")
        w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10, poll_latency=0.1)

    def log_filter():
        f = w3.eth.filter({"address": random_address()})
        assert isinstance(f.get_all_entries(), list), "eth_getFilterLogs: not a list"
        time.sleep(0.3)
        assert isinstance(f.get_new_entries(), list), "eth_getFilterChanges: not a list"
        assert_eq(w3.eth.uninstall_filter(f.filter_id), True, "first uninstall")
        assert_eq(w3.eth.uninstall_filter(f.filter_id), False, "second uninstall")
        e = expect_error(lambda: w3.eth.get_filter_changes(f.filter_id), "get_filter_changes after uninstall")
        assert_node_message(e, "filter not found" if ZKR else re.compile("filter not found", re.I))

    check("block filter (eth_newBlockFilter + eth_getFilterChanges)", block_filter)
    check("pending transaction filter sees a sent tx", pending_filter)
    check("log filter: eth_newFilter, eth_getFilterLogs, eth_getFilterChanges, eth_uninstallFilter", log_filter)


async def websocket():
    try:
        await websocket_checks()
    except Exception as e:  # noqa: BLE001 - e.g. the websocket could not connect
        _report(f"websocket: connection to {WS_URL}", e)


async def websocket_checks():
    async with AsyncWeb3(WebSocketProvider(WS_URL, request_timeout=10, max_connection_retries=1)) as ws:

        async def connect():
            assert_eq(await ws.eth.chain_id, CHAIN_ID, "chain id")

        async def new_heads():
            heads = []

            async def on_head(ctx):
                heads.append(ctx.result["hash"])
                if len(heads) >= 2:
                    await ctx.subscription.unsubscribe()

            await ws.eth.subscribe("newHeads", handler=on_head)
            await ws.subscription_manager.handle_subscriptions()  # returns once the handler unsubscribed
            assert len(heads) >= 2, f"only {len(heads)} heads"

        async def pending():
            seen = set()
            await ws.eth.subscribe("newPendingTransactions", handler=lambda ctx: _add(seen, ctx))
            task = asyncio.create_task(ws.subscription_manager.handle_subscriptions())
            try:
                await asyncio.sleep(0.5)
                tx_hash = await asyncio.to_thread(
                    signing.eth.send_transaction, {"from": frank.address, "to": random_address(), "value": 1}
                )
                while tx_hash not in seen:
                    if task.done():
                        task.result()
                        raise AssertionError("subscription handling stopped")
                    await asyncio.sleep(0.1)
                assert_eq(await ws.subscription_manager.unsubscribe_all(), True, "unsubscribe_all")
                await asyncio.wait_for(task, 5)
                await asyncio.to_thread(w3.eth.wait_for_transaction_receipt, tx_hash, 10, 0.1)
            finally:
                task.cancel()

        async def logs():
            sub_id = await ws.eth.subscribe("logs", {"address": random_address()})
            assert isinstance(sub_id, str) and sub_id.startswith("0x"), f"subscription id {sub_id!r}"
            await asyncio.sleep(0.5)
            assert_eq(await ws.eth.unsubscribe(sub_id), True, "eth_unsubscribe")

        async def raw_subscribe():
            for params in (["logs", {}], ["newHeads"], ["newPendingTransactions"]):
                sub_id = await ws.provider.make_request("eth_subscribe", params)
                assert "result" in sub_id, f"eth_subscribe {params[0]}: {sub_id!r}"
                res = await ws.provider.make_request("eth_unsubscribe", [sub_id["result"]])
                assert_eq(res.get("result"), True, f"eth_unsubscribe {params[0]}")

        await acheck("websocket: connect, chain id", connect)
        await acheck("websocket: newHeads subscription gives >= 2 heads", new_heads)
        await acheck("websocket: newPendingTransactions sees a sent tx", pending, timeout=20)
        await acheck("websocket: logs subscription + eth_unsubscribe", logs)
        await acheck("websocket: raw eth_subscribe logs/newHeads/newPendingTransactions + eth_unsubscribe", raw_subscribe)


async def _add(seen, ctx):
    seen.add(HexBytes(ctx.result))


# --------------------------------------------------------------------------------------------------------------


def main():
    started = time.monotonic()
    print(f"web3.py {version('web3')} / eth-account {version('eth-account')} against {HTTP_URL} (target {opts.target})", flush=True)
    if not connection():
        print(f"web3.py: FAIL, the node at {HTTP_URL} did not answer eth_chainId with {CHAIN_ID}; stopping", flush=True)
        sys.exit(1)
    transfers()
    estimates()
    fees()
    send_refusals()
    blocks_and_receipts()
    account_state()
    filters()
    asyncio.run(websocket())
    c = counts
    print(f"web3.py: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped in {time.monotonic() - started:.1f} s", flush=True)
    sys.exit(0 if c["failed"] == 0 else 1)


if __name__ == "__main__":
    main()
