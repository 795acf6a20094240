//! A small real halo2 circuit for the commitment-scheme tests and the prover bench (included with `#[path]`).
//!
//! A standard PLONK gate `q_a·a + q_b·b + q_ab·a·b − q_c·c = 0` over three advice columns, a chain of copy
//! constraints (row i's `c` is row i+1's `a`), a lookup of every `b` into a fixed byte table, and two public
//! inputs (the chain's first `a` and last `c`). So a proof exercises advice, fixed, instance, permutation and
//! lookup commitments and the vanishing argument.
#![allow(dead_code, reason = "shared by a test and a bench, each using a part")]

use ff::Field;
use halo2_proofs::{
    circuit::{Cell, Layouter, SimpleFloorPlanner, Value},
    plonk::{
        Advice, Circuit, Column, ConstraintSystem, Error, Fixed, Instance, ProvingKey, TableColumn, VerifyingKey,
        create_proof, verify_proof,
    },
    poly::{
        Rotation,
        commitment::{CommitmentScheme, Prover},
        kzg::{
            commitment::{KZGCommitmentScheme, ParamsKZG},
            multiopen::{VerifierGWC, VerifierSHPLONK},
            strategy::SingleStrategy,
        },
    },
    transcript::{Blake2bRead, Blake2bWrite, Challenge255, TranscriptReadBuffer, TranscriptWriterBuffer},
};
use halo2curves::bn256::{Bn256, Fr, G1Affine};
use rand::{SeedableRng, rngs::StdRng};

/// Proves `circuit` with scheme `S` and multi-open prover `P` into a Blake2b transcript.
pub(crate) fn prove<'p, S, P>(
    params: &'p S::ParamsProver,
    pk: &ProvingKey<G1Affine>,
    circuit: &Chain,
    seed: u64,
) -> Vec<u8>
where
    S: CommitmentScheme<Scalar = Fr, Curve = G1Affine>,
    S::ParamsProver: Sync,
    P: Prover<'p, S>,
{
    let instances = circuit.instances();
    let mut transcript = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
    create_proof::<S, P, Challenge255<G1Affine>, _, Blake2bWrite<Vec<u8>, G1Affine, Challenge255<G1Affine>>, _>(
        params,
        pk,
        std::slice::from_ref(circuit),
        &[&[&instances]],
        StdRng::seed_from_u64(seed),
        &mut transcript,
    )
    .expect("proving a satisfied circuit");
    transcript.finalize()
}

/// The multi-open argument a proof was made with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Multiopen {
    Shplonk,
    Gwc,
}

/// halo2's standard KZG verifier: whether `proof` proves `instances` for `vk`.
pub(crate) fn verify(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    multiopen: Multiopen,
    instances: &[Fr],
    proof: &[u8],
) -> bool {
    let mut transcript = Blake2bRead::<_, G1Affine, Challenge255<_>>::init(proof);
    let strategy = SingleStrategy::new(params);
    match multiopen {
        Multiopen::Shplonk => verify_proof::<
            KZGCommitmentScheme<Bn256>,
            VerifierSHPLONK<'_, Bn256>,
            Challenge255<G1Affine>,
            Blake2bRead<&[u8], G1Affine, Challenge255<G1Affine>>,
            SingleStrategy<'_, Bn256>,
        >(params, vk, strategy, &[&[instances]], &mut transcript)
        .is_ok(),
        Multiopen::Gwc => verify_proof::<
            KZGCommitmentScheme<Bn256>,
            VerifierGWC<'_, Bn256>,
            Challenge255<G1Affine>,
            Blake2bRead<&[u8], G1Affine, Challenge255<G1Affine>>,
            SingleStrategy<'_, Bn256>,
        >(params, vk, strategy, &[&[instances]], &mut transcript)
        .is_ok(),
    }
}

/// The columns of [`Chain`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChainConfig {
    a: Column<Advice>,
    b: Column<Advice>,
    c: Column<Advice>,
    q_a: Column<Fixed>,
    q_b: Column<Fixed>,
    q_ab: Column<Fixed>,
    q_c: Column<Fixed>,
    q_byte: Column<Fixed>,
    bytes: TableColumn,
    instance: Column<Instance>,
}

