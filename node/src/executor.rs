//! Executes a block's transactions with revm over the account tree.
//!
//! revm reads accounts through [`TreeDb`] and each transaction's changes are written back to the tree at once, in a
//! canonical order: the sender, the recipient, the fee recipient, then any other touched account by address. The
//! order matters because a new account's leaf index (and so the root) depends on when it was inserted; the chunk
//! circuit replays the same order (`zkr_protocol::witness`). Following EIP-161, an account that ends a transaction
//! empty and had no leaf gets none (a zero-value transfer to a fresh address creates nothing).
//!
//! A withdrawal (a successful transfer of a non-zero value to [`WITHDRAWAL_ADDRESS`]) credits no account: in the
//! recipient's place the withdrawal counter's leaf is written with its nonce raised by one and its balance unchanged,
//! and the withdrawal is numbered with the counter's value before the increment.

use std::collections::HashSet;

use alloy::{
    consensus::{Eip658Value, Receipt, ReceiptEnvelope, Transaction, TxEnvelope, TxType},
    eips::Typed2718,
    primitives::{Address, B256, Log, U256},
};
use revm::{
    Context, ExecuteEvm, MainBuilder, MainContext,
    bytecode::Bytecode,
    context::{BlockEnv, CfgEnv, TxEnv},
    context_interface::result::{EVMError, ExecutionResult, InvalidTransaction},
    database_interface::DatabaseRef,
    primitives::{KECCAK_EMPTY, hardfork::SpecId},
    state::{AccountInfo, EvmState},
};
use zkr_state::{Account, AccountTree};

use zkr_protocol::hashes::Withdrawal;

use crate::{ChainSpec, PooledTx, TxError, WITHDRAWAL_ADDRESS};

/// The hard fork rules the node executes under. Prague rather than revm's default Osaka: Osaka's per-transaction gas
/// cap (EIP-7825) is not part of the rules the proof states.
pub const SPEC_ID: SpecId = SpecId::PRAGUE;

/// The environment of the block being built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockContext {
    /// Block number.
    pub number: u64,
    /// Block timestamp, in seconds.
    pub timestamp: u64,
    /// Base fee per gas.
    pub base_fee: u64,
}

/// A transaction included in the block, with its receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutedTx {
    /// The transaction.
    pub tx: PooledTx,
    /// Its receipt (status, cumulative gas, logs, bloom).
    pub receipt: ReceiptEnvelope<Log>,
    /// Gas it used.
    pub gas_used: u64,
    /// Price per gas it paid: `min(max_fee, base_fee + tip)`.
    pub effective_gas_price: u128,
}

/// A transaction that could not be included, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedTx {
    /// The transaction.
    pub tx: PooledTx,
    /// Why: it no longer fits the block, or it became invalid (its nonce or balance changed).
    pub reason: SkipReason,
}

/// Why a transaction was left out of a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The block has no room left for it (gas, or withdrawals), or an earlier transaction of its sender was left
    /// for the next block; it stays in the pool for the next block.
    BlockFull,
    /// It can never be included now; the pool drops it.
    Invalid(String),
}

/// A withdrawal made by a transaction of the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawalRecord {
    /// The withdrawal, as the Portal will pay it.
    pub withdrawal: Withdrawal,
    /// The transaction that made it.
    pub tx_hash: B256,
}

/// The result of executing a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockExecution {
    /// Included transactions in order.
    pub executed: Vec<ExecutedTx>,
    /// Withdrawals made by them, in order, numbered by the withdrawal counter.
    pub withdrawals: Vec<WithdrawalRecord>,
    /// Transactions left out.
    pub skipped: Vec<SkippedTx>,
    /// Total gas used.
    pub gas_used: u64,
}

