//! L1 gas of batch proof verification, the deployable verifier (one contract when it fits, else split) against the
//! whole generated one, in one run.
//!
//! ```text
//! cargo run -p zkr-e2e --example verifier_gas -- target/zkr-bench/aggregation_n1 [target/zkr-bench/aggregation_n2 ...]
//! ```
//!
//! Each folder holds `verifier.sol` (the generated verifier) and `proof.json` (a batch proof), as the proving
//! benchmark (`cargo bench -p zkr-prover --bench proving`) writes them. For each, on anvil: the verifier compiled in
//! the fewest parts that fit the code size limit (`zkr_circuits::evm::compile_to_fit`: what mainnet can deploy) behind
//! `BatchVerifier`, and the whole verifier behind a one-part `BatchVerifier`
//! (anvil started with `--code-size-limit`, as mainnet would refuse it). Printed: the code sizes and the gas of a
//! transaction calling `BatchVerifier.verify` with the proof (the Rollup's `finalizeBatch` adds its own checks, about
//! 120,000 gas, on top).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;

use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    primitives::{Address, Bytes, U256},
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use zkr_circuits::verifier::BatchProof;
use zkr_contracts::{BatchVerifier, deploy_batch_verifier};
use zkr_devtools::Anvil;

#[tokio::main(flavor = "current_thread")]
async fn main() -> eyre::Result<()> {
    let dirs: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    if dirs.is_empty() {
        eyre::bail!("usage: verifier_gas <folder with verifier.sol and proof.json>...");
    }
    // Whole verifiers are over the mainnet limit; this anvil accepts them. The parts are checked against the limit
    // by deploy_batch_verifier itself.
    let anvil = Anvil::new().arg("--code-size-limit").arg("1000000").spawn()?;
    let signer: PrivateKeySigner = anvil.private_keys()[0].parse()?;
    let from = signer.address();
    let l1 = ProviderBuilder::new().wallet(EthereumWallet::from(signer)).connect_http(anvil.endpoint().parse()?);

    println!("| batch proof | verifier | runtime code (bytes) | `verify` transaction gas | ratio |");
    println!("|---|---|---|---:|---:|");
    for dir in dirs {
        let source = std::fs::read_to_string(dir.join("verifier.sol"))?;
        let proof: BatchProof = serde_json::from_slice(&std::fs::read(dir.join("proof.json"))?)?;
        let inputs = proof.batch_inputs();
        let rollup_proof = Bytes::from(proof.rollup_proof_bytes());

        let part_codes: Vec<Bytes> = zkr_circuits::evm::compile_to_fit(&source, |part| {
            zkr_e2e::compile_generated_verifier(part).map(|code| code.to_vec())
        })?
        .into_iter()
        .map(Bytes::from)
        .collect();
        let split = deploy_batch_verifier(&l1, from, &part_codes, inputs.len()).await?;
        let mut sizes = Vec::new();
        for part in &split.parts {
            sizes.push(l1.get_code_at(*part).await?.len().to_string());
        }

        let whole_code = zkr_e2e::compile_generated_verifier(&source)?;
        let receipt = l1
            .send_transaction(TransactionRequest::default().from(from).with_deploy_code(whole_code))
            .await?
            .get_receipt()
            .await?;
        let whole_part = receipt.contract_address.expect("deployed");
        let whole_size = l1.get_code_at(whole_part).await?.len();
        let whole = BatchVerifier::deploy(&l1, vec![whole_part], U256::from(inputs.len())).await?;

        let split_gas = verify_gas(&l1, split.verifier, &inputs, &rollup_proof).await?;
        let whole_gas = verify_gas(&l1, *whole.address(), &inputs, &rollup_proof).await?;
        let label = format!("{} chunk(s), {} public inputs", (inputs.len() - 6) / 4, inputs.len());
        println!(
            "| {label} | deployable, {} part(s) | {} | {split_gas} | {:.3} |",
            sizes.len(),
            sizes.join(" + "),
            split_gas as f64 / whole_gas as f64
        );
        let whole_label =
            if whole_size > zkr_circuits::evm::MAX_CODE_SIZE { "whole (over the limit)" } else { "whole" };
        println!("| {label} | {whole_label} | {whole_size} | {whole_gas} | 1.000 |");
    }
    Ok(())
}

/// Gas of a transaction calling `verify`, after checking that the call returns true.
async fn verify_gas<P: Provider>(l1: &P, verifier: Address, inputs: &[U256], proof: &Bytes) -> eyre::Result<u64> {
    let verifier = BatchVerifier::new(verifier, l1);
    let call = verifier.verify(inputs.to_vec(), proof.clone());
    eyre::ensure!(call.call().await?, "the proof does not verify");
    let receipt = call.gas(10_000_000).send().await?.get_receipt().await?;
    eyre::ensure!(receipt.status(), "verify reverted");
    Ok(receipt.gas_used)
}
