//! [`MsmKzg`] and its prover parameters [`MsmParams`].

use std::{
    io,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use ff::{Field, PrimeField};
use group::Curve;
use halo2_proofs::{
    SerdeFormat,
    poly::{
        Coeff, LagrangeCoeff, Polynomial,
        commitment::{Blind, CommitmentScheme, Params, ParamsProver},
        kzg::{commitment::ParamsKZG, msm::MSMKZG},
    },
};
use halo2curves::{
    bn256::{Bn256, Fr, G1, G1Affine, G2Affine},
    serde::SerdeObject,
};

use crate::{
    cpu,
    gpu::{Backend, DeviceBases, Gpu, GpuError, Result, Selected, select},
};

const TARGET: &str = "kernels::halo2";

/// KZG on BN254 with this crate's MSM behind `commit` and `commit_lagrange`; see the [module docs](super).
///
/// The verifier side is halo2's own: `ParamsVerifier` is [`ParamsKZG<Bn256>`], so proofs made through this scheme
/// are checked by `verify_proof::<KZGCommitmentScheme<Bn256>, ..>`.
#[derive(Debug, Clone, Copy)]
pub struct MsmKzg;

impl CommitmentScheme for MsmKzg {
    type Scalar = Fr;
    type Curve = G1Affine;
    type ParamsProver = MsmParams;
    type ParamsVerifier = ParamsKZG<Bn256>;

    /// A fresh (insecure, test-only) SRS from halo2's `ParamsKZG::new`, on the CPU backend.
    fn new_params(k: u32) -> MsmParams {
        MsmParams::cpu(ParamsKZG::new(k))
    }

    /// Reads halo2's `ParamsKZG` encoding, with errors where halo2's own `read` panics (a truncated file, `k`
    /// past 28, coordinates not below the field modulus); the result runs on the CPU backend (see
    /// [`MsmParams::new`]).
    fn read_params<R: io::Read>(reader: &mut R) -> io::Result<MsmParams> {
        read_kzg(reader).map(MsmParams::cpu)
    }
}

/// Where the commitments are computed.
#[derive(Debug, Clone)]
enum Engine {
    /// On the device, over bases uploaded once.
    Gpu { gpu: Arc<Gpu>, g: Arc<DeviceBases>, g_lagrange: Arc<DeviceBases> },
    /// With the CPU twin; `g` is read from the wrapped params, `g_lagrange` is a copy (halo2 does not expose it),
    /// made by the first Lagrange commitment and shared by clones, so params that only verify (the coordinator's)
    /// never pay for it. `None` when the bases could not be read out of the params: halo2 then commits itself.
    Cpu { g_lagrange: Arc<OnceLock<Option<Vec<G1Affine>>>> },
}

impl Engine {
    const fn name(&self) -> &'static str {
        match self {
            Self::Gpu { .. } => "gpu",
            Self::Cpu { .. } => "cpu",
        }
    }
}

/// Which SRS basis a commitment uses.
#[derive(Debug, Clone, Copy)]
enum Basis {
    /// Monomial basis `[sⁱ]G` (`commit`).
    Monomial,
    /// Lagrange basis `[Lᵢ(s)]G` (`commit_lagrange`).
    Lagrange,
}

impl Basis {
    const fn name(self) -> &'static str {
        match self {
            Self::Monomial => "monomial",
            Self::Lagrange => "lagrange",
        }
    }
}

/// Prover parameters of [`MsmKzg`]: a [`ParamsKZG<Bn256>`] whose commitments run this crate's MSM.
///
/// With the GPU backend both SRS bases (`g` and `g_lagrange`, 64 bytes a point each) are uploaded once, by the
/// constructor, and stay on the device as long as this value or a clone of it lives; clones share them. With the
/// CPU backend a copy of `g_lagrange` is kept on the host (halo2 offers no access to its own), which costs
/// another 64 bytes a point, from the first Lagrange commitment on.
///
/// `Params::read`, `ParamsProver::new` and `MsmKzg::new_params` cannot take a backend, so they give CPU params;
/// read a [`ParamsKZG`] and call [`MsmParams::new`] to choose.
#[derive(Debug, Clone)]
pub struct MsmParams {
    kzg: ParamsKZG<Bn256>,
    engine: Engine,
    /// Time spent in commitments and openings, shared by clones.
    times: Arc<ProverClock>,
}

