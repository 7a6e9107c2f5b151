//! The cloud JSON readers (`--cloud`) on arbitrary bytes, inside a real
//! scenario so the joins run too: the first byte picks one file of the AWS,
//! GCP or Azure scenario in crates/corral-paths/tests/data, the rest
//! replaces it. The readers either refuse it with an error or build the
//! attack graph, and the scan's attack-path and drift rules run on it; no
//! panic either way.
#![no_main]

mod common;

use corral_cloud::Cloud;
use corral_paths::build_with;
use corral_scan::{scan, Settings};
use libfuzzer_sys::fuzz_target;

macro_rules! scenario {
    ($dir:literal: $($file:literal),+) => {
        (
            include_str!(concat!("../../crates/corral-paths/tests/data/", $dir, "/cluster.yaml")),
            &[$(($file, include_str!(concat!("../../crates/corral-paths/tests/data/", $dir, "/", $file)))),+],
        )
    };
}

type Scenario = (&'static str, &'static [(&'static str, &'static str)]);

const SCENARIOS: [Scenario; 3] = [
    scenario!("aws": "authorization-details.json", "describe-access-entry.json", "describe-cluster.json",
        "describe-instances.json", "describe-pod-identity-association.json", "list-associated-access-policies.json"),
    scenario!("gcp": "cluster.json", "deployer@shop-prod.iam.gserviceaccount.com.json", "shop-prod.iam-policy.json"),
    scenario!("azure": "aks-show.json", "federated-credentials.json", "identity-show.json", "role-assignments.json"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, replacement)) = data.split_first() else {
        return;
    };
    let Ok(replacement) = std::str::from_utf8(replacement) else {
        return;
    };
    let (cluster, files) = SCENARIOS[pick as usize % SCENARIOS.len()];
    let replaced = (pick as usize / SCENARIOS.len()) % files.len();
    let files: Vec<(String, String)> = files
        .iter()
        .enumerate()
        .map(|(i, (name, text))| {
            let text = if i == replaced { replacement } else { text };
            (name.to_string(), text.to_string())
        })
        .collect();
    let Ok(cloud) = Cloud::load(&files) else {
        return;
    };
    let model = common::model(cluster.as_bytes());
    let _ = build_with(&model, &cloud);
    let _ = scan(
        &model,
        &Settings {
            cloud,
            ..Settings::default()
        },
    );
});
