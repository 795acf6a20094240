//! Ethereum JSON-RPC over HTTP and websocket on one port (jsonrpsee): the methods wallets, libraries and explorers
//! use, polled filters, `eth_subscribe`, plus `rollup_*` methods.
//!
//! Transaction rejections use code -32000 with go-ethereum's message (in `eth_call` and `eth_estimateGas` too, so
//! that libraries raise the same error classes), reverts code 3, bad parameters -32602. Request size, response size,
//! batch length, connections, subscriptions per connection and installed filters are limited on purpose
//! ([`RpcConfig`]); oversized requests get jsonrpsee's -32007 and oversized batches -32010.

mod convert;
mod filters;
mod pubsub;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use alloy::{
    consensus::Transaction as _,
    eips::{BlockId, BlockNumberOrTag},
    primitives::{Address, B256, Bytes, TxKind, U64, U128, U256, keccak256},
    rpc::types::{
        Block as RpcBlock, FeeHistory, Filter, FilterBlockOption, Log as RpcLog, Transaction as RpcTransaction,
        TransactionReceipt, TransactionRequest,
    },
};
use jsonrpsee::{
    RpcModule,
    server::{BatchRequestConfig, Server, ServerConfig, ServerHandle, middleware::http::ProxyGetRequestLayer},
    types::{ErrorObject, ErrorObjectOwned, Params},
};
use revm::context::TxEnv;
use serde::{Deserialize, Serialize};

use self::{
    convert::{
        gas_used_per_tx, matching_logs, rpc_block, rpc_pending_transaction, rpc_receipt, rpc_receipts, rpc_transaction,
    },
    filters::{FilterChanges, FilterError, FilterKind, Filters, drain_pending},
};
use crate::{
    Block, Node, SimulationError, SimulationOutcome, SubmitError, TX_BASE_GAS, TxError, TxLookup,
    admission::check_scope, batcher::BatchRecord,
};

/// Priority fee suggested by `eth_maxPriorityFeePerGas` (0.001 gwei): blocks are rarely full, so any tip is included.
pub const SUGGESTED_PRIORITY_FEE: u128 = 1_000_000;
/// Most blocks `eth_feeHistory` returns.
const MAX_FEE_HISTORY_BLOCKS: u64 = 1024;
/// Most block hashes one `eth_getFilterChanges` call returns; the rest come with the next call.
const MAX_FILTER_BLOCKS: u64 = 1024;

/// JSON-RPC server settings (the `[rpc]` section of the node's configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RpcConfig {
    /// Address to listen on, for HTTP and websocket alike.
    pub addr: SocketAddr,
    /// Largest request body, in bytes.
    pub max_request_body_bytes: u32,
    /// Largest response body, in bytes.
    pub max_response_body_bytes: u32,
    /// Most calls in one batch.
    pub max_batch_len: u32,
    /// Most simultaneous connections (HTTP and websocket).
    pub max_connections: u32,
    /// Most blocks one `eth_getLogs` call may scan.
    pub max_log_blocks: u64,
    /// Most `eth_subscribe` subscriptions one websocket connection may hold.
    pub max_subscriptions_per_connection: u32,
    /// Most filters installed at once (`eth_newFilter` and its family), all clients together.
    pub max_filters: usize,
    /// A filter not polled for this many seconds is removed (go-ethereum: 300).
    pub filter_timeout_secs: u64,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8547)),
            max_request_body_bytes: 1024 * 1024,
            max_response_body_bytes: 16 * 1024 * 1024,
            max_batch_len: 100,
            max_connections: 512,
            max_log_blocks: 10_000,
            max_subscriptions_per_connection: 128,
            max_filters: 10_000,
            filter_timeout_secs: 300,
        }
    }
}

