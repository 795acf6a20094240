//! The Grafana dashboard in deploy/ is checked against the code: it parses, every panel has queries, every query
//! names only metrics the node, the coordinator or the workers export, and every coordinator and worker metric is
//! on it. A renamed metric fails here instead of leaving an empty panel in production.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use serde_json::Value;
use zkr_devtools::workspace_root;

/// Histogram series carry these suffixes after the metric's name.
const SERIES_SUFFIXES: &[&str] = &["_bucket", "_sum", "_count"];

fn exported() -> BTreeSet<&'static str> {
    zkr_coordinator::metrics::ALL
        .iter()
        .chain(zkr_gpu_prover::metric_names::ALL)
        .chain(zkr_node::metrics::ALL)
        .copied()
        .collect()
}

/// The `zkr_*` identifiers in a PromQL expression.
fn metric_tokens(expr: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while let Some(found) = expr[i..].find("zkr_") {
        let start = i + found;
        let boundary = start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let end =
            expr[start..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(expr.len(), |n| start + n);
        if boundary {
            tokens.push(expr[start..end].to_owned());
        }
        i = end;
    }
    tokens
}

/// Every panel, rows' nested panels included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        out.push(panel);
        if let Some(nested) = panel["panels"].as_array() {
            out.extend(nested);
        }
    }
    out
}

#[test]
fn the_dashboard_queries_only_exported_metrics_and_shows_every_cluster_metric() {
    let exported = exported();
    let dir = workspace_root().join("deploy/grafana/dashboards");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        files += 1;
        let name = path.display().to_string();
        let dashboard: Value = serde_json::from_slice(&std::fs::read(&path).unwrap())
            .unwrap_or_else(|e| panic!("{name} is not JSON: {e}"));
        assert!(dashboard["uid"].is_string() && dashboard["title"].is_string(), "{name}: no uid or title");

        let mut used = BTreeSet::new();
        let mut ids = BTreeSet::new();
        for panel in panels(&dashboard) {
            let title = panel["title"].as_str().unwrap_or("?");
            assert!(ids.insert(panel["id"].as_u64().unwrap()), "{name}: panel id repeated at {title}");
            if panel["type"] == "row" {
                continue;
            }
            assert!(panel["description"].as_str().is_some_and(|d| !d.is_empty()), "{name}: {title} has no description");
            let targets = panel["targets"].as_array().unwrap_or_else(|| panic!("{name}: {title} has no queries"));
            assert!(!targets.is_empty(), "{name}: {title} has no queries");
            for target in targets {
                let expr = target["expr"].as_str().unwrap_or_else(|| panic!("{name}: {title}: a query without expr"));
                let tokens = metric_tokens(expr);
                assert!(!tokens.is_empty(), "{name}: {title}: `{expr}` names no zkr metric");
                for token in tokens {
                    let metric = SERIES_SUFFIXES
                        .iter()
                        .find_map(|suffix| token.strip_suffix(suffix).filter(|base| exported.contains(base)))
                        .unwrap_or(&token);
                    assert!(exported.contains(metric), "{name}: {title}: `{token}` is not a metric the code exports");
                    // A histogram is queried through its series; its bare name matches nothing.
                    let histogram = metric.ends_with("_seconds");
                    assert!(
                        !histogram || token != metric,
                        "{name}: {title}: histogram `{metric}` queried without a series suffix"
                    );
                    used.insert(metric.to_owned());
                }
            }
        }
        for metric in zkr_coordinator::metrics::ALL.iter().chain(zkr_gpu_prover::metric_names::ALL) {
            assert!(used.contains(*metric), "{name}: `{metric}` is on no panel");
        }
    }
    assert!(files > 0, "no dashboards in {}", dir.display());
}

#[test]
fn metric_tokens_are_whole_identifiers() {
    assert_eq!(
        metric_tokens("histogram_quantile(0.9, sum by (le) (rate(zkr_a_seconds_bucket[5m]))) / zkr_b"),
        ["zkr_a_seconds_bucket", "zkr_b"]
    );
    assert_eq!(metric_tokens("not_zkr_a + zkr_c{kind=\"chunk\"}"), ["zkr_c"]);
}