/// Errors that stop block execution altogether (a transaction's own failure never does).
#[derive(Debug, thiserror::Error)]
pub enum ExecutionError {
    /// The state tree refused a write.
    #[error(transparent)]
    State(#[from] zkr_state::Error),
    /// revm failed for a reason other than the transaction being invalid.
    #[error("evm: {0}")]
    Evm(String),
    /// The tree has no withdrawal counter leaf: it was not built by [`ChainSpec::genesis_state`].
    #[error("the state has no withdrawal counter leaf ({WITHDRAWAL_ADDRESS})")]
    NoWithdrawalCounter,
}

/// Executes `txs` in order on top of `tree`, skipping those that do not fit or are no longer valid, and writes every
/// included transaction's changes to the tree. Withdrawals are numbered by the counter in the tree (the nonce of
/// [`WITHDRAWAL_ADDRESS`]'s leaf), which each one increments.
pub fn execute_block(
    tree: &mut AccountTree,
    spec: &ChainSpec,
    block: &BlockContext,
    txs: impl IntoIterator<Item = PooledTx>,
) -> Result<BlockExecution, ExecutionError> {
    let mut out = BlockExecution { executed: Vec::new(), withdrawals: Vec::new(), skipped: Vec::new(), gas_used: 0 };
    // Senders with a transaction left for the next block: their later nonces wait too (executing them now would
    // find a nonce gap and drop them as invalid).
    let mut deferred: HashSet<Address> = HashSet::new();
    let mut to_withdrawal_address = 0usize;
    for tx in txs {
        let to_counter = tx.envelope.to() == Some(WITHDRAWAL_ADDRESS);
        if deferred.contains(&tx.sender)
            || out.gas_used + tx.envelope.gas_limit() > spec.block_gas_limit
            || (to_counter && to_withdrawal_address >= spec.max_block_withdrawals)
        {
            deferred.insert(tx.sender);
            out.skipped.push(SkippedTx { tx, reason: SkipReason::BlockFull });
            continue;
        }
        let (result, changes) = match transact(tree, spec, block, tx_env(&tx)) {
            Ok(outcome) => outcome,
            Err(EVMError::Transaction(invalid)) => {
                out.skipped.push(SkippedTx { tx, reason: SkipReason::Invalid(invalid.to_string()) });
                continue;
            }
            Err(err) => return Err(ExecutionError::Evm(err.to_string())),
        };
        to_withdrawal_address += usize::from(to_counter);
        let success = result.is_success();
        let withdraws = success && to_counter && !tx.envelope.value().is_zero();
        let withdrawal_nonce = apply_changes(tree, &tx, spec.fee_recipient, changes, withdraws)?;
        if let Some(nonce) = withdrawal_nonce {
            let withdrawal = Withdrawal { nonce, from: tx.sender, to: tx.sender, value: tx.envelope.value() };
            out.withdrawals.push(WithdrawalRecord { withdrawal, tx_hash: tx.hash });
        }

        let gas_used = result.tx_gas_used();
        out.gas_used += gas_used;
        let logs = match result {
            ExecutionResult::Success { logs, .. } => logs,
            _ => Vec::new(),
        };
        let receipt = Receipt { status: Eip658Value::Eip658(success), cumulative_gas_used: out.gas_used, logs };
        let tx_type = TxType::try_from(tx.envelope.ty()).unwrap_or(TxType::Legacy);
        let effective_gas_price = tx.envelope.effective_gas_price(Some(block.base_fee));
        out.executed.push(ExecutedTx {
            receipt: ReceiptEnvelope::from_typed(tx_type, receipt.with_bloom()),
            tx,
            gas_used,
            effective_gas_price,
        });
    }
    Ok(out)
}

fn tx_env(tx: &PooledTx) -> TxEnv {
    let envelope: &TxEnvelope = &tx.envelope;
    TxEnv {
        tx_type: envelope.ty(),
        caller: tx.sender,
        gas_limit: envelope.gas_limit(),
        gas_price: envelope.max_fee_per_gas(),
        gas_priority_fee: envelope.max_priority_fee_per_gas(),
        kind: envelope.kind(),
        value: envelope.value(),
        data: envelope.input().clone(),
        nonce: envelope.nonce(),
        chain_id: envelope.chain_id(),
        access_list: envelope.access_list().cloned().unwrap_or_default(),
        ..Default::default()
    }
}

/// Writes a transaction's state changes to the tree in the canonical order (see the module docs). When the
/// transaction `withdraws`, the withdrawal counter is incremented in the recipient's place and its value before the
/// increment (the withdrawal's number) is returned.
fn apply_changes(
    tree: &mut AccountTree,
    tx: &PooledTx,
    fee_recipient: Address,
    mut changes: EvmState,
    withdraws: bool,
) -> Result<Option<u64>, ExecutionError> {
    let mut order = vec![tx.sender];
    if let Some(to) = tx.envelope.to() {
        order.push(to);
    }
    order.push(fee_recipient);
    let mut rest: Vec<Address> = changes.keys().filter(|address| !order.contains(address)).copied().collect();
    rest.sort();
    order.extend(rest);

    let mut withdrawal_nonce = None;
    for address in order {
        let change = changes.remove(&address);
        if address == WITHDRAWAL_ADDRESS {
            // Value sent to the withdrawal address leaves L2: revm's credit to it is dropped. A withdrawal (the
            // transaction's own transfer, always in the recipient's position) counts itself instead.
            if withdraws {
                let counter = tree.get(&WITHDRAWAL_ADDRESS).copied().ok_or(ExecutionError::NoWithdrawalCounter)?;
                tree.set(WITHDRAWAL_ADDRESS, Account { nonce: counter.nonce + 1, ..counter })?;
                withdrawal_nonce = Some(counter.nonce);
            }
            continue;
        }
        let Some(change) = change.filter(|change| change.is_touched()) else { continue };
        let account = Account { nonce: change.info.nonce, balance: change.info.balance };
        let known = tree.get(&address).copied();
        if known == Some(account) || (known.is_none() && account == Account::default()) {
            continue;
        }
        tree.set(address, account)?;
    }
    Ok(withdrawal_nonce)
}

/// The account tree seen through revm's read interface: accounts have no code and no storage.
#[derive(Debug)]
pub struct TreeDb<'a>(pub &'a AccountTree);