/// Starts the JSON-RPC server (HTTP, and websocket on the same address); it runs until the handle is stopped.
pub async fn start_rpc(node: Arc<Node>, config: RpcConfig) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let server_config = ServerConfig::builder()
        .max_request_body_size(config.max_request_body_bytes)
        .max_response_body_size(config.max_response_body_bytes)
        .max_connections(config.max_connections)
        .max_subscriptions_per_connection(config.max_subscriptions_per_connection)
        .set_batch_request_config(BatchRequestConfig::Limit(config.max_batch_len))
        .set_id_provider(pubsub::HexIds)
        .build();
    // `GET /healthz` answers the node's health (liveness and readiness probes, the image's health check).
    let health = ProxyGetRequestLayer::new([("/healthz", "zkr_health")]).expect("the path starts with /");
    let server = Server::builder()
        .set_config(server_config)
        .set_http_middleware(tower::ServiceBuilder::new().layer(health))
        .build(config.addr)
        .await?;
    let addr = server.local_addr()?;
    let filters = Filters::new(Duration::from_secs(config.filter_timeout_secs.max(1)), config.max_filters);
    let rpc = Rpc { node, max_log_blocks: config.max_log_blocks, filters, subscriptions: Default::default() };
    let handle = server.start(module(rpc));
    tracing::info!(target: "node::rpc", %addr, "JSON-RPC listening (HTTP and websocket)");
    Ok((addr, handle))
}

struct Rpc {
    node: Arc<Node>,
    max_log_blocks: u64,
    filters: Filters,
    subscriptions: pubsub::Subscriptions,
}

type RpcResult<T> = Result<T, ErrorObjectOwned>;

