//! Proving a job with the worker's backend.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use alloy_primitives::Address;
use zkr_circuits::{
    Error as CircuitsError,
    keys::KeysConfig,
    verifier::{BatchProof, decode_field_elements, encode_field_elements},
};
use zkr_protocol::ChunkWitness;
use zkr_protos::v1::{self as pb, Stage};
use zkr_prover::{BatchProver, MsmDevice, ProofTimes, ProverError, Snark};

/// Where a worker's proofs are computed: what it registers with and labels its metrics with. The choice a worker
/// is started with (`--backend auto|gpu|cpu`) is `zkr_kernels::gpu::Backend`; this is what it came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// halo2-axiom's prover with the commitments on our MSM's CPU twin.
    Cpu,
    /// halo2-axiom's prover with the commitments on our CUDA MSM, the SRS resident on the device.
    Cuda,
}

impl Backend {
    /// The protobuf value.
    pub const fn to_pb(self) -> pb::Backend {
        match self {
            Self::Cpu => pb::Backend::Cpu,
            Self::Cuda => pb::Backend::Cuda,
        }
    }

    /// `"cpu"` or `"cuda"`: the metrics label, the coordinator's name for the same backend.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
        }
    }

    /// The backend of a selected device.
    pub fn of(device: &MsmDevice) -> Self {
        if device.gpu().is_some() { Self::Cuda } else { Self::Cpu }
    }
}

/// The loaded keys of the cluster's setup, and the proving of jobs with them.
#[derive(Debug)]
pub struct ProverBackend {
    prover: BatchProver,
    backend: Backend,
}

impl ProverBackend {
    /// Loads (or the first time generates) the SRS and keys for `setup` from `keys_dir`, proving on `device`
    /// (selected once, before registration: [`MsmDevice::select`]). The SRS is uploaded to the GPU here; if that
    /// fails on a device that `auto` chose, the proofs run on the CPU: [`ProverBackend::backend`] says which.
    pub fn load(
        setup: &pb::ProverSetup,
        keys_dir: PathBuf,
        dev_srs: bool,
        device: MsmDevice,
    ) -> Result<Self, ProverError> {
        let fee_recipient = Address::try_from(setup.fee_recipient.as_slice())
            .map_err(|_| CircuitsError::Encoding("the fee recipient is not 20 bytes".into()))?;
        let config = KeysConfig { dir: keys_dir, shape: setup.shape(), fee_recipient, dev_srs };
        let prover = BatchProver::load_on(&config, device)?;
        let backend = Backend::of(prover.device());
        Ok(Self { prover, backend })
    }

    /// The backend the proofs run on.
    pub const fn backend(&self) -> Backend {
        self.backend
    }

    /// Proves a chunk job, reporting each stage's duration when the proof is done (witness: decoding the job and
    /// building the circuit's cells; msm; quotient: the rest of halo2's prover; opening; verify), then the total.
    pub fn prove_chunk(
        &self,
        witness: &[u8],
        mut progress: impl FnMut(Stage, Duration),
    ) -> Result<pb::ChunkProof, ProverError> {
        let started = Instant::now();
        let witness: ChunkWitness =
            serde_json::from_slice(witness).map_err(|e| CircuitsError::Encoding(format!("chunk witness: {e}")))?;
        let decoded = started.elapsed();
        let (snark, times) = self.prover.prove_chunk_timed(witness)?;
        report_times(&mut progress, &ProofTimes { witness: decoded + times.witness, ..times });
        progress(Stage::Total, started.elapsed());
        Ok(pb::ChunkProof {
            instances: encode_field_elements(snark.instances.first().map_or(&[][..], Vec::as_slice)),
            proof: snark.proof,
        })
    }

