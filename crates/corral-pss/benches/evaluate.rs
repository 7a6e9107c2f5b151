//! Pods per second at restricted:latest, on 100,000 generated pods already
//! decoded (loading is measured by corral-core's bench). Half the pods pass,
//! half fail several checks, so both the quiet and the message-building
//! paths are timed.

use corral_pss::{evaluate, Level, LevelVersion, Version};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, PodSecurityContext, PodSpec, SeccompProfile, SecurityContext,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

fn pod(i: usize) -> (ObjectMeta, PodSpec) {
    let hardened = i % 2 == 0;
    let container = |name: String| Container {
        name,
        image: Some("registry.example.com/app:1".into()),
        security_context: hardened.then(|| SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let spec = PodSpec {
        containers: vec![container(format!("app-{i}")), container("sidecar".into())],
        init_containers: Some(vec![container("init".into())]),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(hardened),
            seccomp_profile: hardened.then(|| SeccompProfile {
                type_: "RuntimeDefault".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        host_network: Some(!hardened && i % 3 == 0),
        ..Default::default()
    };
    (ObjectMeta::default(), spec)
}

fn bench_evaluate(c: &mut Criterion) {
    let pods: Vec<(ObjectMeta, PodSpec)> = (0..100_000).map(pod).collect();
    let policy = LevelVersion {
        level: Level::Restricted,
        version: Version::Latest,
    };
    let mut group = c.benchmark_group("pss");
    group.throughput(Throughput::Elements(pods.len() as u64));
    group.sample_size(10);
    group.bench_function("restricted-latest-100k-pods", |b| {
        b.iter(|| {
            pods.iter()
                .filter(|(meta, spec)| evaluate(meta, spec, &policy).allowed())
                .count()
        })
    });
    let passing: Vec<_> = pods.iter().step_by(2).cloned().collect();
    group.throughput(Throughput::Elements(passing.len() as u64));
    group.bench_function("restricted-latest-50k-passing-pods", |b| {
        b.iter(|| {
            passing
                .iter()
                .filter(|(meta, spec)| evaluate(meta, spec, &policy).allowed())
                .count()
        })
    });
    let one = pods[0].clone();
    group.throughput(Throughput::Elements(1));
    group.bench_function("restricted-latest-one-passing-pod-in-cache", |b| {
        b.iter(|| evaluate(&one.0, &one.1, &policy).allowed())
    });
    group.finish();
}

criterion_group!(benches, bench_evaluate);
criterion_main!(benches);