fn module(rpc: Rpc) -> RpcModule<Rpc> {
    let mut module = RpcModule::new(rpc);
    macro_rules! method {
        ($name:literal, $handler:expr) => {
            module
                .register_blocking_method($name, move |params, rpc, _| $handler(&rpc, params))
                .expect("method names are unique");
        };
    }
    method!("zkr_health", |rpc: &Rpc, _| -> RpcResult<serde_json::Value> {
        let head = rpc.node.head();
        Ok(serde_json::json!({ "head": head.number(), "timestamp": head.header.timestamp }))
    });
    method!("eth_chainId", |rpc: &Rpc, _| -> RpcResult<U64> { Ok(U64::from(rpc.node.spec().chain_id)) });
    method!("net_version", |rpc: &Rpc, _| -> RpcResult<String> { Ok(rpc.node.spec().chain_id.to_string()) });
    method!("web3_clientVersion", |_: &Rpc, _| -> RpcResult<String> {
        Ok(concat!("zkr-node/", env!("CARGO_PKG_VERSION")).to_string())
    });
    method!("eth_syncing", |_: &Rpc, _| -> RpcResult<bool> { Ok(false) });
    method!("eth_blockNumber", |rpc: &Rpc, _| -> RpcResult<U64> { Ok(U64::from(rpc.node.head().number())) });
    method!("eth_gasPrice", |rpc: &Rpc, _| -> RpcResult<U256> {
        Ok(U256::from(u128::from(rpc.node.next_base_fee()) + SUGGESTED_PRIORITY_FEE))
    });
    method!("eth_maxPriorityFeePerGas", |_: &Rpc, _| -> RpcResult<U256> { Ok(U256::from(SUGGESTED_PRIORITY_FEE)) });
    method!("eth_getBalance", |rpc: &Rpc, params: Params<'_>| -> RpcResult<U256> {
        let (address, block) = address_and_block(&params)?;
        rpc.latest_state_only(block)?;
        Ok(rpc.node.account(&address).balance)
    });
    method!("eth_getTransactionCount", |rpc: &Rpc, params: Params<'_>| -> RpcResult<U64> {
        let (address, block) = address_and_block(&params)?;
        if matches!(block, Some(BlockId::Number(BlockNumberOrTag::Pending))) {
            return Ok(U64::from(rpc.node.pending_nonce(&address)));
        }
        rpc.latest_state_only(block)?;
        Ok(U64::from(rpc.node.account(&address).nonce))
    });
    method!("eth_getCode", |rpc: &Rpc, params: Params<'_>| -> RpcResult<Bytes> {
        let (_, block) = address_and_block(&params)?;
        rpc.latest_state_only(block)?;
        // Accounts hold no code: contract creation is not executed in zk mode.
        Ok(Bytes::new())
    });
    method!("eth_sendRawTransaction", |rpc: &Rpc, params: Params<'_>| -> RpcResult<B256> {
        let raw: Bytes = params.one()?;
        rpc.node.submit(&raw).map_err(|err| match err {
            SubmitError::Rejected(err) => rejected(&err),
            SubmitError::Node(err) => internal(err),
        })
    });
    method!("eth_call", |rpc: &Rpc, params: Params<'_>| -> RpcResult<Bytes> {
        let (request, block) = request_and_block(&params)?;
        rpc.latest_state_only(block)?;
        match rpc.simulate(request)? {
            SimulationOutcome::Success { output, .. } => Ok(output),
            SimulationOutcome::Revert { output } => Err(reverted(output)),
            SimulationOutcome::Halt { reason } => Err(ErrorObject::owned(-32000, reason, None::<()>)),
        }
    });
    method!("eth_estimateGas", |rpc: &Rpc, params: Params<'_>| -> RpcResult<U64> {
        let (request, block) = request_and_block(&params)?;
        rpc.latest_state_only(block)?;
        // What the sequencer would refuse is refused here, in the same words, rather than estimated.
        let kind = request.to.unwrap_or(TxKind::Create);
        let input = request.input.input().cloned().unwrap_or_default();
        let value = request.value.unwrap_or_default();
        check_scope(rpc.node.spec(), kind, &input, request.access_list.as_ref(), value)
            .map_err(|err| rejected(&err))?;
        match rpc.simulate(request)? {
            SimulationOutcome::Success { gas_used, .. } => Ok(U64::from(gas_used)),
            SimulationOutcome::Revert { output } => Err(reverted(output)),
            SimulationOutcome::Halt { reason } => Err(ErrorObject::owned(-32000, reason, None::<()>)),
        }
    });
    method!("eth_getBlockByNumber", |rpc: &Rpc, params: Params<'_>| -> RpcResult<Option<RpcBlock>> {
        let (tag, full): (BlockNumberOrTag, bool) = params.parse()?;
        let block = rpc.node.block_by_number(rpc.number(tag)).map_err(internal)?;
        Ok(block.map(|block| rpc_block(&block, full)))
    });
    method!("eth_getBlockByHash", |rpc: &Rpc, params: Params<'_>| -> RpcResult<Option<RpcBlock>> {
        let (hash, full): (B256, bool) = params.parse()?;
        Ok(rpc.node.block_by_hash(&hash).map_err(internal)?.map(|block| rpc_block(&block, full)))
    });
    method!("eth_getTransactionByHash", |rpc: &Rpc, params: Params<'_>| -> RpcResult<Option<RpcTransaction>> {
        let hash: B256 = params.one()?;
        Ok(match rpc.node.transaction(&hash).map_err(internal)? {
            None => None,
            Some(TxLookup::Pending(tx)) => Some(rpc_pending_transaction(&tx)),
            Some(TxLookup::Included { block, index }) => Some(rpc_transaction(&block, index)),
        })
    });
    method!("eth_getTransactionReceipt", |rpc: &Rpc, params: Params<'_>| -> RpcResult<Option<TransactionReceipt>> {
        let hash: B256 = params.one()?;
        Ok(match rpc.node.transaction(&hash).map_err(internal)? {
            Some(TxLookup::Included { block, index }) => Some(rpc_receipt(&block, index)),
            _ => None,
        })
    });
    method!("eth_getLogs", |rpc: &Rpc, params: Params<'_>| -> RpcResult<Vec<RpcLog>> {
        let filter: Filter = params.one()?;
        rpc.logs(&filter)
    });
    method!("eth_feeHistory", |rpc: &Rpc, params: Params<'_>| -> RpcResult<FeeHistory> {
        let mut seq = params.sequence();
        let count: U64 = seq.next()?;
        let newest: BlockNumberOrTag = seq.next()?;
        let percentiles: Option<Vec<f64>> = seq.optional_next()?;
        rpc.fee_history(count.to::<u64>(), newest, percentiles)
    });
    method!("eth_getStorageAt", |rpc: &Rpc, params: Params<'_>| -> RpcResult<B256> {
        let mut seq = params.sequence();
        let _address: Address = seq.next()?;
        let _slot: U256 = seq.next()?;
        rpc.latest_state_only(seq.optional_next()?)?;
        // Accounts hold no storage: nothing but value transfers is executed in zk mode.
        Ok(B256::ZERO)
    });
    method!("eth_getBlockReceipts", |rpc: &Rpc, params: Params<'_>| -> RpcResult<Option<Vec<TransactionReceipt>>> {
        let block: BlockId = params.one()?;
        Ok(rpc.block(block)?.map(|block| rpc_receipts(&block)))
    });
    method!("eth_getBlockTransactionCountByNumber", |rpc: &Rpc, params: Params<'_>| -> RpcResult<Option<U64>> {
        let tag: BlockNumberOrTag = params.one()?;
        Ok(rpc.block(tag.into())?.map(|block| U64::from(block.transactions.len())))
    });
    method!("eth_getBlockTransactionCountByHash", |rpc: &Rpc, params: Params<'_>| -> RpcResult<Option<U64>> {
        let hash: B256 = params.one()?;
        Ok(rpc.block(hash.into())?.map(|block| U64::from(block.transactions.len())))
    });
    method!("eth_getTransactionByBlockNumberAndIndex", |rpc: &Rpc,
                                                        params: Params<'_>|
     -> RpcResult<Option<RpcTransaction>> {
        let (tag, index): (BlockNumberOrTag, U64) = params.parse()?;
        Ok(rpc.block(tag.into())?.and_then(|block| transaction_at(&block, index)))
    });
    method!("eth_getTransactionByBlockHashAndIndex", |rpc: &Rpc,
                                                      params: Params<'_>|
     -> RpcResult<Option<RpcTransaction>> {
        let (hash, index): (B256, U64) = params.parse()?;
        Ok(rpc.block(hash.into())?.and_then(|block| transaction_at(&block, index)))
    });
    // L2 blocks have no uncles.
    method!("eth_getUncleCountByBlockNumber", |rpc: &Rpc, params: Params<'_>| -> RpcResult<Option<U64>> {
        let tag: BlockNumberOrTag = params.one()?;
        Ok(rpc.block(tag.into())?.map(|_| U64::ZERO))
    });
    method!("eth_getUncleCountByBlockHash", |rpc: &Rpc, params: Params<'_>| -> RpcResult<Option<U64>> {
        let hash: B256 = params.one()?;
        Ok(rpc.block(hash.into())?.map(|_| U64::ZERO))
    });
    method!("eth_getUncleByBlockNumberAndIndex", |_: &Rpc, _| -> RpcResult<Option<RpcBlock>> { Ok(None) });
    method!("eth_getUncleByBlockHashAndIndex", |_: &Rpc, _| -> RpcResult<Option<RpcBlock>> { Ok(None) });
    // The node holds no keys: wallets sign and send with eth_sendRawTransaction.
    method!("eth_accounts", |_: &Rpc, _| -> RpcResult<Vec<Address>> { Ok(Vec::new()) });
    for name in ["eth_sendTransaction", "eth_signTransaction", "eth_sign", "personal_sign", "eth_signTypedData_v4"] {
        module.register_method(name, |_, _, _| -> RpcResult<()> { Err(no_keys()) }).expect("method names are unique");
    }
    method!("net_listening", |_: &Rpc, _| -> RpcResult<bool> { Ok(true) });
    method!("net_peerCount", |_: &Rpc, _| -> RpcResult<U64> { Ok(U64::ZERO) });
    method!("eth_mining", |_: &Rpc, _| -> RpcResult<bool> { Ok(false) });
    method!("eth_hashrate", |_: &Rpc, _| -> RpcResult<U64> { Ok(U64::ZERO) });
    method!("web3_sha3", |_: &Rpc, params: Params<'_>| -> RpcResult<B256> {
        let data: Bytes = params.one()?;
        Ok(keccak256(&data))
    });
    method!("eth_newFilter", |rpc: &Rpc, params: Params<'_>| -> RpcResult<U128> {
        let filter: Filter = params.one()?;
        let head = rpc.node.head().number();
        let next = match filter.block_option {
            FilterBlockOption::Range { from_block: Some(from), .. } => rpc.number(from).min(head + 1),
            _ => head + 1,
        };
        rpc.filters.install(FilterKind::Logs { filter: Box::new(filter), next }).map_err(filter_error)
    });
    method!("eth_newBlockFilter", |rpc: &Rpc, _| -> RpcResult<U128> {
        let next = rpc.node.head().number() + 1;
        rpc.filters.install(FilterKind::Blocks { next }).map_err(filter_error)
    });
    method!("eth_newPendingTransactionFilter", |rpc: &Rpc, _| -> RpcResult<U128> {
        rpc.filters.install(FilterKind::Pending(rpc.node.subscribe_pending())).map_err(filter_error)
    });
    method!("eth_uninstallFilter", |rpc: &Rpc, params: Params<'_>| -> RpcResult<bool> {
        let id: U128 = params.one()?;
        Ok(rpc.filters.uninstall(id))
    });
    method!("eth_getFilterChanges", |rpc: &Rpc, params: Params<'_>| -> RpcResult<FilterChanges> {
        let id: U128 = params.one()?;
        rpc.filters.poll(id, |kind| rpc.filter_changes(kind)).map_err(filter_error)?
    });
    method!("eth_getFilterLogs", |rpc: &Rpc, params: Params<'_>| -> RpcResult<Vec<RpcLog>> {
        let id: U128 = params.one()?;
        let filter = rpc
            .filters
            .poll(id, |kind| match kind {
                FilterKind::Logs { filter, .. } => Some(filter.clone()),
                _ => None,
            })
            .map_err(filter_error)?
            .ok_or_else(|| filter_error(FilterError::NotFound))?;
        rpc.logs(&filter)
    });
    method!("rollup_getTransactionStatus", |rpc: &Rpc, params: Params<'_>| -> RpcResult<Option<Status>> {
        let hash: B256 = params.one()?;
        Ok(match rpc.node.transaction(&hash).map_err(internal)? {
            None => None,
            Some(TxLookup::Pending(_)) => Some(Status::Pending),
            Some(TxLookup::Included { block, .. }) => Some(rpc.block_status(block.number())?),
        })
    });
    method!("rollup_getWithdrawalProof", |rpc: &Rpc, params: Params<'_>| -> RpcResult<Option<WithdrawalProof>> {
        let hash: B256 = params.one()?;
        let Some(TxLookup::Included { block, .. }) = rpc.node.transaction(&hash).map_err(internal)? else {
            return Ok(None);
        };
        let Some(leaf_index) = block.withdrawals.iter().position(|record| record.tx_hash == hash) else {
            return Ok(None);
        };
        let withdrawal = block.withdrawals[leaf_index].withdrawal;
        let status = rpc.block_status(block.number())?;
        // Once the block is in a batch, the proof is against the batch's tree: the root the Portal checks. The leaf
        // index is the withdrawal's place in it (the chunk's j-th withdrawal of chunk c: `(c << 10) | j`).
        if let Some(batch) = rpc.node.batch_of_block(block.number()).map_err(internal)? {
            let (leaf_index, proof) = batch
                .withdrawal_proof(withdrawal.leaf())
                .ok_or_else(|| internal(format!("batch {} does not hold the withdrawal", batch.index)))?;
            return Ok(Some(WithdrawalProof {
                block_number: block.number(),
                batch_index: Some(batch.index),
                withdrawal,
                leaf_index,
                proof,
                withdrawal_root: batch.withdrawal_root,
                status,
            }));
        }
        let proof = block.withdrawal_tree().proof(leaf_index).ok_or_else(|| internal("withdrawal tree mismatch"))?;
        Ok(Some(WithdrawalProof {
            block_number: block.number(),
            batch_index: None,
            withdrawal,
            leaf_index: leaf_index as u64,
            proof,
            withdrawal_root: block.withdrawal_root,
            status,
        }))
    });
    method!("rollup_getBatch", |rpc: &Rpc, params: Params<'_>| -> RpcResult<Option<BatchInfo>> {
        let index: U64 = params.one()?;
        let Some(batch) = rpc.node.batch(index.to::<u64>()).map_err(internal)? else { return Ok(None) };
        let (committed, finalized) = rpc.node.l1_progress();
        let l1_status = if batch.index <= finalized {
            BatchStatus::Finalized
        } else if batch.index <= committed {
            BatchStatus::Committed
        } else {
            BatchStatus::Sealed
        };
        Ok(Some(BatchInfo {
            chunk_data_hashes: batch.chunk_data_hashes(),
            chunk_withdrawal_roots: batch.chunk_withdrawal_roots(),
            batch,
            l1_status,
        }))
    });
    method!("rollup_getBlockStatus", |rpc: &Rpc, params: Params<'_>| -> RpcResult<Option<Status>> {
        let tag: BlockNumberOrTag = params.one()?;
        let number = rpc.number(tag);
        if rpc.node.block_by_number(number).map_err(internal)?.is_none() {
            return Ok(None);
        }
        rpc.block_status(number).map(Some)
    });
    pubsub::register(&mut module);
    module
}

