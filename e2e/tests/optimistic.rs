//! The optimistic mode end to end, with real processes: anvil with the `OptimisticRollup` and the real batch verifier,
//! a node whose proposer posts outputs (and, by fault injection, two wrong ones), `zkr-coordinator` as challenger and
//! defender, and a `zkr-prover` worker.
//!
//! 1. An honest output becomes final once its challenge window has passed, and the withdrawal it holds is paid.
//! 2. A wrong output is challenged by the coordinator, cannot be defended, is lost when its proving window runs out,
//!    and the challenger collects both bonds; the proposer then posts the right output for that batch.
//! 3. A griefer challenges that right output; the coordinator proves the batch with a real proof from the worker and
//!    defends it: the output is final, and the griefer's bond goes to the proposer. This one costs a real batch proof
//!    (about 7 minutes of both cores), more than CI's budget holds beside the cluster test's: it runs when
//!    `ZKR_E2E_DISPUTE_PROOF` is set, and otherwise the right output simply finalizes after its window.
//! 4. The coordinator is killed; a wrong output is proposed while it is down; restarted within the window, it still
//!    challenges it.
//!
//! Time on L1 is moved with anvil's `evm_increaseTime` where a window has to pass. Sizes are CI's; keys are cached as
//! for the cluster test (`target/zkr-e2e-keys`).

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::time::Duration;

use alloy::{
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider},
    rpc::types::Filter,
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use zkr_contracts::{DisputeParams, OptimisticRollup, OutputStatus};
use zkr_e2e::{
    ETH, Rig, Settlement,
    cluster::{self, Process, free_port, write_files},
    signed_transfer, wait_for,
};
use zkr_node::ChainSpec;
use zkr_protocol::ProofShape;

/// Real-time seconds an output may be challenged: room for a restarted coordinator to catch up.
const CHALLENGE_WINDOW: u64 = 90;
/// Seconds a challenged output has to be proven: far more than a CPU proof takes; the test moves time past it.
const PROVING_WINDOW: u64 = 3_600;

struct Chain {
    rig: Rig,
    l1: DynProvider,
    rollup: Address,
}

impl Chain {
    fn optimistic(&self) -> OptimisticRollup::OptimisticRollupInstance<&DynProvider> {
        OptimisticRollup::new(self.rollup, &self.l1)
    }

    /// The current output of `batch` once one is proposed and `ready` holds for it.
    async fn output_when(
        &self,
        what: &str,
        batch: u64,
        timeout: Duration,
        ready: impl Fn(&OptimisticRollup::Output) -> bool,
    ) -> (U256, OptimisticRollup::Output) {
        wait_for(what, timeout, || async {
            let id = self.optimistic().outputOf(batch).call().await.ok()?;
            if id.is_zero() {
                return None;
            }
            let output = self.optimistic().outputs(id).call().await.ok()?;
            ready(&output).then_some((id, output))
        })
        .await
    }

    /// Moves L1 time forward by `seconds` and mines a block at the new time.
    async fn warp(&self, seconds: u64) {
        let _: serde_json::Value = self.l1.raw_request("evm_increaseTime".into(), (seconds,)).await.unwrap();
        let _: serde_json::Value = self.l1.raw_request("evm_mine".into(), ()).await.unwrap();
    }

    /// Every `E` the rollup emitted so far.
    async fn events<E: SolEvent>(&self) -> Vec<E> {
        let filter = Filter::new().address(self.rollup).event_signature(E::SIGNATURE_HASH).from_block(0);
        let logs = self.l1.get_logs(&filter).await.unwrap();
        logs.iter().filter_map(|log| log.log_decode::<E>().ok()).map(|log| log.inner.data).collect()
    }

    /// Sends `count` transfers of 1 gwei from `from` (nonces from `nonce`) on L2.
    fn transfers(&self, from: &PrivateKeySigner, nonce: u64, count: u64) {
        for n in nonce..nonce + count {
            let tx = signed_transfer(from, self.rig.spec.chain_id, n, Address::repeat_byte(0xb0), 1_000_000_000);
            self.rig.node.submit(&tx).unwrap();
        }
    }
}