/// Running totals of where proofs through one [`MsmParams`] (and its clones) spent their time.
#[derive(Debug, Default)]
pub(crate) struct ProverClock {
    msm_nanos: AtomicU64,
    msm_calls: AtomicU64,
    opening_nanos: AtomicU64,
}

impl ProverClock {
    pub(crate) fn add_opening(&self, elapsed: Duration) {
        self.opening_nanos.fetch_add(nanos(elapsed), Ordering::Relaxed);
    }
}

fn nanos(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
}

/// Where the proofs made through an [`MsmParams`] spent their time so far ([`MsmParams::times`]): the difference of
/// two readings around one proof is that proof's share, when proofs through these params run one at a time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProverTimes {
    /// In the commitments of the PLONK rounds (this crate's MSM, on the GPU or the CPU twin; halo2's where it had
    /// to step in), summed over calls.
    pub msm: Duration,
    /// How many commitments.
    pub msm_calls: u64,
    /// In the multi-open argument ([`crate::halo2::MsmProver`]), its own commitments included.
    pub opening: Duration,
}

impl ProverTimes {
    /// What happened between `earlier` and `self`.
    #[must_use]
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            msm: self.msm.saturating_sub(earlier.msm),
            msm_calls: self.msm_calls.saturating_sub(earlier.msm_calls),
            opening: self.opening.saturating_sub(earlier.opening),
        }
    }
}

impl MsmParams {
    /// Wraps `kzg` for `backend`, as [`select`] decides: the GPU (device 0) with both bases uploaded, or the CPU
    /// twin. `Backend::Auto` also falls back to the CPU, with a warning, when the bases do not fit on the device.
    ///
    /// # Errors
    ///
    /// Only for `Backend::Gpu`: the device cannot be used or the upload fails.
    pub fn new(kzg: ParamsKZG<Bn256>, backend: Backend) -> Result<Self> {
        let engine = match select(backend)? {
            Selected::Gpu(gpu) => match gpu_engine(&kzg, Arc::from(gpu)) {
                Ok(engine) => engine,
                Err(err) if backend == Backend::Auto => {
                    tracing::warn!(target: TARGET, %err, "uploading the SRS failed, falling back to the CPU MSM");
                    cpu_engine(&kzg)
                }
                Err(err) => return Err(err),
            },
            Selected::Cpu { fallback } => {
                if let Some(reason) = fallback {
                    tracing::warn!(target: TARGET, %reason, "no usable GPU: commitments run on the CPU MSM");
                }
                cpu_engine(&kzg)
            }
        };
        Ok(Self { kzg, engine, times: Arc::default() })
    }

    /// Wraps `kzg` for the CPU twin.
    pub fn cpu(kzg: ParamsKZG<Bn256>) -> Self {
        let engine = cpu_engine(&kzg);
        Self { kzg, engine, times: Arc::default() }
    }

    /// Wraps `kzg` for `gpu`, uploading both bases; several params (different `k`, say) may share one device.
    ///
    /// # Errors
    ///
    /// The upload fails (not enough device memory, a driver error), or the Lagrange bases cannot be read out of
    /// `kzg` ([`GpuError::InvalidInput`]).
    pub fn on_gpu(kzg: ParamsKZG<Bn256>, gpu: Arc<Gpu>) -> Result<Self> {
        let engine = gpu_engine(&kzg, gpu)?;
        Ok(Self { kzg, engine, times: Arc::default() })
    }