/// What `Portal.finalizeWithdrawal` needs.
///
/// Once the block holding the withdrawal is sealed into a batch, the proof is against the batch's withdrawal tree (the
/// root the Rollup finalizes), at the withdrawal's leaf (its place among its chunk's withdrawals); before that it is
/// against the block's own tree (leaves in order) and `batch_index` is null.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawalProof {
    /// The L2 block holding the withdrawal.
    pub block_number: u64,
    /// The batch holding that block, once sealed: the `batchIndex` argument of `finalizeWithdrawal`.
    pub batch_index: Option<u64>,
    /// The withdrawal, as the Portal pays it.
    pub withdrawal: zkr_protocol::hashes::Withdrawal,
    /// Its leaf index in the tree.
    pub leaf_index: u64,
    /// The sibling hashes from the leaf upwards.
    pub proof: Vec<B256>,
    /// The tree's root.
    pub withdrawal_root: B256,
    /// Where the block stands (a withdrawal is payable once its batch is finalized on L1).
    pub status: Status,
}

/// `rollup_getBatch`: a sealed batch with everything a prover needs to prove it and finalize it on L1.
///
/// `batch` is the batch as the node stores it (see [`BatchRecord`]): `chunks` (hex bytes), `chunkSlots`,
/// `prevStateRoot` and `newStateRoot`, `depositStart`, `depositEnd`, `depositHashBefore` and `depositHashAfter`,
/// `chunkWithdrawals`, `withdrawalRoot`, the block range and the L1 commit. Next to it, `chunkDataHashes` and
/// `chunkWithdrawalRoots` (the arrays `finalizeBatch` takes) and `l1Status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchInfo {
    /// The batch.
    pub batch: BatchRecord,
    /// keccak256 of each chunk.
    pub chunk_data_hashes: Vec<B256>,
    /// Root of each chunk's withdrawal subtree.
    pub chunk_withdrawal_roots: Vec<B256>,
    /// Where the batch stands on L1, as last seen by the batcher.
    pub l1_status: BatchStatus,
}

