//! `corral access`: the authorization model asked directly, as the API
//! server would answer. With `--as`: may this subject make this request
//! (exit 0 yes, 1 no, as `kubectl auth can-i`)? Without: who may, each with
//! the binding and the rule that allow it, at their lines.

use clap::Args;
use corral_core::authz::{bootstrap, Authz, Request, Subject};
use corral_core::model::Model;
use serde::Serialize;

use crate::cli::{CommonArgs, LoadArgs};
use crate::output::{self, Status};

#[derive(Args)]
pub struct AccessArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// The verb: get, list, create, update, patch, delete, impersonate,
    /// bind, escalate, approve, use...
    #[arg(long)]
    pub verb: String,
    /// The resource, with its subresource: `pods`, `pods/exec`,
    /// `nodes/proxy`, `serviceaccounts/token`.
    #[arg(long)]
    pub resource: String,
    /// The resource's API group (`apps`, `rbac.authorization.k8s.io`);
    /// empty for the core group.
    #[arg(long, default_value = "")]
    pub group: String,
    /// The object's name, for requests that name one.
    #[arg(long)]
    pub name: Option<String>,
    /// The request's namespace; none for a cluster-scoped resource or all
    /// namespaces.
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
    /// The subject: `sa/NS/NAME`, `user/NAME` or `group/NAME`.
    #[arg(long = "as", value_name = "SUBJECT", value_parser = subject)]
    pub subject: Option<Subject>,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn subject(s: &str) -> Result<Subject, String> {
    match s.splitn(3, '/').collect::<Vec<_>>().as_slice() {
        ["sa", namespace, name] if !namespace.is_empty() && !name.is_empty() => {
            Ok(Subject::ServiceAccount {
                namespace: namespace.to_string(),
                name: name.to_string(),
            })
        }
        ["user", name] if !name.is_empty() => Ok(Subject::user(name)),
        ["group", name] if !name.is_empty() => Ok(Subject::Group(name.to_string())),
        _ => Err(format!(
            "expected sa/NS/NAME, user/NAME or group/NAME, got `{s}`"
        )),
    }
}

/// One binding that allows the request.
#[derive(Serialize)]
struct Allowed {
    /// The subjects the binding names.
    subjects: Vec<String>,
    binding: String,
    binding_at: String,
    role: String,
    /// The rule that allows it, where it is written.
    rule_at: String,
    /// Built into every cluster (the API server's bootstrap policy).
    built_in: bool,
}

#[derive(Serialize)]
struct Answer {
    request: String,
    subject: Option<String>,
    allowed: bool,
    by: Vec<Allowed>,
}

pub fn run(args: &AccessArgs, common: &CommonArgs) -> Result<Status, String> {
    let loaded = output::load(&args.load, common, &crate::snapshot::ACCESS)?;
    let mut diagnostics = loaded.diagnostics;
    let (model, errors) = Model::build(loaded.objects, &args.load.template_paths());
    diagnostics.extend(errors);
    let authz = Authz::new(&model);
    let mut request = Request::new(&args.verb, &args.group, &args.resource);
    if let Some(name) = &args.name {
        request = request.named(name);
    }
    if let Some(namespace) = &args.namespace {
        request = request.in_namespace(namespace);
    }
    let granted: Vec<_> = match &args.subject {
        Some(subject) => authz.allows(subject, &request).into_iter().collect(),
        None => authz.who_may(&request),
    };
    let at = |object: &corral_core::Object, path: &str| {
        format!("{}:{}", object.file, object.pos_nearest(path).line)
    };
    let answer = Answer {
        request: describe(args),
        subject: args.subject.as_ref().map(Subject::label),
        allowed: !granted.is_empty(),
        by: granted
            .iter()
            .map(|(binding, rule)| Allowed {
                subjects: binding.subjects.iter().map(|(_, s)| s.label()).collect(),
                binding: binding.label(),
                binding_at: at(binding.object, "roleRef"),
                role: binding.role_label(),
                rule_at: at(rule.object, &rule.path()),
                built_in: bootstrap::is_builtin(&binding.object.file),
            })
            .collect(),
    };
    if args.json {
        output::write_report(common, &output::json(&answer)?)?;
    } else {
        output::write_text_report(common, &text(&answer))?;
    }
    output::print_diagnostics(&diagnostics, common);
    if output::input_status(&diagnostics) == Status::InputError {
        return Ok(Status::InputError);
    }
    Ok(match (&args.subject, answer.allowed) {
        (Some(_), false) => Status::Findings,
        _ => Status::Clean,
    })
}

fn describe(args: &AccessArgs) -> String {
    let group = if args.group.is_empty() {
        String::new()
    } else {
        format!(".{}", args.group)
    };
    let name = args
        .name
        .as_deref()
        .map_or(String::new(), |n| format!(" {n}"));
    let namespace = args
        .namespace
        .as_deref()
        .map_or(" (cluster-wide)".to_string(), |ns| {
            format!(" in namespace {ns}")
        });
    format!("{} {}{group}{name}{namespace}", args.verb, args.resource)
}

fn text(answer: &Answer) -> String {
    let mut out = match &answer.subject {
        Some(subject) if answer.allowed => format!("yes: {subject} may {}\n", answer.request),
        Some(subject) => format!("no: {subject} may not {}\n", answer.request),
        None => format!("{} binding(s) allow {}\n", answer.by.len(), answer.request),
    };
    for allowed in &answer.by {
        out.push_str(&format!(
            "  {} ({}) -> {}{}\n    subjects: {}\n    rule: {}\n",
            allowed.binding,
            allowed.binding_at,
            allowed.role,
            if allowed.built_in { ", built in" } else { "" },
            if allowed.subjects.is_empty() {
                "none".to_string()
            } else {
                allowed.subjects.join(", ")
            },
            allowed.rule_at
        ));
    }
    out
}