    /// Proves an aggregation job (the batch proof over its chunk proofs, or over its layer proofs in a setup with a
    /// layer), reporting each stage's duration when the proof is done (witness: decoding and checking the inner
    /// proofs; aggregation: verifying them in-circuit; msm; quotient; opening; verify), then the total.
    pub fn prove_aggregation(
        &self,
        input: &pb::AggregationInput,
        mut progress: impl FnMut(Stage, Duration),
    ) -> Result<pb::BatchProof, ProverError> {
        let started = Instant::now();
        let layered = self.prover.shape().layer.is_some();
        let snarks = match (layered, input.chunks.is_empty(), input.layers.is_empty()) {
            (false, _, true) => self.chunk_snarks(&input.chunks)?,
            (true, true, _) => {
                let mut snarks = Vec::with_capacity(input.layers.len());
                for layer in &input.layers {
                    let snark =
                        self.prover.layer_snark(decode_field_elements(&layer.instances)?, layer.proof.clone())?;
                    if !self.prover.verify_layer(&snark)? {
                        return Err(bad_input("a layer proof of the job does not verify"));
                    }
                    snarks.push(snark);
                }
                snarks
            }
            (false, ..) => return Err(bad_input("layer proofs for a setup without a layer")),
            (true, ..) => return Err(bad_input("chunk proofs for the batch proof of a setup with a layer")),
        };
        let checked = started.elapsed();
        let (proof, times): (BatchProof, ProofTimes) = self.prover.aggregate_timed(snarks)?;
        report_times(&mut progress, &ProofTimes { witness: checked, ..times });
        progress(Stage::Total, started.elapsed());
        Ok(pb::BatchProof { instances: encode_field_elements(&proof.instances), proof: proof.proof })
    }

    /// Proves a layer job (the aggregation of a group of chunk proofs), reporting its stages as
    /// [`ProverBackend::prove_aggregation`] does.
    pub fn prove_layer(
        &self,
        chunks: &[pb::ChunkProof],
        mut progress: impl FnMut(Stage, Duration),
    ) -> Result<pb::LayerProof, ProverError> {
        let started = Instant::now();
        let snarks = self.chunk_snarks(chunks)?;
        let checked = started.elapsed();
        let (snark, times) = self.prover.prove_layer_timed(snarks)?;
        report_times(&mut progress, &ProofTimes { witness: checked, ..times });
        progress(Stage::Total, started.elapsed());
        Ok(pb::LayerProof {
            instances: encode_field_elements(snark.instances.first().map_or(&[][..], Vec::as_slice)),
            proof: snark.proof,
        })
    }

    /// Decodes and checks a job's chunk proofs: the coordinator checked them, but a worker does not spend an
    /// aggregation on a bad input.
    fn chunk_snarks(&self, chunks: &[pb::ChunkProof]) -> Result<Vec<Snark>, ProverError> {
        let mut snarks = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            let snark = self.prover.chunk_snark(decode_field_elements(&chunk.instances)?, chunk.proof.clone());
            if !self.prover.verify_chunk(&snark) {
                return Err(bad_input("a chunk proof of the job does not verify"));
            }
            snarks.push(snark);
        }
        Ok(snarks)
    }
}

fn bad_input(reason: &str) -> ProverError {
    CircuitsError::Aggregation(reason.to_owned()).into()
}

/// Reports every stage that took time, in the order they ran.
fn report_times(progress: &mut impl FnMut(Stage, Duration), times: &ProofTimes) {
    let stages = [
        (Stage::Witness, times.witness),
        (Stage::Aggregation, times.aggregation),
        (Stage::Msm, times.msm),
        (Stage::Quotient, times.quotient),
        (Stage::Opening, times.opening),
        (Stage::Verify, times.verify),
    ];
    for (stage, elapsed) in stages {
        if !elapsed.is_zero() {
            progress(stage, elapsed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_reported_in_the_order_they_ran_and_only_when_they_took_time() {
        let ms = Duration::from_millis;
        let times = ProofTimes {
            witness: ms(1),
            aggregation: Duration::ZERO,
            msm: ms(3),
            opening: ms(5),
            quotient: ms(4),
            verify: ms(6),
        };
        let mut seen = Vec::new();
        report_times(&mut |stage, elapsed| seen.push((stage, elapsed)), &times);
        assert_eq!(
            seen,
            [
                (Stage::Witness, ms(1)),
                (Stage::Msm, ms(3)),
                (Stage::Quotient, ms(4)),
                (Stage::Opening, ms(5)),
                (Stage::Verify, ms(6)),
            ]
        );
    }
}