/// Where a batch stands on L1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BatchStatus {
    /// Sealed by the node, not yet seen committed on L1.
    Sealed,
    /// Committed on L1, not yet proven.
    Committed,
    /// Its proof verified on L1.
    Finalized,
}

/// Where a transaction or block stands on its way to finality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    /// In the pool, not yet in a block.
    Pending,
    /// In an L2 block (soft confirmation); not yet committed to L1.
    Soft,
    /// In a batch committed to L1, not yet proven.
    Committed,
    /// In a batch whose proof verified on L1.
    Finalized,
}

impl Rpc {
    fn number(&self, tag: BlockNumberOrTag) -> u64 {
        match tag {
            BlockNumberOrTag::Number(number) => number,
            BlockNumberOrTag::Earliest => 0,
            // Safe: the last block of the newest batch committed on L1; finalized: of the newest proven one.
            BlockNumberOrTag::Safe => self.last_block_of_batch(self.node.l1_progress().0),
            BlockNumberOrTag::Finalized => self.last_block_of_batch(self.node.l1_progress().1),
            BlockNumberOrTag::Latest | BlockNumberOrTag::Pending => self.node.head().number(),
        }
    }

    fn last_block_of_batch(&self, index: u64) -> u64 {
        if index == 0 {
            return 0;
        }
        self.node.batch(index).ok().flatten().map_or(0, |batch| batch.last_block)
    }

