//! Blocks as the node stores and serves them.

use alloy::{
    consensus::{
        Header, ReceiptEnvelope, TxEnvelope,
        proofs::{calculate_receipt_root, calculate_transaction_root},
    },
    eips::eip1559::{BaseFeeParams, calc_next_block_base_fee},
    primitives::{Address, B256, Bloom, Log},
};
use serde::{Deserialize, Serialize};

use zkr_protocol::hashes::WithdrawalTree;

use crate::{BlockContext, BlockExecution, ChainSpec, Deposit, WithdrawalRecord};

/// A transaction in a block, with its sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockTx {
    /// The signed transaction.
    pub envelope: TxEnvelope,
    /// Its sender.
    pub sender: Address,
}

/// A sealed block: header, hash, transactions and their receipts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// The header; `state_root` is the Poseidon root of the account tree.
    pub header: Header,
    /// keccak256 of the RLP-encoded header.
    pub hash: B256,
    /// Transactions in order.
    pub transactions: Vec<BlockTx>,
    /// One receipt per transaction.
    pub receipts: Vec<ReceiptEnvelope<Log>>,
    /// L1 deposits credited at the start of this block, in queue order.
    pub deposits: Vec<Deposit>,
    /// Deposits credited up to and including this block.
    pub deposit_count: u64,
    /// The deposit hash chain value after this block (also the header's `mix_hash`).
    pub deposit_hash: B256,
    /// Withdrawals made in this block, in order.
    pub withdrawals: Vec<WithdrawalRecord>,
    /// Withdrawals made up to and including this block.
    pub withdrawal_count: u64,
    /// Root of this block's withdrawal tree (the Portal's format).
    pub withdrawal_root: B256,
}

impl Block {
    /// The genesis block of `spec` whose state has root `state_root`.
    pub fn genesis(spec: &ChainSpec, state_root: B256) -> Self {
        let header = Header {
            beneficiary: spec.fee_recipient,
            state_root,
            number: 0,
            gas_limit: spec.block_gas_limit,
            timestamp: spec.genesis_timestamp,
            base_fee_per_gas: Some(spec.initial_base_fee),
            ..Default::default()
        };
        Self::seal(header, Vec::new(), Vec::new(), Vec::new(), 0, Vec::new(), 0)
    }

    /// The block built on `parent` from an execution, with the state root after it.
    pub fn build(
        spec: &ChainSpec,
        parent: &Self,
        context: &BlockContext,
        deposits: Vec<Deposit>,
        execution: &BlockExecution,
        state_root: B256,
    ) -> Self {
        let transactions: Vec<BlockTx> = execution
            .executed
            .iter()
            .map(|e| BlockTx { envelope: e.tx.envelope.clone(), sender: e.tx.sender })
            .collect();
        let receipts: Vec<ReceiptEnvelope<Log>> = execution.executed.iter().map(|e| e.receipt.clone()).collect();
        let envelopes: Vec<TxEnvelope> = transactions.iter().map(|tx| tx.envelope.clone()).collect();
        let mut logs_bloom = Bloom::ZERO;
        for receipt in &receipts {
            logs_bloom.accrue_bloom(receipt.logs_bloom());
        }
        let header = Header {
            parent_hash: parent.hash,
            beneficiary: spec.fee_recipient,
            state_root,
            transactions_root: calculate_transaction_root(&envelopes),
            receipts_root: calculate_receipt_root(&receipts),
            logs_bloom,
            number: context.number,
            gas_limit: spec.block_gas_limit,
            gas_used: execution.gas_used,
            timestamp: context.timestamp,
            base_fee_per_gas: Some(context.base_fee),
            mix_hash: deposits.last().map_or(parent.deposit_hash, |deposit| deposit.queue_hash),
            ..Default::default()
        };
        let deposit_count = parent.deposit_count + deposits.len() as u64;
        let withdrawal_count = parent.withdrawal_count + execution.withdrawals.len() as u64;
        Self::seal(
            header,
            transactions,
            receipts,
            deposits,
            deposit_count,
            execution.withdrawals.clone(),
            withdrawal_count,
        )
    }

    fn seal(
        header: Header,
        transactions: Vec<BlockTx>,
        receipts: Vec<ReceiptEnvelope<Log>>,
        deposits: Vec<Deposit>,
        deposit_count: u64,
        withdrawals: Vec<WithdrawalRecord>,
        withdrawal_count: u64,
    ) -> Self {
        let hash = header.hash_slow();
        let deposit_hash = header.mix_hash;
        let withdrawal_root = withdrawal_tree(&withdrawals).root();
        Self {
            header,
            hash,
            transactions,
            receipts,
            deposits,
            deposit_count,
            deposit_hash,
            withdrawals,
            withdrawal_count,
            withdrawal_root,
        }
    }

    /// This block's withdrawal tree.
    pub fn withdrawal_tree(&self) -> WithdrawalTree {
        withdrawal_tree(&self.withdrawals)
    }

    /// The block number.
    pub const fn number(&self) -> u64 {
        self.header.number
    }

    /// The base fee of the block after this one: EIP-1559's update, floored at the chain's minimum.
    pub fn next_base_fee(&self, spec: &ChainSpec) -> u64 {
        let base_fee = self.header.base_fee_per_gas.unwrap_or(spec.initial_base_fee);
        calc_next_block_base_fee(self.header.gas_used, self.header.gas_limit, base_fee, BaseFeeParams::ethereum())
            .max(spec.min_base_fee)
    }
}

fn withdrawal_tree(withdrawals: &[WithdrawalRecord]) -> WithdrawalTree {
    WithdrawalTree::new(withdrawals.iter().map(|record| record.withdrawal.leaf()))
}
