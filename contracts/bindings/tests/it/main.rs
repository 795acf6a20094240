//! End to end against a real L1: anvil from the project's toolchain, the contracts deployed by `deploy_l1` and by
//! the `zkr-deploy` command, and the bridge and batch flows checked through events and contract storage.

#![allow(clippy::unwrap_used)]

use alloy::{
    network::EthereumWallet,
    primitives::{Address, B256, Bytes, U256, keccak256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionReceipt,
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use zkr_contracts::{DeployConfig, Deployment, Error, Portal, ProofShape, Rollup, deploy_l1};

const DEFAULT_CHUNKS_PER_BATCH: usize = ProofShape::DEFAULT.chunks_per_batch;
use zkr_devtools::{Anvil, AnvilInstance};
use zkr_protocol::hashes::{
    self as protocol, WithdrawalTree, batch_data_hash, batch_data_hash_from_chunk_hashes, batch_hash,
    deposit_queue_hash, genesis_batch_hash, withdrawal_zero_hashes,
};

/// A test L1: anvil plus one signing provider per funded development account.
struct L1 {
    anvil: AnvilInstance,
    signers: Vec<PrivateKeySigner>,
}

impl L1 {
    fn start() -> Self {
        let anvil = Anvil::new().spawn().expect("anvil starts (run scripts/setup.sh first)");
        let signers = anvil.private_keys().iter().map(|key| key.parse().unwrap()).collect();
        Self { anvil, signers }
    }

    fn account(&self, index: usize) -> Address {
        self.signers[index].address()
    }

    fn provider(&self, index: usize) -> DynProvider {
        ProviderBuilder::new()
            .wallet(EthereumWallet::from(self.signers[index].clone()))
            .connect_http(self.anvil.endpoint().parse().unwrap())
            .erased()
    }
}

fn genesis_root() -> B256 {
    // Any field element works for the contracts; the node's genesis root is wired in by the node.
    B256::from(U256::from(0x1234_5678_u64))
}

async fn deploy(l1: &L1) -> Deployment {
    let mut config = DeployConfig::new(genesis_root());
    config.sequencers = vec![l1.account(0)];
    config.provers = vec![l1.account(0)];
    deploy_l1(&l1.provider(0), l1.account(0), &config).await.expect("deploys")
}

/// Root of a subtree of height `height` whose leaves are `leaves` (exactly `2^height` of them), pair by pair.
fn subtree_root(mut level: Vec<B256>, height: usize) -> B256 {
    assert_eq!(level.len(), 1 << height);
    while level.len() > 1 {
        level = level.chunks(2).map(|pair| protocol::withdrawal_node(pair[0], pair[1])).collect();
    }
    level[0]
}

fn event<E: SolEvent>(receipt: &TransactionReceipt) -> E {
    receipt
        .logs()
        .iter()
        .find_map(|log| log.log_decode::<E>().ok())
        .map(|log| log.inner.data)
        .unwrap_or_else(|| panic!("receipt has no {} event", E::SIGNATURE))
}

#[tokio::test]
async fn deploys_deposits_and_commits_a_batch() {
    let l1 = L1::start();
    let deployment = deploy(&l1).await;
    assert_eq!(deployment.chain_id, l1.anvil.chain_id());
    assert_eq!(deployment.owner, l1.account(0));
    assert!(deployment.deployment_block >= 1);

    let sequencer = l1.provider(0);
    let rollup = Rollup::new(deployment.rollup, &sequencer);
    assert_eq!(rollup.depositQueue().call().await.unwrap(), deployment.portal);
    assert_eq!(rollup.owner().call().await.unwrap(), l1.account(0));
    assert!(rollup.isSequencer(l1.account(0)).call().await.unwrap());
    assert!(!rollup.isSequencer(l1.account(1)).call().await.unwrap());
    assert_eq!(rollup.stateRoots(U256::ZERO).call().await.unwrap(), genesis_root());
    assert_eq!(rollup.lastFinalizedBatch().call().await.unwrap(), 0);
    assert_eq!(rollup.batches(0).call().await.unwrap().batchHash, genesis_batch_hash());

    // A user deposits from account 1 to an L2 address.
    let user = l1.provider(1);
    let portal = Portal::new(deployment.portal, &user);
    assert_eq!(portal.rollup().call().await.unwrap(), deployment.rollup);
    let to = Address::repeat_byte(0x42);
    let value = U256::from(10u64.pow(18));
    let receipt = portal.depositETH(to).value(value).send().await.unwrap().get_receipt().await.unwrap();
    assert!(receipt.status());
    let deposit: Portal::DepositQueued = event(&receipt);
    let expected_hash = deposit_queue_hash(B256::ZERO, 0, l1.account(1), to, value);
    assert_eq!(
        (deposit.nonce, deposit.from, deposit.to, deposit.value, deposit.queueHash),
        (0, l1.account(1), to, value, expected_hash)
    );
    assert_eq!(portal.depositCount().call().await.unwrap(), 1);
    assert_eq!(portal.depositHashAt(1).call().await.unwrap(), expected_hash);
    assert_eq!(portal.totalDeposited().call().await.unwrap(), value);
    assert_eq!(user.get_balance(deployment.portal).await.unwrap(), value);

    // The sequencer commits batch 1 as two chunks, consuming that deposit.
    assert_eq!(deployment.shape, ProofShape::DEFAULT);
    assert_eq!(rollup.chunksPerBatch().call().await.unwrap(), U256::from(DEFAULT_CHUNKS_PER_BATCH));
    let chunks = vec![Bytes::from_static(b"chunk zero: fixed-width records"), Bytes::from_static(b"chunk one")];
    let data_hash = batch_data_hash(&chunks);
    let receipt = rollup
        .commitBatch(1, genesis_batch_hash(), 1, chunks.clone())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    let committed: Rollup::BatchCommitted = event(&receipt);
    let expected_batch_hash = batch_hash(1, genesis_batch_hash(), data_hash, 0, 1);
    assert_eq!(committed.batchIndex, 1);
    assert_eq!(committed.batchHash, expected_batch_hash);
    assert_eq!(committed.dataHash, data_hash);
    assert_eq!((committed.depositStart, committed.depositEnd), (0, 1));
    assert_eq!(committed.chunkCount, U256::from(2));

    let stored = rollup.batches(1).call().await.unwrap();
    assert_eq!(stored.batchHash, expected_batch_hash);
    assert_eq!(stored.dataHash, data_hash);
    assert_eq!((stored.depositStart, stored.depositEnd), (0, 1));
    assert_eq!(rollup.lastCommittedBatch().call().await.unwrap(), 1);
    assert_eq!(rollup.lastFinalizedBatch().call().await.unwrap(), 0);
    assert!(!rollup.isBatchFinalized(1).call().await.unwrap());

    // The statement the proof of batch 1 must prove, assembled by the contract from its storage and the chunks.
    let new_root = B256::from(U256::from(99u64));
    let chunk_hashes: Vec<B256> = chunks.iter().map(keccak256).collect();
    assert_eq!(batch_data_hash_from_chunk_hashes(&chunk_hashes), data_hash);
    let chunk_roots = vec![B256::repeat_byte(0xab), withdrawal_zero_hashes()[10]];
    let inputs = rollup.publicInputs(1, new_root, chunk_hashes.clone(), chunk_roots.clone()).call().await.unwrap();
    let mut expected = vec![U256::from_be_bytes(genesis_root().0), U256::from_be_bytes(new_root.0)];
    for value in [B256::ZERO, expected_hash, chunk_hashes[0], chunk_roots[0], chunk_hashes[1], chunk_roots[1]] {
        let (high, low) = protocol::split_u256(value);
        expected.extend([high, low]);
    }
    assert_eq!(inputs, expected);
    assert_eq!(rollup.publicInputCount().call().await.unwrap(), U256::from(expected.len()));

    // A data hash that is not the committed chunks' is refused with the two hashes.
    let wrong = vec![chunk_hashes[1], chunk_hashes[0]];
    let err = rollup.publicInputs(1, new_root, wrong.clone(), chunk_roots.clone()).call().await.unwrap_err();
    assert_eq!(
        err.as_decoded_interface_error::<Rollup::RollupErrors>(),
        Some(Rollup::RollupErrors::ChunkDataHashesMismatch(Rollup::ChunkDataHashesMismatch {
            expected: data_hash,
            given: batch_data_hash_from_chunk_hashes(&wrong),
        }))
    );

    // Without a verifier, finalization is refused with a clear error rather than accepted.
    let err = rollup.finalizeBatch(1, new_root, chunk_hashes, chunk_roots, Bytes::new()).call().await.unwrap_err();
    assert_eq!(
        err.as_decoded_interface_error::<Rollup::RollupErrors>(),
        Some(Rollup::RollupErrors::VerifierNotSet(Rollup::VerifierNotSet {}))
    );
}

/// The batch withdrawal root the Rollup computes from chunk roots is the Portal tree of the same leaves, each chunk's
/// withdrawals at `(chunk << 10) | slot`.
#[tokio::test]
async fn batch_withdrawal_root_is_the_portal_tree_of_the_chunks() {
    let l1 = L1::start();
    let deployment = deploy(&l1).await;
    let rollup = Rollup::new(deployment.rollup, l1.provider(0));
    let zeros = withdrawal_zero_hashes();
    let leaf = |i: u64| keccak256(i.to_be_bytes());

    // Chunk 0 holds withdrawals in slots 1 and 3, chunk 1 in slot 0; then chunk 0 empty and chunk 1 in slot 1023.
    for chunks in [vec![vec![(1, leaf(1)), (3, leaf(2))], vec![(0, leaf(3))]], vec![vec![], vec![(1023, leaf(4))]]] {
        let mut flat = vec![B256::ZERO; 1024 + 1024];
        let mut roots = Vec::new();
        for (c, withdrawals) in chunks.iter().enumerate() {
            let mut leaves = vec![B256::ZERO; 1024];
            for &(slot, leaf) in withdrawals {
                leaves[slot] = leaf;
                flat[(c << 10) | slot] = leaf;
            }
            roots.push(subtree_root(leaves, 10));
        }
        let expected = WithdrawalTree::new(flat).root();
        assert_eq!(rollup.batchWithdrawalRoot(roots.clone()).call().await.unwrap(), expected);
        // A batch of the first chunk alone is the same tree with nothing after that chunk.
        let first = roots[..1].to_vec();
        let mut flat_first = vec![B256::ZERO; 1024];
        for &(slot, leaf) in &chunks[0] {
            flat_first[slot] = leaf;
        }
        assert_eq!(rollup.batchWithdrawalRoot(first).call().await.unwrap(), WithdrawalTree::new(flat_first).root());
    }
    assert_eq!(rollup.batchWithdrawalRoot(vec![zeros[10]]).call().await.unwrap(), zeros[32]);
}

#[tokio::test]
async fn refuses_bad_commits_with_decoded_errors() {
    let l1 = L1::start();
    let deployment = deploy(&l1).await;
    let one_chunk = || vec![Bytes::from_static(b"x")];

    let outsider = l1.provider(2);
    let rollup = Rollup::new(deployment.rollup, &outsider);
    let err = rollup.commitBatch(1, genesis_batch_hash(), 0, one_chunk()).call().await.unwrap_err();
    assert_eq!(
        err.as_decoded_interface_error::<Rollup::RollupErrors>(),
        Some(Rollup::RollupErrors::Unauthorized(Rollup::Unauthorized { caller: l1.account(2) }))
    );

    let rollup = Rollup::new(deployment.rollup, l1.provider(0));
    let err = rollup.commitBatch(1, B256::ZERO, 0, one_chunk()).call().await.unwrap_err();
    assert_eq!(
        err.as_decoded_interface_error::<Rollup::RollupErrors>(),
        Some(Rollup::RollupErrors::ParentBatchHashMismatch(Rollup::ParentBatchHashMismatch {
            expected: genesis_batch_hash(),
            given: B256::ZERO,
        }))
    );

    // No deposit is queued, so a batch cannot claim to consume one.
    let err = rollup.commitBatch(1, genesis_batch_hash(), 1, one_chunk()).call().await.unwrap_err();
    assert_eq!(
        err.as_decoded_interface_error::<Rollup::RollupErrors>(),
        Some(Rollup::RollupErrors::InvalidDepositRange(Rollup::InvalidDepositRange { start: 0, end: 1, queued: 0 }))
    );

    // A batch has 1 to chunksPerBatch chunks; an empty chunk is a chunk.
    for count in [0, DEFAULT_CHUNKS_PER_BATCH + 1] {
        let err = rollup.commitBatch(1, genesis_batch_hash(), 0, vec![Bytes::new(); count]).call().await.unwrap_err();
        assert_eq!(
            err.as_decoded_interface_error::<Rollup::RollupErrors>(),
            Some(Rollup::RollupErrors::InvalidChunkCount(Rollup::InvalidChunkCount {
                given: U256::from(count),
                max: U256::from(DEFAULT_CHUNKS_PER_BATCH),
            }))
        );
    }
    let hash = rollup.commitBatch(1, genesis_batch_hash(), 0, vec![Bytes::new()]).call().await.unwrap();
    assert_eq!(hash, batch_hash(1, genesis_batch_hash(), batch_data_hash(&[[0u8; 0]]), 0, 0));
}

#[tokio::test]
async fn protocol_hashes_match_the_contracts() {
    let l1 = L1::start();
    let deployment = deploy(&l1).await;
    let rollup = Rollup::new(deployment.rollup, l1.provider(0));
    for i in 0..8u64 {
        let parent = keccak256(i.to_be_bytes());
        let data = keccak256(parent);
        let (start, end) = (i * 3, i * 3 + i);
        let on_chain = rollup.batchHashOf(i, parent, data, start, end).call().await.unwrap();
        assert_eq!(on_chain, batch_hash(i, parent, data, start, end));
    }

    // A chain of deposits from several accounts, each link recomputed off chain.
    let mut previous = B256::ZERO;
    for (nonce, sender) in [1usize, 2, 1, 3].into_iter().enumerate() {
        let portal = Portal::new(deployment.portal, l1.provider(sender));
        let to = Address::repeat_byte(nonce as u8 + 1);
        let value = U256::from(nonce as u64 + 1) * U256::from(1_000_000_000u64);
        let receipt = portal.depositETH(to).value(value).send().await.unwrap().get_receipt().await.unwrap();
        let deposit: Portal::DepositQueued = event(&receipt);
        previous = deposit_queue_hash(previous, nonce as u64, l1.account(sender), to, value);
        assert_eq!(deposit.queueHash, previous, "deposit {nonce}");
    }
    let portal = Portal::new(deployment.portal, l1.provider(0));
    assert_eq!(portal.depositHashAt(4).call().await.unwrap(), previous);
}

#[test]
fn zkr_deploy_command_writes_the_deployment_file() {
    let l1 = L1::start();
    let out = std::env::temp_dir().join(format!("zkr-deploy-it-{}/l1.json", std::process::id()));
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_zkr-deploy"))
        .args(["--l1.rpc-url", l1.anvil.endpoint()])
        .args(["--genesis-state-root", &genesis_root().to_string()])
        .args(["--sequencer", &l1.account(0).to_string()])
        .args(["--owner", &l1.account(3).to_string()])
        .args(["--chunks-per-batch", "4", "--chunk-slots", "8", "--chunk-k", "17", "--layer", "none"])
        .arg("--out")
        .arg(&out)
        .env("ZKR_DEPLOYER_KEY", &l1.anvil.private_keys()[0])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());

    let deployment = Deployment::load(&out).unwrap();
    assert_eq!(deployment.chain_id, 31337);
    assert_eq!(deployment.sequencers, vec![l1.account(0)]);
    assert_eq!(deployment.pending_owner, Some(l1.account(3)));
    assert_eq!(deployment.genesis_state_root, genesis_root());
    // The whole proof shape is recorded for the node, the coordinator and the workers.
    assert_eq!(
        deployment.shape,
        ProofShape { chunk_slots: 8, chunk_k: 17, chunks_per_batch: 4, aggregation_k: 20, layer: None }
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let provider = l1.provider(3);
        let rollup = Rollup::new(deployment.rollup, &provider);
        assert_eq!(rollup.pendingOwner().call().await.unwrap(), l1.account(3));
        assert_eq!(rollup.chunksPerBatch().call().await.unwrap(), U256::from(4));
        rollup.acceptOwnership().send().await.unwrap().get_receipt().await.unwrap();
        assert_eq!(rollup.owner().call().await.unwrap(), l1.account(3));
        assert!(!provider.get_code_at(deployment.portal).await.unwrap().is_empty());
    });
    std::fs::remove_dir_all(out.parent().unwrap()).unwrap();
}