fn status(output: &OptimisticRollup::Output) -> Option<OutputStatus> {
    OutputStatus::of(output.status)
}

#[tokio::test(flavor = "multi_thread")]
async fn outputs_finalize_wrong_ones_are_slashed_griefers_lose_and_a_restarted_challenger_still_challenges() {
    let launcher = cluster::Launcher::new(&["zkr-coordinator", "zkr-prover"]).unwrap();
    let spec = ChainSpec::dev();
    let part_codes = cluster::ci_verifier_parts(&spec).await;
    let dispute =
        DisputeParams { challenge_window: CHALLENGE_WINDOW, proving_window: PROVING_WINDOW, ..DisputeParams::DEFAULT };
    // Batch 1: a deposit and a withdrawal; batch 2 and batch 4 get a wrong state root first.
    let settlement = Settlement::Optimistic { dispute, wrong_root_batches: vec![2, 4] };
    let rig = Rig::start_with(spec, &part_codes, ProofShape::CI, settlement).await.unwrap();
    let chain = Chain { l1: rig.l1(&rig.keys[0]), rollup: rig.deployment.rollup, rig };
    let rig = &chain.rig;
    let (challenger, griefer, proposer) = (rig.keys[3].address(), rig.keys[5].clone(), rig.keys[6].address());

    let work = launcher.work_dir();
    write_files(work.path(), rig);
    let (grpc, http) = (free_port(), free_port());
    let db = work.inside("coordinator.sqlite");
    let start_coordinator =
        || cluster::coordinator("coordinator", &launcher, &work, rig, (grpc, http), db.to_str().unwrap());
    let coordinator = start_coordinator();
    // A real batch proof takes both cores for about 7 minutes: CI's budget holds one (the cluster test's), so the
    // defence with a real proof runs when ZKR_E2E_DISPUTE_PROOF is set.
    let prove_dispute = std::env::var_os("ZKR_E2E_DISPUTE_PROOF").is_some();
    let _worker = prove_dispute.then(|| {
        Process::spawn(
            "worker",
            launcher
                .command("zkr-prover")
                .arg(format!("--coordinator.url=http://127.0.0.1:{grpc}"))
                .arg("--auth.token-file")
                .arg(work.inside("token"))
                .arg("--keys.dir")
                .arg(work.keys())
                .args(["--keys.dev-srs", "--backend", "cpu", "--name", "worker"])
                .env("RUST_LOG", "info,zkevm_hashes=warn"),
        )
    });

    // 1. Batch 1 (a deposit to alice, then her withdrawal): proposed, unchallenged, final after its window; the
    //    withdrawal is paid.
    let alice = PrivateKeySigner::from_bytes(&B256::repeat_byte(0xa1)).unwrap();
    rig.deposit(alice.address(), 5 * ETH).await;
    let withdrawal =
        rig.node.submit(&signed_transfer(&alice, rig.spec.chain_id, 0, zkr_node::WITHDRAWAL_ADDRESS, 2 * ETH)).unwrap();
    let minute = Duration::from_secs(120);
    let (first, output) = chain.output_when("batch 1's output proposed", 1, minute, |_| true).await;
    assert_eq!(output.proposer, proposer);
    let final_ = |o: &OptimisticRollup::Output| status(o) == Some(OutputStatus::Final);
    assert!(!final_(&output), "final at once");
    chain.warp(CHALLENGE_WINDOW).await;
    chain.output_when("batch 1's output final after its window", 1, minute, final_).await;
    assert_eq!(chain.optimistic().lastFinalizedBatch().call().await.unwrap(), 1);
    let paid = rig.pay_withdrawal(withdrawal, 1).await;
    assert!(paid.status(), "the withdrawal of a final output is paid");
    assert_eq!(chain.l1.get_balance(alice.address()).await.unwrap(), U256::from(2 * ETH));
    eprintln!("1. output {first} of batch 1 final after its window; its withdrawal paid");

    // 2. Batch 2's first output has a wrong state root: the coordinator challenges it; nobody can prove it; once its
    //    proving window has passed it is lost and the challenger collects both bonds.
    chain.transfers(&alice, 1, 2);
    let challenged = |o: &OptimisticRollup::Output| status(o) == Some(OutputStatus::Challenged);
    let (wrong, output) = chain.output_when("the wrong output challenged", 2, minute, challenged).await;
    assert_eq!(output.challenger, challenger, "challenged by the coordinator");
    assert_ne!(output.stateRoot, rig.node.batch(2).unwrap().unwrap().new_state_root, "the injected root is wrong");
    chain.warp(PROVING_WINDOW + 1).await;
    let lost = wait_for("the wrong output lost", minute, || async {
        let output = chain.optimistic().outputs(wrong).call().await.ok()?;
        (status(&output) == Some(OutputStatus::Lost)).then_some(())
    });
    lost.await;
    let bonds = dispute.proposer_bond + dispute.challenger_bond;
    let credited = chain.events::<OptimisticRollup::Credited>().await;
    assert!(credited.iter().any(|c| c.account == challenger && c.amount == bonds), "{credited:?}");
    wait_for("the challenger claims its winnings", minute, || async {
        let claims = chain.events::<OptimisticRollup::CreditClaimed>().await;
        claims.iter().any(|c| c.account == challenger && c.amount >= bonds).then_some(())
    })
    .await;
    eprintln!("2. wrong output {wrong} of batch 2 challenged, unproven, lost; the challenger collected");

    // 3. The proposer posts the right output for batch 2; a griefer challenges it; the coordinator defends it with
    //    the batch's real proof, and the griefer's bond goes to the proposer.
    let (right, output) = chain
        .output_when("batch 2's right output proposed", 2, minute, |o| status(o) == Some(OutputStatus::Proposed))
        .await;
    assert_ne!(right, wrong);
    assert_eq!(output.stateRoot, rig.node.batch(2).unwrap().unwrap().new_state_root);
    if prove_dispute {
        let receipt = OptimisticRollup::new(chain.rollup, rig.l1(&griefer))
            .challengeOutput(right)
            .value(dispute.challenger_bond)
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.status(), "the griefer's challenge");
        let (_, output) = chain.output_when("the griefed output defended", 2, Duration::from_secs(1_800), final_).await;
        assert!(output.proven, "final by the proof, not by its window");
        let proven = chain.events::<OptimisticRollup::OutputProven>().await;
        assert!(proven.iter().any(|p| p.outputId == right && p.prover == challenger), "{proven:?}");
        let credited = chain.events::<OptimisticRollup::Credited>().await;
        assert!(credited.iter().any(|c| c.account == proposer && c.amount == bonds), "{credited:?}");
        assert!(credited.iter().all(|c| c.account != griefer.address()), "the griefer got something back");
        eprintln!(
            "3. griefed output {right} of batch 2 defended with a real proof; the griefer's bond went to the proposer"
        );
    } else {
        // The right output is left alone, and is final after its window.
        chain.warp(CHALLENGE_WINDOW).await;
        let (_, output) = chain.output_when("batch 2's right output final", 2, minute, final_).await;
        assert!(!output.proven);
        eprintln!("3. skipped: the defence with a real proof runs with ZKR_E2E_DISPUTE_PROOF set");
    }

    // 4. The coordinator dies; batch 4's output (wrong) is proposed while it is down; restarted within the window,
    //    it still challenges it.
    coordinator.kill();
    chain.transfers(&alice, 3, 4);
    let (late, output) = chain.output_when("batch 4's wrong output proposed", 4, minute, |_| true).await;
    assert_eq!(status(&output), Some(OutputStatus::Proposed));
    let _coordinator = start_coordinator();
    let (_, output) = chain.output_when("the restarted coordinator challenges", 4, minute, challenged).await;
    assert_eq!(output.challenger, challenger);
    eprintln!("4. the restarted coordinator challenged wrong output {late} of batch 4 within its window");
}
