//! Conversions from the node's blocks to the JSON-RPC types (alloy's `rpc-types`).

use alloy::{
    consensus::{
        Receipt, ReceiptEnvelope, ReceiptWithBloom, Sealed, Transaction as _, TxType,
        transaction::{Recovered, TransactionInfo},
    },
    eips::Typed2718,
    rpc::types::{
        Block as RpcBlock, BlockTransactions, Filter, Header as RpcHeader, Log as RpcLog,
        Transaction as RpcTransaction, TransactionReceipt,
    },
};

use crate::{Block, PooledTx};

pub(super) fn gas_used_per_tx(block: &Block) -> Vec<u64> {
    let mut previous = 0;
    block
        .receipts
        .iter()
        .map(|receipt| {
            let cumulative = receipt.cumulative_gas_used();
            let used = cumulative - previous;
            previous = cumulative;
            used
        })
        .collect()
}

pub(super) fn rpc_block(block: &Block, full: bool) -> RpcBlock {
    let header = rpc_header(block);
    let transactions = if full {
        BlockTransactions::Full((0..block.transactions.len()).map(|index| rpc_transaction(block, index)).collect())
    } else {
        BlockTransactions::Hashes(block.transactions.iter().map(|tx| *tx.envelope.tx_hash()).collect())
    };
    RpcBlock::new(header, transactions)
}

pub(super) fn rpc_transaction(block: &Block, index: usize) -> RpcTransaction {
    let tx = &block.transactions[index];
    RpcTransaction::from_transaction(
        Recovered::new_unchecked(tx.envelope.clone(), tx.sender),
        TransactionInfo {
            hash: Some(*tx.envelope.tx_hash()),
            index: Some(index as u64),
            block_hash: Some(block.hash),
            block_number: Some(block.number()),
            base_fee: block.header.base_fee_per_gas,
            block_timestamp: Some(block.header.timestamp),
        },
    )
}

pub(super) fn rpc_log(block: &Block, tx_index: usize, log_index: u64, log: alloy::primitives::Log) -> RpcLog {
    RpcLog {
        inner: log,
        block_hash: Some(block.hash),
        block_number: Some(block.number()),
        block_timestamp: Some(block.header.timestamp),
        transaction_hash: Some(*block.transactions[tx_index].envelope.tx_hash()),
        transaction_index: Some(tx_index as u64),
        log_index: Some(log_index),
        removed: false,
    }
}

pub(super) fn rpc_receipt(block: &Block, index: usize) -> TransactionReceipt {
    let tx = &block.transactions[index];
    let receipt = &block.receipts[index];
    let gas_used = gas_used_per_tx(block)[index];
    let first_log_index: usize = block.receipts[..index].iter().map(|r| r.logs().len()).sum();
    let logs = receipt
        .logs()
        .iter()
        .enumerate()
        .map(|(i, log)| rpc_log(block, index, (first_log_index + i) as u64, log.clone()))
        .collect();
    let inner = ReceiptEnvelope::from_typed(
        TxType::try_from(tx.envelope.ty()).unwrap_or(TxType::Legacy),
        ReceiptWithBloom {
            receipt: Receipt {
                status: receipt.status().into(),
                cumulative_gas_used: receipt.cumulative_gas_used(),
                logs,
            },
            logs_bloom: *receipt.logs_bloom(),
        },
    );
    TransactionReceipt {
        inner,
        transaction_hash: *tx.envelope.tx_hash(),
        transaction_index: Some(index as u64),
        block_hash: Some(block.hash),
        block_number: Some(block.number()),
        gas_used,
        effective_gas_price: tx.envelope.effective_gas_price(block.header.base_fee_per_gas),
        blob_gas_used: None,
        blob_gas_price: None,
        from: tx.sender,
        to: tx.envelope.to(),
        contract_address: None,
    }
}

/// A pooled transaction, not yet in a block.
pub(super) fn rpc_pending_transaction(tx: &PooledTx) -> RpcTransaction {
    RpcTransaction::from_transaction(
        Recovered::new_unchecked(tx.envelope.clone(), tx.sender),
        TransactionInfo { hash: Some(tx.hash), ..Default::default() },
    )
}

/// Every receipt of the block, in order.
pub(super) fn rpc_receipts(block: &Block) -> Vec<TransactionReceipt> {
    (0..block.transactions.len()).map(|index| rpc_receipt(block, index)).collect()
}

/// The block's logs that match `filter` (its addresses and topics; its block range is the caller's business).
pub(super) fn matching_logs(block: &Block, filter: &Filter) -> Vec<RpcLog> {
    let mut out = Vec::new();
    if !filter.matches_bloom(block.header.logs_bloom) {
        return out;
    }
    let mut log_index = 0u64;
    for (index, receipt) in block.receipts.iter().enumerate() {
        for log in receipt.logs() {
            if filter.matches(log) {
                out.push(rpc_log(block, index, log_index, log.clone()));
            }
            log_index += 1;
        }
    }
    out
}

/// The block's header as `eth_subscribe("newHeads")` sends it.
pub(super) fn rpc_header(block: &Block) -> RpcHeader {
    RpcHeader::from_consensus(Sealed::new_unchecked(block.header.clone(), block.hash), None, None)
}