    /// Where block `number` stands: in no batch yet (soft), in a batch L1 holds (committed), or proven (finalized).
    fn block_status(&self, number: u64) -> RpcResult<Status> {
        let Some(batch) = self.node.batch_of_block(number).map_err(internal)? else { return Ok(Status::Soft) };
        let (committed, finalized) = self.node.l1_progress();
        Ok(if batch.index <= finalized {
            Status::Finalized
        } else if batch.index <= committed {
            Status::Committed
        } else {
            Status::Soft
        })
    }

    /// A block by number, tag or hash.
    fn block(&self, id: BlockId) -> RpcResult<Option<Block>> {
        match id {
            BlockId::Number(tag) => self.node.block_by_number(self.number(tag)).map_err(internal),
            BlockId::Hash(hash) => self.node.block_by_hash(&hash.block_hash).map_err(internal),
        }
    }

    /// What a filter has not reported yet, moving its cursor past it.
    fn filter_changes(&self, kind: &mut FilterKind) -> RpcResult<FilterChanges> {
        let head = self.node.head().number();
        match kind {
            FilterKind::Blocks { next } => {
                let last = head.min(next.saturating_add(MAX_FILTER_BLOCKS - 1));
                let mut hashes = Vec::new();
                for number in *next..=last {
                    let block = self.node.block_by_number(number).map_err(internal)?;
                    hashes.extend(block.map(|block| block.hash));
                }
                *next = (*next).max(last + 1);
                Ok(FilterChanges::Hashes(hashes))
            }
            FilterKind::Pending(receiver) => Ok(FilterChanges::Hashes(drain_pending(receiver))),
            FilterKind::Logs { filter, next } => {
                let to = match filter.block_option {
                    FilterBlockOption::Range { to_block: Some(to), .. } => self.number(to).min(head),
                    _ => head,
                };
                let last = to.min(next.saturating_add(self.max_log_blocks.saturating_sub(1)));
                let mut logs = Vec::new();
                for number in *next..=last {
                    if let Some(block) = self.node.block_by_number(number).map_err(internal)? {
                        logs.extend(matching_logs(&block, filter));
                    }
                }
                *next = (*next).max(last + 1);
                Ok(FilterChanges::Logs(logs))
            }
        }
    }