#[test]
fn zkr_deploy_command_refuses_a_verifier_without_code() {
    let l1 = L1::start();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_zkr-deploy"))
        .args(["--l1.rpc-url", l1.anvil.endpoint()])
        .args(["--genesis-state-root", &genesis_root().to_string()])
        .args(["--verifier", &Address::repeat_byte(9).to_string()])
        .args(["--out", "/nonexistent/never-written.json"])
        .env("ZKR_DEPLOYER_KEY", &l1.anvil.private_keys()[0])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("has no code"), "{stderr}");
}

#[tokio::test]
async fn deploy_refuses_chunks_per_batch_out_of_range_before_sending() {
    let l1 = L1::start();
    for chunks_per_batch in [0, 65] {
        let mut config = DeployConfig::new(genesis_root());
        config.shape.chunks_per_batch = chunks_per_batch;
        let err = deploy_l1(&l1.provider(0), l1.account(0), &config).await.unwrap_err();
        assert!(matches!(&err, Error::InvalidShape(why) if why.contains("chunks per batch")), "{err}");
    }
    // Nothing was sent: the deployer's nonce is untouched.
    assert_eq!(l1.provider(0).get_transaction_count(l1.account(0)).await.unwrap(), 0);

    let mut config = DeployConfig::new(genesis_root());
    config.shape.chunks_per_batch = 64;
    let deployment = deploy_l1(&l1.provider(0), l1.account(0), &config).await.unwrap();
    let rollup = Rollup::new(deployment.rollup, l1.provider(0));
    assert_eq!(rollup.chunksPerBatch().call().await.unwrap(), U256::from(64));
    assert_eq!(rollup.publicInputCount().call().await.unwrap(), U256::from(6 + 4 * 64));
}