impl DatabaseRef for TreeDb<'_> {
    type Error = std::convert::Infallible;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        Ok(self.0.get(&address).map(|account| AccountInfo {
            nonce: account.nonce,
            balance: account.balance,
            code_hash: KECCAK_EMPTY,
            code: Some(Bytecode::default()),
            ..Default::default()
        }))
    }

    fn code_by_hash_ref(&self, _code_hash: B256) -> Result<Bytecode, Self::Error> {
        Ok(Bytecode::default())
    }

    fn storage_ref(&self, _address: Address, _index: U256) -> Result<U256, Self::Error> {
        Ok(U256::ZERO)
    }

    fn block_hash_ref(&self, _number: u64) -> Result<B256, Self::Error> {
        Ok(B256::ZERO)
    }
}

/// Runs one transaction against `tree` without changing it (`eth_call`, `eth_estimateGas`).
pub fn simulate(
    tree: &AccountTree,
    spec: &ChainSpec,
    block: &BlockContext,
    tx: TxEnv,
) -> Result<SimulationOutcome, SimulationError> {
    let (caller, max_fee) = (tx.caller, tx.gas_price);
    match transact(tree, spec, block, tx) {
        Ok((result, _)) => Ok(result.into()),
        Err(EVMError::Transaction(invalid)) => Err(match rejection(invalid, caller, max_fee, block.base_fee) {
            Ok(rejected) => SimulationError::Rejected(rejected),
            Err(other) => SimulationError::Invalid(other),
        }),
        Err(err) => Err(SimulationError::Evm(err.to_string())),
    }
}

/// revm's reason for refusing a transaction as the node's admission would word it (go-ethereum's messages, which
/// client libraries match); the reasons admission has no word for come back as revm's text.
fn rejection(invalid: InvalidTransaction, sender: Address, max_fee: u128, base_fee: u64) -> Result<TxError, String> {
    Ok(match invalid {
        InvalidTransaction::LackOfFundForMaxFee { fee, balance } => {
            TxError::InsufficientFunds { balance: *balance, cost: *fee }
        }
        InvalidTransaction::CallGasCostMoreThanGasLimit { initial_gas, gas_limit } => {
            TxError::IntrinsicGasTooLow { gas: gas_limit, minimum: initial_gas }
        }
        InvalidTransaction::GasFloorMoreThanGasLimit { gas_floor, gas_limit } => {
            TxError::IntrinsicGasTooLow { gas: gas_limit, minimum: gas_floor }
        }
        InvalidTransaction::GasPriceLessThanBasefee => TxError::FeeCapTooLow { sender, max_fee, base_fee },
        InvalidTransaction::PriorityFeeGreaterThanMaxFee => TxError::TipAboveFeeCap,
        InvalidTransaction::CallerGasLimitMoreThanBlock => TxError::ExceedsBlockGasLimit,
        InvalidTransaction::NonceTooLow { tx, state } => TxError::NonceTooLow { next: state, nonce: tx },
        other => return Err(other.to_string()),
    })
}

/// Runs `tx` with revm on the block's environment, reading `tree`, and returns the result with the state changes
/// (applied by the caller, or not at all).
fn transact(
    tree: &AccountTree,
    spec: &ChainSpec,
    block: &BlockContext,
    tx: TxEnv,
) -> Result<(ExecutionResult, EvmState), EVMError<std::convert::Infallible>> {
    let block_env = BlockEnv {
        number: U256::from(block.number),
        timestamp: U256::from(block.timestamp),
        basefee: block.base_fee,
        beneficiary: spec.fee_recipient,
        gas_limit: spec.block_gas_limit,
        ..Default::default()
    };
    let mut cfg = CfgEnv::new_with_spec(SPEC_ID);
    cfg.chain_id = spec.chain_id;
    let mut evm = Context::mainnet().with_ref_db(TreeDb(tree)).with_block(block_env).with_cfg(cfg).build_mainnet();
    evm.transact(tx).map(|outcome| (outcome.result, outcome.state))
}

/// What a simulated call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimulationOutcome {
    /// It succeeded.
    Success {
        /// Returned data.
        output: alloy::primitives::Bytes,
        /// Gas it used.
        gas_used: u64,
    },
    /// It reverted.
    Revert {
        /// Revert data.
        output: alloy::primitives::Bytes,
    },
    /// It halted (out of gas, invalid opcode, ...).
    Halt {
        /// Why.
        reason: String,
    },
}

impl From<ExecutionResult> for SimulationOutcome {
    fn from(result: ExecutionResult) -> Self {
        let gas_used = result.tx_gas_used();
        match result {
            ExecutionResult::Success { output, .. } => Self::Success { output: output.into_data(), gas_used },
            ExecutionResult::Revert { output, .. } => Self::Revert { output },
            ExecutionResult::Halt { reason, .. } => Self::Halt { reason: format!("{reason:?}") },
        }
    }
}

/// Why a simulated call could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimulationError {
    /// The call is not a valid transaction, for a reason admission also refuses (funds, intrinsic gas, fee cap,
    /// nonce): worded as `eth_sendRawTransaction` words it.
    #[error(transparent)]
    Rejected(#[from] TxError),
    /// The call is not a valid transaction for another reason (revm's words).
    #[error("{0}")]
    Invalid(String),
    /// revm failed.
    #[error("evm: {0}")]
    Evm(String),
}
