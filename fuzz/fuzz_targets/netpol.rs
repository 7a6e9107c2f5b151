//! The NetworkPolicy evaluator on whatever the loader makes of arbitrary
//! bytes: every pair of pods (and an outside address) on each pod's ports,
//! no panic; a connection neither side's policies isolate is allowed.
#![no_main]

mod common;

use std::net::{IpAddr, Ipv4Addr};

use corral_advise::netpol::eval::{check, Endpoint, Policy};
use corral_advise::netpol::inventory::Inventory;
use corral_core::model::Resource;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let model = common::model(data);
    let inventory = Inventory::from_model(&model);
    let policies: Vec<Policy> = model
        .iter()
        .filter_map(|(_, r)| match r {
            Resource::NetworkPolicy(policy) => Some(Policy::new(policy)),
            _ => None,
        })
        .collect();
    let outside = Endpoint::Address(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)));
    let pods: Vec<Endpoint> = inventory.pods.iter().take(16).map(Endpoint::Pod).collect();
    for from in pods.iter().chain([&outside]) {
        for to in pods.iter().chain([&outside]) {
            let ports = match to {
                Endpoint::Pod(pod) => pod
                    .ports
                    .iter()
                    .map(|(_, port, protocol)| (*port, protocol.as_str()))
                    .collect(),
                Endpoint::Address(_) => vec![(443, "TCP"), (53, "UDP")],
            };
            for (port, protocol) in ports.into_iter().take(8) {
                let decision = check(&policies, &inventory, from, to, port, protocol);
                if !decision.egress.isolated && !decision.ingress.isolated {
                    assert!(
                        decision.allowed,
                        "no policy isolates either side, yet denied"
                    );
                }
            }
        }
    }
});