/// `rows` steps `c = a + a·b` (even rows) or `c = a + b + a·b` (odd rows), `b` a byte, starting from `start`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Chain {
    pub(crate) start: Fr,
    pub(crate) rows: usize,
}

impl Chain {
    fn b(i: usize) -> Fr {
        Fr::from(((i * 37 + 11) % 256) as u64)
    }

    fn step(i: usize, a: Fr) -> Fr {
        let b = Self::b(i);
        if i.is_multiple_of(2) { a + a * b } else { a + b + a * b }
    }

    /// The public inputs: the first `a` and the last `c`.
    pub(crate) fn instances(&self) -> Vec<Fr> {
        let last = (0..self.rows).fold(self.start, |a, i| Self::step(i, a));
        vec![self.start, last]
    }

    /// The largest `rows` that fits `2^k` rows (leaving room for halo2's blinding rows).
    pub(crate) fn max_rows(k: u32) -> usize {
        (1 << k) - 16
    }
}

impl Circuit<Fr> for Chain {
    type Config = ChainConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        Self { start: Fr::ZERO, rows: self.rows }
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> ChainConfig {
        let [a, b, c] = [(); 3].map(|()| meta.advice_column());
        let [q_a, q_b, q_ab, q_c, q_byte] = [(); 5].map(|()| meta.fixed_column());
        let bytes = meta.lookup_table_column();
        let instance = meta.instance_column();
        meta.enable_equality(a);
        meta.enable_equality(c);
        meta.enable_equality(instance);
        meta.create_gate("standard gate", |meta| {
            let [a, b, c] = [a, b, c].map(|col| meta.query_advice(col, Rotation::cur()));
            let [q_a, q_b, q_ab, q_c] = [q_a, q_b, q_ab, q_c].map(|col| meta.query_fixed(col, Rotation::cur()));
            vec![q_a * a.clone() + q_b * b.clone() + q_ab * a * b - q_c * c]
        });
        meta.lookup("b is a byte", |meta| {
            let q = meta.query_fixed(q_byte, Rotation::cur());
            let b = meta.query_advice(b, Rotation::cur());
            vec![(q * b, bytes)]
        });
        ChainConfig { a, b, c, q_a, q_b, q_ab, q_c, q_byte, bytes, instance }
    }

    fn synthesize(&self, config: ChainConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        layouter.assign_table(
            || "bytes",
            |mut table| {
                for i in 0..256 {
                    table.assign_cell(|| "byte", config.bytes, i, || Value::known(Fr::from(i as u64)))?;
                }
                Ok(())
            },
        )?;
        let (first, last) = layouter.assign_region(
            || "chain",
            |mut region| {
                let mut a = self.start;
                let mut first: Option<Cell> = None;
                let mut prev_c: Option<Cell> = None;
                for i in 0..self.rows {
                    let b = Self::b(i);
                    let c = Self::step(i, a);
                    let a_cell = region.assign_advice(config.a, i, Value::known(a)).cell();
                    region.assign_advice(config.b, i, Value::known(b));
                    let c_cell = region.assign_advice(config.c, i, Value::known(c)).cell();
                    region.assign_fixed(config.q_a, i, Fr::ONE);
                    region.assign_fixed(config.q_b, i, if i.is_multiple_of(2) { Fr::ZERO } else { Fr::ONE });
                    region.assign_fixed(config.q_ab, i, Fr::ONE);
                    region.assign_fixed(config.q_c, i, Fr::ONE);
                    region.assign_fixed(config.q_byte, i, Fr::ONE);
                    match prev_c {
                        Some(prev) => region.constrain_equal(prev, a_cell),
                        None => first = Some(a_cell),
                    }
                    prev_c = Some(c_cell);
                    a = c;
                }
                Ok((first, prev_c))
            },
        )?;
        if let (Some(first), Some(last)) = (first, last) {
            layouter.constrain_instance(first, config.instance, 0);
            layouter.constrain_instance(last, config.instance, 1);
        }
        Ok(())
    }
}