    /// The node keeps the newest state only, like a pruned geth.
    fn latest_state_only(&self, block: Option<BlockId>) -> RpcResult<()> {
        let head = self.node.head();
        let ok = match block {
            None => true,
            Some(BlockId::Number(tag)) => match tag {
                BlockNumberOrTag::Latest | BlockNumberOrTag::Pending => true,
                other => self.number(other) == head.number(),
            },
            Some(BlockId::Hash(hash)) => hash.block_hash == head.hash,
        };
        if ok {
            Ok(())
        } else {
            Err(ErrorObject::owned(
                -32000,
                "historical state not available: this node keeps the latest state",
                None::<()>,
            ))
        }
    }

    fn simulate(&self, request: TransactionRequest) -> RpcResult<SimulationOutcome> {
        let caller = request.from.unwrap_or_default();
        let value = request.value.unwrap_or_default();
        let gas_price = request.max_fee_per_gas.or(request.gas_price).unwrap_or_default();
        let block_gas_limit = self.node.spec().block_gas_limit;
        let gas_limit = match request.gas {
            Some(gas) => gas,
            None if gas_price == 0 => block_gas_limit,
            // As geth does: without a gas limit, the call gets the gas the caller can pay for beyond the value, so a
            // wallet that names its fee cap gets an estimate rather than a refusal for block gas it never asked for.
            None => {
                let balance = self.node.account(&caller).balance;
                let price = U256::from(gas_price);
                let allowance = balance.checked_sub(value).map(|left| left / price).unwrap_or_default();
                if allowance < U256::from(TX_BASE_GAS) {
                    let cost = value + price * U256::from(TX_BASE_GAS);
                    return Err(rejected(&TxError::InsufficientFunds { balance, cost }));
                }
                allowance.saturating_to::<u64>().min(block_gas_limit)
            }
        };
        let tx = TxEnv {
            caller,
            kind: request.to.unwrap_or(TxKind::Create),
            value,
            data: request.input.into_input().unwrap_or_default(),
            gas_limit,
            gas_price,
            gas_priority_fee: request.max_priority_fee_per_gas,
            chain_id: Some(self.node.spec().chain_id),
            access_list: request.access_list.unwrap_or_default(),
            tx_type: if request.max_fee_per_gas.is_some() { 2 } else { 0 },
            ..Default::default()
        };
        self.node.simulate(tx).map_err(|err| match err {
            SimulationError::Rejected(err) => rejected(&err),
            SimulationError::Invalid(message) => ErrorObject::owned(-32000, message, None::<()>),
            SimulationError::Evm(message) => ErrorObject::owned(-32603, message, None::<()>),
        })
    }

