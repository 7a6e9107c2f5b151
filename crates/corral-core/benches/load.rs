//! Loading throughput: plain block YAML (the fast path), YAML that needs the
//! full parser (block scalars and anchors), and the shared corpus if present.
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

criterion_group!(benches, bench_load);
criterion_main!(benches);