    /// Where the proofs made through these params (and their clones) spent their time so far.
    pub fn times(&self) -> ProverTimes {
        ProverTimes {
            msm: Duration::from_nanos(self.times.msm_nanos.load(Ordering::Relaxed)),
            msm_calls: self.times.msm_calls.load(Ordering::Relaxed),
            opening: Duration::from_nanos(self.times.opening_nanos.load(Ordering::Relaxed)),
        }
    }

    pub(crate) fn clock(&self) -> &ProverClock {
        &self.times
    }

    /// The wrapped halo2 params (also [`MsmParams::verifier_params`]).
    pub fn kzg(&self) -> &ParamsKZG<Bn256> {
        &self.kzg
    }

    /// Unwraps the halo2 params, releasing the device bases once no clone holds them.
    pub fn into_kzg(self) -> ParamsKZG<Bn256> {
        self.kzg
    }

    /// What computes the commitments: `"gpu"` or `"cpu"`. The label for logs and metrics.
    pub fn backend_name(&self) -> &'static str {
        self.engine.name()
    }

    /// `Σ scalars[i]·bases[i]` over the first `scalars.len()` points of `basis`.
    fn msm(&self, basis: Basis, scalars: &[Fr]) -> G1 {
        let n = self.kzg.n();
        assert!(
            scalars.len() as u64 <= n,
            "a polynomial of {} coefficients does not fit an SRS of {n} points",
            scalars.len()
        );
        let start = Instant::now();
        let result = match (&self.engine, basis) {
            (Engine::Gpu { gpu, g, g_lagrange }, _) => {
                let bases = match basis {
                    Basis::Monomial => g,
                    Basis::Lagrange => g_lagrange,
                };
                gpu.msm(bases, scalars).unwrap_or_else(|err| {
                    tracing::warn!(
                        target: TARGET,
                        %err,
                        n = scalars.len(),
                        basis = basis.name(),
                        "GPU MSM failed; halo2 computes this commitment"
                    );
                    self.halo2_msm(basis, scalars)
                })
            }
            (Engine::Cpu { .. }, Basis::Monomial) => cpu::msm(scalars, &self.kzg.get_g()[..scalars.len()]),
            (Engine::Cpu { g_lagrange }, Basis::Lagrange) => match self.lagrange_copy(g_lagrange) {
                Some(bases) => cpu::msm(scalars, &bases[..scalars.len()]),
                None => self.halo2_msm(basis, scalars),
            },
        };
        let elapsed = start.elapsed();
        self.times.msm_nanos.fetch_add(nanos(elapsed), Ordering::Relaxed);
        self.times.msm_calls.fetch_add(1, Ordering::Relaxed);
        tracing::trace!(
            target: TARGET,
            n = scalars.len(),
            basis = basis.name(),
            backend = self.engine.name(),
            micros = elapsed.as_micros(),
            "commitment"
        );
        result
    }

    /// The host copy of the Lagrange bases for the CPU twin, made on first use.
    fn lagrange_copy<'a>(&self, cell: &'a OnceLock<Option<Vec<G1Affine>>>) -> Option<&'a [G1Affine]> {
        cell.get_or_init(|| match lagrange_bases(&self.kzg) {
            Ok(bases) => Some(bases),
            Err(err) => {
                tracing::warn!(target: TARGET, %err, "cannot read the Lagrange bases; halo2 computes the commitments");
                None
            }
        })
        .as_deref()
    }

    /// The wrapped params' own commitment (halo2's `best_multiexp`).
    fn halo2_msm(&self, basis: Basis, scalars: &[Fr]) -> G1 {
        match basis {
            Basis::Monomial => self.kzg.commit(&Polynomial::new(scalars.to_vec()), Blind::default()),
            Basis::Lagrange => self.kzg.commit_lagrange(&Polynomial::new(scalars.to_vec()), Blind::default()),
        }
    }
}

