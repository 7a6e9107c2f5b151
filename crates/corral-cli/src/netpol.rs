//! `corral netpol check`: would these NetworkPolicies allow a connection?

use clap::{Args, Subcommand, ValueEnum};
use corral_advise::netpol::eval::{check, Endpoint, Policy};
use corral_advise::netpol::inventory::Inventory;
use corral_core::model::Resource;

use crate::advise::load_model;
use crate::cli::CommonArgs;
use crate::output::{self, Status};

#[derive(Args)]
pub struct NetpolArgs {
    #[command(subcommand)]
    pub action: NetpolAction,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum NetpolAction {
    /// Whether the policies allow `--from` to open `--port` on `--to`, and
    /// which policies decided. Exit status 0 when allowed, 1 when denied.
    Check {
        /// NetworkPolicy manifests.
        #[arg(long, value_name = "PATHS", num_args = 1.., required = true)]
        policies: Vec<String>,
        /// Pods (with IPs and labels), Namespaces: manifests or a snapshot.
        #[arg(long, value_name = "PATHS", num_args = 1.., required = true)]
        inventory: Vec<String>,
        /// `NAMESPACE/POD` or an IP address.
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// `PORT/PROTOCOL` (TCP, UDP or SCTP); `PORT` alone is TCP.
        #[arg(long)]
        port: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

fn endpoint<'a>(inventory: &'a Inventory, text: &str) -> Result<Endpoint<'a>, String> {
    if let Ok(ip) = text.parse() {
        return Ok(inventory
            .pod_by_ip(ip)
            .map(Endpoint::Pod)
            .unwrap_or(Endpoint::Address(ip)));
    }
    let (namespace, name) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?}: expected NAMESPACE/POD or an IP address"))?;
    inventory
        .pod(namespace, name)
        .map(Endpoint::Pod)
        .ok_or_else(|| format!("pod {text} is not in the inventory"))
}

fn port(text: &str) -> Result<(i32, String), String> {
    let (number, protocol) = text.split_once('/').unwrap_or((text, "TCP"));
    let protocol = protocol.to_ascii_uppercase();
    if !["TCP", "UDP", "SCTP"].contains(&protocol.as_str()) {
        return Err(format!("{text:?}: the protocol must be TCP, UDP or SCTP"));
    }
    let number: i32 = number
        .parse()
        .ok()
        .filter(|n| (1..=65535).contains(n))
        .ok_or_else(|| format!("{text:?}: the port must be 1 to 65535"))?;
    Ok((number, protocol))
}

pub fn run(args: &NetpolArgs, common: &CommonArgs) -> Result<Status, String> {
    let NetpolAction::Check {
        policies,
        inventory,
        from,
        to,
        port: port_text,
        format,
    } = &args.action;
    let (policy_model, mut diagnostics) = load_model(policies);
    let (inventory_model, more) = load_model(inventory);
    diagnostics.extend(more);
    let policies: Vec<Policy> = policy_model
        .iter()
        .filter_map(|(_, r)| match r {
            Resource::NetworkPolicy(p) => Some(Policy::new(p)),
            _ => None,
        })
        .collect();
    let inventory = Inventory::from_model(&inventory_model);
    let (number, protocol) = port(port_text)?;
    let decision = check(
        &policies,
        &inventory,
        &endpoint(&inventory, from)?,
        &endpoint(&inventory, to)?,
        number,
        &protocol,
    );
    let text = match format {
        Format::Json => output::json(&decision)?,
        Format::Text => {
            let side = |name: &str, side: &corral_advise::netpol::eval::Side| {
                if !side.isolated {
                    format!("  {name}: not isolated (no policy selects the pod)\n")
                } else if side.allowing.is_empty() {
                    format!(
                        "  {name}: denied: selected by {}, none allows it\n",
                        side.selecting.join(", ")
                    )
                } else {
                    format!("  {name}: allowed by {}\n", side.allowing.join(", "))
                }
            };
            format!(
                "{}: {from} → {to} port {number}/{protocol}\n{}{}",
                if decision.allowed {
                    "allowed"
                } else {
                    "denied"
                },
                side("egress", &decision.egress),
                side("ingress", &decision.ingress),
            )
        }
    };
    match format {
        Format::Json => output::write_report(common, &text)?,
        Format::Text => output::write_text_report(common, &text)?,
    }
    output::print_diagnostics(&diagnostics, common);
    if output::input_status(&diagnostics) != Status::Clean {
        return Ok(Status::InputError);
    }
    Ok(if decision.allowed {
        Status::Clean
    } else {
        Status::Findings
    })
}

/// What `advise netpol` writes.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AdviseFormat {
    /// Kubernetes NetworkPolicy (networking.k8s.io/v1), YAML: peers outside
    /// the cluster by address (`ipBlock`).
    Yaml,
    /// The same with the recorded flows, JSON.
    Json,
    /// CiliumNetworkPolicy (cilium.io/v2): peers outside the cluster by the
    /// DNS name they were looked up by (`toFQDNs`), with the DNS rule
    /// Cilium needs to see the lookups (the names looked up, to the cluster
    /// DNS pods).
    Cilium,
    /// Calico NetworkPolicy (projectcalico.org/v3): peers outside the
    /// cluster by name (`destination.domains`, a Calico Enterprise and
    /// Calico Cloud feature; open-source Calico refuses the field).
    Calico,
}

/// The advised policies in Cilium's or Calico's format, each checked
/// against the project's CRD schema and proven with
/// the evaluator: the YAML, the problems, and warnings (peers left by
/// address, names left out).
pub fn advised_by_name(
    advised: &[corral_advise::netpol::advise::Advised],
    inventory: &Inventory,
    format: AdviseFormat,
) -> Result<(String, Vec<String>, Vec<String>), String> {
    use corral_advise::netpol::names::{write, written_yaml, Format};
    let format = match format {
        AdviseFormat::Cilium => Format::Cilium,
        AdviseFormat::Calico => Format::Calico,
        AdviseFormat::Yaml | AdviseFormat::Json => {
            return Err("not a format by name".into());
        }
    };
    let mut text = String::new();
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut objects = Vec::new();
    for a in advised {
        let written =
            write(a, format).map_err(|e| format!("{}/{}: {e}", a.namespace, a.workload))?;
        for error in corral_advise::netpol::crd::validate(format, &written.policy)? {
            problems.push(format!(
                "{}/{}: the CRD schema refuses the policy: {error}",
                a.namespace, a.workload
            ));
        }
        warnings.extend(written.unnamed.iter().cloned());
        for name in &written.invalid_names {
            warnings.push(format!(
                "{}/{}: the recorded DNS question {name:?} is not a DNS name: left out",
                a.namespace, a.workload
            ));
        }
        text.push_str(&format!("---\n{}", written_yaml(a, &written)));
        objects.push(written.policy);
    }
    problems.extend(corral_advise::netpol::prove::prove_names(
        advised, &objects, format, inventory,
    )?);
    Ok((text, problems, warnings))
}
