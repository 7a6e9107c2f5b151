//! Loading throughput: plain block YAML (the fast path), YAML that needs the
//! full parser (block scalars and anchors), and the shared corpus if present;
//! and hostile shapes that were quadratic (group `hostile`, the inputs of
//! `bench/gen_hostile.py`): each should take well under a second.
//! Run with `cargo bench -p corral-core`; `bench/run.sh` times the whole binary
//! against the targets.

use std::sync::Arc;

use corral_core::{load, load_bytes, Input, Limits};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn deployments(count: usize, with_block_scalars: bool) -> String {
    let mut text = String::new();
    for i in 0..count {
        text.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  labels: &labels\n    app: app-{i}\nspec:\n  selector:\n    matchLabels: *labels\n  template:\n    metadata:\n      labels: {{app: app-{i}}}\n    spec:\n      containers:\n        - name: app\n          image: registry.example.com/app:1.{i}\n          securityContext:\n            capabilities:\n              drop: [\"ALL\"]\n"
        ));
        if with_block_scalars {
            text.push_str("          command:\n            - sh\n            - -c\n            - |\n              echo starting\n              exec app\n");
        }
    }
    if !with_block_scalars {
        text = text.replace("&labels", "").replace("*labels", "{app: x}");
    }
    text
}

fn bench_load(c: &mut Criterion) {
    let name: Arc<str> = Arc::from("bench.yaml");
    let limits = Limits::default();
    let mut group = c.benchmark_group("load");
    for (label, text) in [
        ("fast-path", deployments(2000, false)),
        ("full-parser", deployments(2000, true)),
    ] {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(label, |b| {
            b.iter(|| load_bytes(&name, text.as_bytes(), &limits, &|_| {}))
        });
    }
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if corpus.exists() {
        group.sample_size(20);
        group.bench_function("shared-corpus", |b| {
            b.iter(|| load(&[Input::Path(corpus.clone())], &limits))
        });
    }
    group.finish();
}

const HEAD: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n";

/// The hostile inputs, as `bench/gen_hostile.py` writes them.
fn hostile() -> Vec<(&'static str, String)> {
    let join = |items: Vec<String>| items.join(", ");
    vec![
        (
            "merge-100k",
            format!(
                "{HEAD}data:\n  <<:\n{}",
                (0..100_000)
                    .map(|i| format!("  - {{k{i}: v}}\n"))
                    .collect::<String>()
            ),
        ),
        (
            "block-map-200k",
            format!(
                "{HEAD}data:\n{}",
                (0..200_000)
                    .map(|i| format!("  k{i}: v\n"))
                    .collect::<String>()
            ),
        ),
        (
            "flow-map-200k",
            format!(
                "{HEAD}data: {{{}}}\n",
                join((0..200_000).map(|i| format!("k{i}: v")).collect())
            ),
        ),
        (
            "block-map-200k-dup",
            format!(
                "{HEAD}data:\n{}  k0: again\n",
                (0..200_000)
                    .map(|i| format!("  k{i}: v\n"))
                    .collect::<String>()
            ),
        ),
        (
            "flow-map-200k-dup",
            format!(
                "{HEAD}data: {{{}, k0: again}}\n",
                join((0..200_000).map(|i| format!("k{i}: v")).collect())
            ),
        ),
        (
            "flow-seq-200k",
            format!(
                "{HEAD}data:\n  l: [{}]\n",
                join((0..200_000).map(|i| format!("v{i}")).collect())
            ),
        ),
        (
            "flow-map-200k-utf8",
            format!(
                "{HEAD}data: {{{}}}\n",
                join((0..200_000).map(|i| format!("é{i}: v")).collect())
            ),
        ),
        ("kindless-1m", "a: 1\n---\n".repeat(1_000_000)),
        (
            "nested-anchors",
            format!(
                "{HEAD}data:\n{}{}leaf: \"{}\"\n",
                (0..200)
                    .map(|i| format!("{}k{i}: &a{i}\n", "  ".repeat(i + 1)))
                    .collect::<String>(),
                "  ".repeat(201),
                "x".repeat(8 << 20)
            ),
        ),
    ]
}

fn bench_hostile(c: &mut Criterion) {
    let name: Arc<str> = Arc::from("hostile.yaml");
    let limits = Limits::default();
    let mut group = c.benchmark_group("hostile");
    group.sample_size(10);
    for (label, text) in hostile() {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(label, |b| {
            b.iter(|| load_bytes(&name, text.as_bytes(), &limits, &|_| {}))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_load, bench_hostile);
criterion_main!(benches);