#[test]
fn zkr_deploy_command_refuses_chunks_per_batch_out_of_range() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_zkr-deploy"))
        .args(["--genesis-state-root", &genesis_root().to_string()])
        .args(["--chunks-per-batch", "65"])
        .env("ZKR_DEPLOYER_KEY", format!("0x{}", "11".repeat(32)))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--chunks-per-batch"), "{stderr}");
}

/// The optimistic mode on a real L1: deployed by `deploy_l1`, committed through the `Rollup` bindings (the two modes
/// commit alike), an output proposed with its bond, final only once the window has passed, its bond claimable.
#[tokio::test]
async fn optimistic_mode_deploys_and_finalizes_an_unchallenged_output_after_its_window() {
    use zkr_contracts::{DisputeParams, OptimisticRollup, SettlementMode};

    let l1 = L1::start();
    let mut config = DeployConfig::new(genesis_root());
    config.mode = SettlementMode::Optimistic;
    config.sequencers = vec![l1.account(0)];
    config.proposers = vec![l1.account(1)];
    config.dispute = DisputeParams { challenge_window: 60, proving_window: 120, ..DisputeParams::DEFAULT };
    let deployment = deploy_l1(&l1.provider(0), l1.account(0), &config).await.expect("deploys");
    assert_eq!(deployment.mode, SettlementMode::Optimistic);
    assert_eq!(deployment.proposers, vec![l1.account(1)]);
    assert!(deployment.provers.is_empty());
    assert_eq!(deployment.dispute, Some(config.dispute));

    let proposer = l1.provider(1);
    let optimistic = OptimisticRollup::new(deployment.rollup, &proposer);
    // The Rust defaults are the contract's documented ones.
    assert_eq!(optimistic.DEFAULT_CHALLENGE_WINDOW().call().await.unwrap(), DisputeParams::DEFAULT.challenge_window);
    assert_eq!(optimistic.DEFAULT_PROVING_WINDOW().call().await.unwrap(), DisputeParams::DEFAULT.proving_window);
    assert_eq!(
        U256::from(optimistic.DEFAULT_PROPOSER_BOND().call().await.unwrap()),
        DisputeParams::DEFAULT.proposer_bond
    );
    assert_eq!(
        U256::from(optimistic.DEFAULT_CHALLENGER_BOND().call().await.unwrap()),
        DisputeParams::DEFAULT.challenger_bond
    );
    assert!(optimistic.isProposer(l1.account(1)).call().await.unwrap());

    let sequencer = l1.provider(0);
    let rollup = Rollup::new(deployment.rollup, &sequencer);
    let chunks = vec![Bytes::from_static(b"one chunk")];
    let receipt = rollup.commitBatch(1, genesis_batch_hash(), 0, chunks).send().await.unwrap().get_receipt().await;
    assert!(receipt.unwrap().status());

    let root = B256::from(U256::from(7u64));
    let withdrawal_root = zkr_protocol::batch_withdrawal_root(&[withdrawal_zero_hashes()[10]]);
    let bond = DisputeParams::DEFAULT.proposer_bond;
    let receipt = optimistic.proposeOutput(1, root, withdrawal_root).value(bond).send().await.unwrap();
    let receipt = receipt.get_receipt().await.unwrap();
    let proposed: OptimisticRollup::OutputProposed = event(&receipt);
    assert_eq!((proposed.outputId, proposed.batchIndex), (U256::from(1), 1));

    // Within the window: open.
    let err = optimistic.resolveOutput(U256::from(1)).call().await.unwrap_err();
    assert!(matches!(
        err.as_decoded_interface_error::<OptimisticRollup::OptimisticRollupErrors>(),
        Some(OptimisticRollup::OptimisticRollupErrors::ChallengeWindowOpen(_))
    ));
    assert_eq!(rollup.lastFinalizedBatch().call().await.unwrap(), 0);

    // After it: final, and the Portal's view (lastFinalizedBatch, withdrawalRoots) says so.
    let _: serde_json::Value = proposer.raw_request("evm_increaseTime".into(), (61,)).await.unwrap();
    let receipt = optimistic.resolveOutput(U256::from(1)).send().await.unwrap().get_receipt().await.unwrap();
    assert!(receipt.status());
    assert_eq!(rollup.lastFinalizedBatch().call().await.unwrap(), 1);
    assert_eq!(rollup.stateRoots(U256::from(1)).call().await.unwrap(), root);
    assert_eq!(rollup.withdrawalRoots(U256::from(1)).call().await.unwrap(), withdrawal_root);
    assert_eq!(optimistic.credits(l1.account(1)).call().await.unwrap(), bond);
}
