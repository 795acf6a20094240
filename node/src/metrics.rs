//! Prometheus metrics of the node.
//!
//! Names carry their `zkr_node_` prefix in the code (the exporter has no global prefix option); units are base units
//! (`_seconds`) and latencies are histograms with explicit buckets, so they aggregate across nodes. Labels are bounded:
//! the rejection `reason` is one of [`crate::TxError::reason`]'s fixed values.

use std::net::SocketAddr;

use metrics_exporter_prometheus::{BuildError, Matcher};

/// Transactions accepted into the pool.
pub const TX_ACCEPTED: &str = "zkr_node_transactions_accepted_total";
/// Transactions refused at submission, by `reason`.
pub const TX_REJECTED: &str = "zkr_node_transactions_rejected_total";
/// Blocks produced.
pub const BLOCKS: &str = "zkr_node_blocks_total";
/// Number of the newest block.
pub const HEAD: &str = "zkr_node_head_block";
/// Time to execute, hash and store one block.
pub const BLOCK_SECONDS: &str = "zkr_node_block_production_seconds";
/// Transactions per block.
pub const BLOCK_TXS: &str = "zkr_node_block_transactions";
/// Gas used by blocks.
pub const GAS_USED: &str = "zkr_node_gas_used_total";
/// Transactions waiting in the pool.
pub const POOL: &str = "zkr_node_pool_transactions";
/// L1 deposits credited on L2.
pub const DEPOSITS: &str = "zkr_node_deposits_credited_total";

/// Records (deposits and transactions) in sealed batches.
pub const BATCH_RECORDS: &str = "zkr_node_batch_records";
/// Committed size of sealed batches (all their chunks).
pub const BATCH_BYTES: &str = "zkr_node_batch_bytes";
/// Batches seen committed on L1.
pub const BATCHES_COMMITTED: &str = "zkr_node_batches_committed_total";
/// Batch commits dropped by L1 reorgs.
pub const BATCH_REORGS: &str = "zkr_node_batch_reorgs_total";
/// L1 gas used by batch commits.
pub const L1_GAS: &str = "zkr_node_l1_gas_used_total";

/// Outputs proposed (optimistic mode).
pub const OUTPUTS_PROPOSED: &str = "zkr_node_outputs_proposed_total";
/// Outputs that became final, by `proven` (true when a validity proof settled a challenge).
pub const OUTPUTS_FINALIZED: &str = "zkr_node_outputs_finalized_total";
/// Outputs this proposer saw lost to a challenge.
pub const OUTPUTS_LOST: &str = "zkr_node_outputs_lost_total";
/// Time from an output's proposal to its finality, in L1 time.
pub const OUTPUT_FINALITY_SECONDS: &str = "zkr_node_output_finality_seconds";

/// Every metric the node exports (the dashboard check reads this list).
pub const ALL: &[&str] = &[
    TX_ACCEPTED,
    TX_REJECTED,
    BLOCKS,
    HEAD,
    BLOCK_SECONDS,
    BLOCK_TXS,
    GAS_USED,
    POOL,
    DEPOSITS,
    BATCH_RECORDS,
    BATCH_BYTES,
    BATCHES_COMMITTED,
    BATCH_REORGS,
    L1_GAS,
    OUTPUTS_PROPOSED,
    OUTPUTS_FINALIZED,
    OUTPUTS_LOST,
    OUTPUT_FINALITY_SECONDS,
];

/// Serves the metrics at `http://addr/metrics`. Must be called inside a tokio runtime.
pub fn install_prometheus(addr: SocketAddr) -> Result<(), BuildError> {
    const LATENCY: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
    const TXS: &[f64] = &[0.0, 1.0, 10.0, 100.0, 500.0, 1000.0, 5000.0, 10000.0];
    // From a devnet's seconds-long window to the default one-day window plus a three-day proving window.
    const FINALITY: &[f64] = &[10.0, 30.0, 60.0, 300.0, 3600.0, 21_600.0, 86_400.0, 172_800.0, 345_600.0];
    zkr_cli::install_metrics(
        Some(addr),
        &[
            (Matcher::Full(OUTPUT_FINALITY_SECONDS.into()), FINALITY),
            (Matcher::Full(BLOCK_SECONDS.into()), LATENCY),
            (Matcher::Full(BLOCK_TXS.into()), TXS),
        ],
    )?;
    describe();
    Ok(())
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(TX_ACCEPTED, "Transactions accepted into the pool");
    describe_counter!(TX_REJECTED, "Transactions refused at submission, by reason");
    describe_counter!(BLOCKS, "Blocks produced");
    describe_gauge!(HEAD, "Number of the newest block");
    describe_histogram!(BLOCK_SECONDS, metrics::Unit::Seconds, "Time to execute, hash and store a block");
    describe_histogram!(BLOCK_TXS, "Transactions per block");
    describe_counter!(GAS_USED, "Gas used by produced blocks");
    describe_gauge!(POOL, "Transactions waiting in the pool");
    describe_counter!(DEPOSITS, "L1 deposits credited on L2");
    describe_histogram!(BATCH_RECORDS, "Records (deposits and transactions) in sealed batches");
    describe_histogram!(BATCH_BYTES, metrics::Unit::Bytes, "Committed size of sealed batches (all their chunks)");
    describe_counter!(BATCHES_COMMITTED, "Batches seen committed on L1");
    describe_counter!(BATCH_REORGS, "Batch commits dropped by L1 reorgs");
    describe_counter!(L1_GAS, "L1 gas used by batch commits");
    describe_counter!(OUTPUTS_PROPOSED, "Outputs proposed to the OptimisticRollup");
    describe_counter!(OUTPUTS_FINALIZED, "Outputs that became final, by whether a validity proof settled them");
    describe_counter!(OUTPUTS_LOST, "Outputs of this proposer lost to a challenge");
    describe_histogram!(OUTPUT_FINALITY_SECONDS, metrics::Unit::Seconds, "Time from proposal to finality (L1 time)");
}