    fn logs(&self, filter: &Filter) -> RpcResult<Vec<RpcLog>> {
        let blocks: Vec<Block> = if let Some(hash) = filter.get_block_hash() {
            self.node.block_by_hash(&hash).map_err(internal)?.into_iter().collect()
        } else {
            let head = self.node.head().number();
            let from = filter.block_option.get_from_block().map_or(head, |tag| self.number(*tag));
            let to = filter.block_option.get_to_block().map_or(head, |tag| self.number(*tag)).min(head);
            if to >= from && to - from >= self.max_log_blocks {
                return Err(ErrorObject::owned(
                    -32005,
                    format!("query exceeds max block range {}", self.max_log_blocks),
                    None::<()>,
                ));
            }
            let mut blocks = Vec::new();
            for number in from..=to {
                if let Some(block) = self.node.block_by_number(number).map_err(internal)? {
                    blocks.push(block);
                }
            }
            blocks
        };
        Ok(blocks.iter().flat_map(|block| matching_logs(block, filter)).collect())
    }

    fn fee_history(
        &self,
        count: u64,
        newest: BlockNumberOrTag,
        percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory> {
        let newest = self.number(newest).min(self.node.head().number());
        let count = count.clamp(1, MAX_FEE_HISTORY_BLOCKS).min(newest + 1);
        let oldest = newest + 1 - count;
        let mut history = FeeHistory { oldest_block: oldest, ..Default::default() };
        let mut rewards = Vec::new();
        let mut last = None;
        for number in oldest..=newest {
            let block =
                self.node.block_by_number(number).map_err(internal)?.ok_or_else(|| internal("missing block"))?;
            let base_fee = block.header.base_fee_per_gas.unwrap_or_default();
            history.base_fee_per_gas.push(u128::from(base_fee));
            history.gas_used_ratio.push(block.header.gas_used as f64 / block.header.gas_limit as f64);
            history.base_fee_per_blob_gas.push(0);
            history.blob_gas_used_ratio.push(0.0);
            if let Some(percentiles) = &percentiles {
                rewards.push(block_rewards(&block, base_fee, percentiles));
            }
            last = Some(block);
        }
        let next = last.map_or(self.node.next_base_fee(), |block| block.next_base_fee(self.node.spec()));
        history.base_fee_per_gas.push(u128::from(next));
        history.base_fee_per_blob_gas.push(0);
        history.reward = percentiles.map(|_| rewards);
        Ok(history)
    }
}

/// The priority fee per gas at each percentile of the block's gas, as eth_feeHistory defines it.
fn block_rewards(block: &Block, base_fee: u64, percentiles: &[f64]) -> Vec<u128> {
    let mut tips: Vec<(u128, u64)> = block
        .transactions
        .iter()
        .zip(gas_used_per_tx(block))
        .map(|(tx, gas)| (tx.envelope.effective_tip_per_gas(base_fee).unwrap_or_default(), gas))
        .collect();
    tips.sort_unstable();
    percentiles
        .iter()
        .map(|percentile| {
            let threshold = (block.header.gas_used as f64 * percentile / 100.0) as u64;
            let mut cumulative = 0;
            tips.iter()
                .find(|(_, gas)| {
                    cumulative += gas;
                    cumulative >= threshold
                })
                .or(tips.last())
                .map_or(0, |(tip, _)| *tip)
        })
        .collect()
}

fn address_and_block(params: &Params<'_>) -> RpcResult<(Address, Option<BlockId>)> {
    let mut seq = params.sequence();
    Ok((seq.next()?, seq.optional_next()?))
}

fn request_and_block(params: &Params<'_>) -> RpcResult<(TransactionRequest, Option<BlockId>)> {
    let mut seq = params.sequence();
    Ok((seq.next()?, seq.optional_next()?))
}

fn reverted(output: Bytes) -> ErrorObjectOwned {
    ErrorObject::owned(3, "execution reverted", Some(output))
}

/// A refused transaction: go-ethereum's code and message.
fn rejected(err: &TxError) -> ErrorObjectOwned {
    ErrorObject::owned(err.rpc_code(), err.to_string(), None::<()>)
}

fn no_keys() -> ErrorObjectOwned {
    ErrorObject::owned(
        -32000,
        "unknown account: this node holds no keys; sign the transaction and send it with eth_sendRawTransaction",
        None::<()>,
    )
}

fn filter_error(err: FilterError) -> ErrorObjectOwned {
    ErrorObject::owned(-32000, err.to_string(), None::<()>)
}

fn transaction_at(block: &Block, index: U64) -> Option<RpcTransaction> {
    let index = usize::try_from(index.to::<u64>()).ok()?;
    (index < block.transactions.len()).then(|| rpc_transaction(block, index))
}

fn internal(err: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObject::owned(-32603, err.to_string(), None::<()>)
}