fn cpu_engine(kzg: &ParamsKZG<Bn256>) -> Engine {
    tracing::info!(target: TARGET, k = kzg.k(), backend = "cpu", "KZG params ready");
    Engine::Cpu { g_lagrange: Arc::default() }
}

fn gpu_engine(kzg: &ParamsKZG<Bn256>, gpu: Arc<Gpu>) -> Result<Engine> {
    let start = Instant::now();
    let g = gpu.upload_bases(kzg.get_g())?;
    let g_lagrange = upload_lagrange(&gpu, kzg)?;
    tracing::info!(
        target: TARGET,
        k = kzg.k(),
        device = %gpu.info().name,
        upload_ms = start.elapsed().as_millis(),
        "KZG params ready, SRS resident on the GPU"
    );
    Ok(Engine::Gpu { gpu, g: Arc::new(g), g_lagrange: Arc::new(g_lagrange) })
}

/// Reads what `Params::write` wrote (halo2's `ParamsKZG` encoding), returning errors where halo2's own
/// `Params::read` panics: it reads the same bytes with the field-range checks on, after checking that `k` is at
/// most `Fr::S` (halo2 would shift by it and allocate `2^k` points).
fn read_kzg<R: io::Read>(reader: &mut R) -> io::Result<ParamsKZG<Bn256>> {
    let mut k = [0u8; 4];
    reader.read_exact(&mut k)?;
    if u32::from_le_bytes(k) > Fr::S {
        return Err(invalid("k exceeds the two-adicity of the BN254 scalar field"));
    }
    ParamsKZG::read_custom(&mut io::Read::chain(&k[..], reader), SerdeFormat::RawBytes)
}

/// Uploads `kzg`'s Lagrange bases; the host copy is dropped once they are on the device.
fn upload_lagrange(gpu: &Gpu, kzg: &ParamsKZG<Bn256>) -> Result<DeviceBases> {
    let g_lagrange = lagrange_bases(kzg).map_err(|err| GpuError::InvalidInput(err.to_string()))?;
    gpu.upload_bases(&g_lagrange)
}

