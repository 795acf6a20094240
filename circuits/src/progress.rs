//! Long stages (SRS and key generation, proofs) announced with an estimate of the time they take and, while they
//! run, of the time left.
//!
//! The estimate is the time the same stage took last on this machine, kept in `<keys dir>/stage-times.json`; before
//! the first run it is the project's own measurement on its 2-core development machine (docs/perf.md), scaled by the
//! circuit's rows, so a larger machine finishes early. Key generation and the development SRS log their progress
//! every [`TICK`]; proofs log their estimate when they start and their time when they end (a worker proves many).

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    sync::mpsc::{self, RecvTimeoutError, Sender},
    thread,
    time::{Duration, Instant},
};

const TARGET: &str = "zkr_circuits::progress";

/// How often a long stage logs its progress.
pub const TICK: Duration = Duration::from_secs(15);

/// File of the stage times, in the keys folder.
const FILE: &str = "stage-times.json";

/// Seconds per row (`2^k`) that the stages took on the project's 2-core development machine (docs/perf.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// Generating a development SRS.
    Srs,
    /// Chunk circuit keys.
    ChunkKeys,
    /// A chunk proof.
    ChunkProof,
    /// Aggregation keys for this many chunks.
    AggregationKeys(usize),
    /// An aggregation proof of this many chunks.
    AggregationProof(usize),
}

impl Model {
    /// The estimate for a circuit of `2^k` rows.
    pub fn estimate(self, k: u32) -> Duration {
        let rows = (1u64 << k) as f64;
        let seconds_per_row = match self {
            // 150.6 s at 2^20.
            Self::Srs => 1.44e-4,
            // 6.0 s at 2^16 (2 slots), 15.5 s at 2^17 (8 slots).
            Self::ChunkKeys => 1.1e-4,
            // 50.7 s at 2^16, 96.1 s at 2^17, 194.4 s at 2^18.
            Self::ChunkProof => 7.5e-4,
            // 173.7 s at 2^20 for 1 chunk, 341.9 s for 2.
            Self::AggregationKeys(n) => 1.66e-4 * (1.0 + 0.97 * (n.max(1) - 1) as f64),
            // 272.7 s at 2^20 for 1 chunk, 465.2 s for 2.
            Self::AggregationProof(n) => 2.6e-4 * (1.0 + 0.71 * (n.max(1) - 1) as f64),
        };
        Duration::from_secs_f64(rows * seconds_per_row)
    }
}

/// A stage under way; [`Stage::finish`] records its time for the next estimate.
#[derive(Debug)]
pub struct Stage {
    name: String,
    file: PathBuf,
    started: Instant,
    /// Held only to be dropped with the stage, which stops the ticker.
    _ticking: Sender<()>,
}

/// Starts stage `name` (a file-name-like key, the same for the same work) whose times are kept in `dir`. With `tick`,
/// a thread logs the progress every [`TICK`] until the stage ends.
pub fn start(dir: &Path, name: &str, model: Duration, tick: bool) -> Stage {
    let file = dir.join(FILE);
    let (estimate, source) = match read(&file).get(name) {
        Some(seconds) => (Duration::from_secs_f64(*seconds), "the last run on this machine"),
        None => (model, "the 2-core reference machine"),
    };
    tracing::info!(target: TARGET, stage = name, estimate_s = estimate.as_secs(), from = source, "starting");
    let started = Instant::now();
    // The ticker logs until the stage ends: dropping the stage drops `ticking`, which wakes and stops it at once.
    let (ticking, stopped) = mpsc::channel::<()>();
    if tick {
        let name = name.to_string();
        let _ = thread::Builder::new().name("zkr-progress".into()).spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                let elapsed = started.elapsed();
                let left = estimate.saturating_sub(elapsed);
                let percent = (100.0 * elapsed.as_secs_f64() / estimate.as_secs_f64().max(1.0)).min(99.0);
                tracing::info!(
                    target: TARGET,
                    stage = %name,
                    elapsed_s = elapsed.as_secs(),
                    left_s = left.as_secs(),
                    "{percent:.0}% (about {}s left)",
                    left.as_secs()
                );
            }
        });
    }
    Stage { name: name.to_string(), file, started, _ticking: ticking }
}

impl Stage {
    /// Ends the stage and keeps its time for the next estimate.
    pub fn finish(self) -> Duration {
        let elapsed = self.started.elapsed();
        let mut times = read(&self.file);
        times.insert(self.name.clone(), elapsed.as_secs_f64());
        if let Ok(json) = serde_json::to_vec_pretty(&times) {
            // Best effort: a read-only keys folder only loses the estimate.
            if let Some(dir) = self.file.parent() {
                let _ = fs::create_dir_all(dir);
            }
            let _ = fs::write(&self.file, json);
        }
        tracing::info!(target: TARGET, stage = %self.name, seconds = elapsed.as_secs_f64(), "done");
        elapsed
    }
}

fn read(file: &Path) -> BTreeMap<String, f64> {
    fs::read(file).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_is_the_last_time_on_this_machine_else_the_model() {
        let dir = tempfile::tempdir().unwrap();
        let model = Model::ChunkProof.estimate(16);
        assert!(model > Duration::from_secs(40) && model < Duration::from_secs(60), "{model:?}");
        assert!(read(&dir.path().join(FILE)).is_empty());
        let stage = start(dir.path(), "chunk_proof_k16_s2", model, false);
        let elapsed = stage.finish();
        let times = read(&dir.path().join(FILE));
        assert_eq!(times.get("chunk_proof_k16_s2"), Some(&elapsed.as_secs_f64()));
        // A second stage keeps the first one's time.
        start(dir.path(), "srs_k20", Model::Srs.estimate(20), true).finish();
        assert_eq!(read(&dir.path().join(FILE)).len(), 2);
    }

    #[test]
    fn larger_batches_take_longer() {
        assert!(Model::AggregationKeys(2).estimate(20) > Model::AggregationKeys(1).estimate(20));
        assert!(Model::AggregationProof(4).estimate(20) > Model::AggregationProof(2).estimate(20));
        assert!(Model::Srs.estimate(21) > Model::Srs.estimate(20));
    }
}
