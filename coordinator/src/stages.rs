//! Proving time per stage, by worker backend and GPU model, from the workers' progress reports: the status page's
//! "Proving stages" table and the labels of `zkr_coordinator_stage_seconds`.
//!
//! Kept in memory by each coordinator replica (progress streams are not stored): a replica shows the reports it
//! received, the most recent [`WINDOW`] per row.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Mutex, MutexGuard, PoisonError},
};

use crate::{status::Latency, store::JobKind};

/// Reports kept per (backend, device, kind, stage).
pub const WINDOW: usize = 200;

/// What the status page shows of one worker's device.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Device {
    /// `cpu` or `cuda`.
    pub backend: String,
    /// The GPU model, empty on the CPU.
    pub gpu: String,
}

/// One row: a stage's recent durations for one kind of job on one kind of device.
#[derive(Debug, Clone, PartialEq)]
pub struct StageRow {
    /// The workers' device.
    pub device: Device,
    /// Chunk or aggregation jobs.
    pub kind: JobKind,
    /// The stage's metric label (`witness`, `msm`, `quotient`, ...).
    pub stage: &'static str,
    /// The summary over the most recent reports.
    pub latency: Latency,
}

/// A row's identity: the device, the job kind and the stage label.
type StageKey = (Device, JobKind, &'static str);

/// The rolling windows, and which device each worker registered with.
#[derive(Debug, Default)]
pub struct StageStats {
    windows: Mutex<HashMap<StageKey, VecDeque<f64>>>,
    devices: Mutex<HashMap<String, Device>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl StageStats {
    /// Remembers the device `worker` registered with.
    pub fn worker(&self, worker: &str, device: Device) {
        lock(&self.devices).insert(worker.to_owned(), device);
    }

    /// The device `worker` registered with, if this replica knows it.
    pub fn device_of(&self, worker: &str) -> Option<Device> {
        lock(&self.devices).get(worker).cloned()
    }

    /// Records one finished stage.
    pub fn record(&self, device: Device, kind: JobKind, stage: &'static str, seconds: f64) {
        let mut windows = lock(&self.windows);
        let window = windows.entry((device, kind, stage)).or_default();
        // Newest first, as `Latency::of` reads it.
        window.push_front(seconds);
        window.truncate(WINDOW);
    }

    /// Every row, ordered by device, kind and the order stages run in.
    pub fn rows(&self) -> Vec<StageRow> {
        let windows = lock(&self.windows);
        let mut rows: Vec<StageRow> = windows
            .iter()
            .filter_map(|((device, kind, stage), window)| {
                let newest_first: Vec<f64> = window.iter().copied().collect();
                Latency::of(*kind, &newest_first).map(|latency| StageRow {
                    device: device.clone(),
                    kind: *kind,
                    stage,
                    latency,
                })
            })
            .collect();
        rows.sort_by(|a, b| {
            (&a.device, a.kind.as_str(), stage_order(a.stage)).cmp(&(&b.device, b.kind.as_str(), stage_order(b.stage)))
        });
        rows
    }
}

/// Stages in the order a job goes through them; unknown ones last.
fn stage_order(stage: &str) -> usize {
    const ORDER: [&str; 9] =
        ["witness", "aggregation", "msm", "ntt", "quotient", "opening", "verify", "total", "unspecified"];
    ORDER.iter().position(|s| *s == stage).unwrap_or(ORDER.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(backend: &str, gpu: &str) -> Device {
        Device { backend: backend.into(), gpu: gpu.into() }
    }

    #[test]
    fn rows_summarise_the_recent_reports_per_device_kind_and_stage() {
        let stats = StageStats::default();
        stats.worker("w1", device("cuda", "NVIDIA H100"));
        assert_eq!(stats.device_of("w1"), Some(device("cuda", "NVIDIA H100")));
        assert_eq!(stats.device_of("w2"), None);
        for i in 0..(WINDOW + 50) {
            stats.record(device("cpu", ""), JobKind::Chunk, "msm", i as f64);
        }
        stats.record(device("cpu", ""), JobKind::Chunk, "witness", 1.0);
        stats.record(device("cuda", "NVIDIA H100"), JobKind::Chunk, "total", 2.0);
        let rows = stats.rows();
        let labels: Vec<(&str, &str)> = rows.iter().map(|r| (r.device.backend.as_str(), r.stage)).collect();
        assert_eq!(labels, [("cpu", "witness"), ("cpu", "msm"), ("cuda", "total")]);
        let msm = &rows[1].latency;
        assert_eq!(msm.samples as usize, WINDOW, "only the newest reports");
        assert_eq!(msm.last, (WINDOW + 49) as f64);
        assert_eq!(msm.max, (WINDOW + 49) as f64);
    }
}