/// Reads the Lagrange bases out of `kzg`, which has no accessor for them, through its raw serialisation
/// (`k`, `g`, `g_lagrange`, `g2`, `s_g2`; points as raw Montgomery coordinates), streamed without buffering it.
/// Every point is checked to be on the curve, the layout against the byte count, and the first point against
/// `kzg`'s own commitment to the first Lagrange polynomial.
fn lagrange_bases(kzg: &ParamsKZG<Bn256>) -> io::Result<Vec<G1Affine>> {
    let n = usize::try_from(kzg.n()).map_err(|_| invalid("the SRS size does not fit in memory"))?;
    let g1_bytes = G1Affine::default().to_raw_bytes().len();
    let g2_bytes = G2Affine::default().to_raw_bytes().len();
    let mut sink = LagrangeSink {
        skip: 4 + n * g1_bytes,
        point_bytes: g1_bytes,
        want: n,
        partial: Vec::with_capacity(g1_bytes),
        points: Vec::with_capacity(n),
        invalid: false,
        total: 0,
    };
    kzg.write_custom(&mut sink, SerdeFormat::RawBytes)?;
    if sink.invalid {
        return Err(invalid("a Lagrange basis point is not on the curve"));
    }
    if sink.points.len() != n || sink.total != 4 + 2 * n * g1_bytes + 2 * g2_bytes {
        return Err(invalid("unexpected ParamsKZG encoding"));
    }
    if n > 0 {
        let first = kzg.commit_lagrange(&Polynomial::new(vec![Fr::ONE]), Blind::default());
        if first.to_affine() != sink.points[0] {
            return Err(invalid("the Lagrange bases read back do not match the params"));
        }
    }
    Ok(sink.points)
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

/// An `io::Write` that keeps the `g_lagrange` section of `ParamsKZG::write_custom`'s output, point by point.
struct LagrangeSink {
    /// Bytes still to skip before `g_lagrange` (`k` and `g`).
    skip: usize,
    point_bytes: usize,
    want: usize,
    partial: Vec<u8>,
    points: Vec<G1Affine>,
    invalid: bool,
    total: usize,
}

impl io::Write for LagrangeSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.total += buf.len();
        let skipped = self.skip.min(buf.len());
        self.skip -= skipped;
        let mut rest = &buf[skipped..];
        while !rest.is_empty() && self.points.len() < self.want {
            let take = (self.point_bytes - self.partial.len()).min(rest.len());
            self.partial.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.partial.len() == self.point_bytes {
                match G1Affine::from_raw_bytes(&self.partial) {
                    Some(point) => self.points.push(point),
                    None => {
                        self.invalid = true;
                        self.points.push(G1Affine::default());
                    }
                }
                self.partial.clear();
            }
        }
        // What follows g_lagrange (g2, s_g2) is only counted.
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'params> Params<'params, G1Affine> for MsmParams {
    type MSM = MSMKZG<Bn256>;

    fn k(&self) -> u32 {
        self.kzg.k()
    }

    fn n(&self) -> u64 {
        self.kzg.n()
    }

    /// Downsizes the wrapped params (halo2 recomputes `g_lagrange`) and refreshes the Lagrange bases: re-uploaded
    /// on the GPU (the resident `g` keeps serving, its prefix is the smaller `g`), copied again on the CPU. A failed
    /// upload moves these params to the CPU, with a warning. Panics if `k` exceeds the current `k`, as halo2 does.
    fn downsize(&mut self, k: u32) {
        self.kzg.downsize(k);
        self.engine = match &self.engine {
            Engine::Gpu { gpu, g, .. } => match upload_lagrange(gpu, &self.kzg) {
                Ok(g_lagrange) => {
                    Engine::Gpu { gpu: Arc::clone(gpu), g: Arc::clone(g), g_lagrange: Arc::new(g_lagrange) }
                }
                Err(err) => {
                    tracing::warn!(target: TARGET, %err, k, "re-uploading the Lagrange bases failed; using the CPU");
                    cpu_engine(&self.kzg)
                }
            },
            Engine::Cpu { .. } => cpu_engine(&self.kzg),
        };
    }

    fn empty_msm(&'params self) -> MSMKZG<Bn256> {
        MSMKZG::new()
    }

    /// `Σ poly[i]·[Lᵢ(s)]G`; the blind is ignored, as in halo2's KZG. Panics if `poly` is longer than `n`.
    fn commit_lagrange(&self, poly: &Polynomial<Fr, LagrangeCoeff>, _: Blind<Fr>) -> G1 {
        self.msm(Basis::Lagrange, poly.values())
    }

    fn write<W: io::Write>(&self, writer: &mut W) -> io::Result<()> {
        self.kzg.write(writer)
    }

    /// Reads halo2's `ParamsKZG` encoding, with errors where halo2's own `read` panics (a truncated file, `k`
    /// past 28, coordinates not below the field modulus); the result runs on the CPU backend.
    fn read<R: io::Read>(reader: &mut R) -> io::Result<Self> {
        read_kzg(reader).map(Self::cpu)
    }
}

impl<'params> ParamsProver<'params, G1Affine> for MsmParams {
    type ParamsVerifier = ParamsKZG<Bn256>;

    fn new(k: u32) -> Self {
        Self::cpu(ParamsKZG::new(k))
    }

    /// `Σ poly[i]·[sⁱ]G`; the blind is ignored, as in halo2's KZG. Panics if `poly` is longer than `n`.
    fn commit(&self, poly: &Polynomial<Fr, Coeff>, _: Blind<Fr>) -> G1 {
        self.msm(Basis::Monomial, poly.values())
    }

    fn get_g(&self) -> &[G1Affine] {
        self.kzg.get_g()
    }

    fn verifier_params(&'params self) -> &'params ParamsKZG<Bn256> {
        &self.kzg
    }
}
