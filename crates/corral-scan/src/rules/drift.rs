//! Cluster ↔ cloud drift: identities one side still grants and the other
//! forgot, and cloud settings that leave the node's credentials to pods.
//! Each finding names both sides: the manifest's line and the cloud's
//! file, line and object. They need the cloud's files (`corral scan
//! --cloud`, `corral drift --cloud`); without them nothing fires.

use std::collections::{BTreeSet, HashMap};

use corral_cloud::aws::{federating, web_identity_trusts};
use corral_cloud::{azure, strings, Cloud};
use corral_core::model::{Model, Resource};
use corral_core::{Object, Pos};
use corral_paths::cloud_edges as reach;
use serde_json::Value;

use crate::declare_rule;
use crate::finding::Finding;
use crate::rule::{Context, Rule, RuleMeta};

pub static RULES: &[&dyn Rule] = &[
    &IrsaAnnotationNotTrusted,
    &TrustsMissingServiceAccount,
    &IrsaTrustWildcardSubject,
    &IrsaTrustWithoutAudience,
    &SignInUnknownPrincipal,
    &SignInSystemMasters,
    &ImdsOpenToPods,
    &GkeAnnotationNotBound,
    &GkeLegacyMetadata,
    &GkeDefaultComputeFullScope,
    &AksLabelWithoutIdentity,
];

const IRSA_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
const GKE_ANNOTATION: &str = "iam.gke.io/gcp-service-account";
const AKS_ANNOTATION: &str = "azure.workload.identity/client-id";
const SUBJECT_PREFIX: &str = "system:serviceaccount:";

/// `file:line` of a manifest field, for the other side's evidence.
fn at(object: &Object, field: &str) -> String {
    let pos = object.pos_nearest(field);
    format!("{}:{}", object.file.trim_start_matches("./"), pos.line)
}

fn cloud_at(file: &str, pos: Pos) -> String {
    format!("{}:{}", file.trim_start_matches("./"), pos.line)
}

/// A cloud record's place, as `Finding::in_cloud_file` takes it.
fn place(pos: Pos) -> (u32, u32) {
    (pos.line, pos.col)
}

/// `path.key` (`key` alone at the root), quoting a key that holds dots
/// or brackets (condition keys name an issuer's host).
fn child(path: &str, key: &str) -> String {
    let step = if key.contains(['.', '[', ']']) {
        format!("[\"{key}\"]")
    } else if path.is_empty() {
        key.to_string()
    } else {
        format!(".{key}")
    };
    format!("{path}{step}")
}

/// The service accounts the manifests show to exist: their objects, the
/// accounts workloads run as (a pod cannot be created without its
/// account), and `default` in each namespace they show.
struct Accounts<'a> {
    known: BTreeSet<(String, String)>,
    namespaces: BTreeSet<String>,
    /// Each account object, with its annotations.
    objects: Vec<(
        &'a Object,
        String,
        String,
        &'a std::collections::BTreeMap<String, String>,
    )>,
}

impl<'a> Accounts<'a> {
    fn of(model: &'a Model) -> Accounts<'a> {
        static NONE: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
        let mut accounts = Accounts {
            known: BTreeSet::new(),
            namespaces: BTreeSet::new(),
            objects: Vec::new(),
        };
        for (object, resource) in model.iter() {
            let namespace = object.namespace.clone().unwrap_or_else(|| "default".into());
            match resource {
                Resource::Namespace(_) => {
                    accounts
                        .namespaces
                        .insert(object.name.clone().unwrap_or_default());
                }
                Resource::ServiceAccount(account) => {
                    let name = object.name.clone().unwrap_or_default();
                    accounts.known.insert((namespace.clone(), name.clone()));
                    let annotations = account.metadata.annotations.as_ref().unwrap_or(&NONE);
                    accounts
                        .objects
                        .push((object, namespace.clone(), name, annotations));
                }
                Resource::Workload(template) => {
                    accounts
                        .known
                        .insert((namespace.clone(), template.service_account().to_string()));
                }
                _ => {}
            }
            if object.namespace.is_some() {
                accounts.namespaces.insert(namespace);
            }
        }
        accounts
    }

    fn exists(&self, namespace: &str, name: &str) -> bool {
        self.known
            .contains(&(namespace.to_string(), name.to_string()))
            || (name == "default" && self.namespaces.contains(namespace))
    }
}

/// `system:serviceaccount:NS:NAME` → (NS, NAME).
fn subject_account(subject: &str) -> Option<(&str, &str)> {
    let rest = subject.strip_prefix(SUBJECT_PREFIX)?;
    let (namespace, name) = rest.split_once(':')?;
    (!namespace.is_empty() && !name.is_empty() && !name.contains(':')).then_some((namespace, name))
}

/// The values a statement's Condition gives `key` (case-insensitive), by
/// operator, with the path of the key's values under the statement
/// (`Condition.StringEquals["ISSUER:sub"]`).
fn condition_values(statement: &Value, key: &str) -> Vec<(String, Vec<String>, String)> {
    let key = key.to_ascii_lowercase();
    statement["Condition"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(operator, keys)| {
            let (written, values) = keys
                .as_object()?
                .iter()
                .find(|(k, _)| k.to_ascii_lowercase() == key)?;
            let path = child(&child("Condition", operator), written);
            Some((operator.clone(), strings(values), path))
        })
        .collect()
}

/// A condition operator without its `ForAnyValue:`/`ForAllValues:`
/// prefix and `IfExists` suffix (the token always carries `sub` and `aud`,
/// one value each, so neither changes what the operator allows).
fn base_operator(operator: &str) -> &str {
    let operator = operator
        .strip_prefix("ForAnyValue:")
        .or_else(|| operator.strip_prefix("ForAllValues:"))
        .unwrap_or(operator);
    operator.strip_suffix("IfExists").unwrap_or(operator)
}

/// Does the operator allow the values it lists (and only those), rather
/// than exclude them or compare otherwise?
fn lists_allowed(operator: &str) -> bool {
    matches!(
        base_operator(operator),
        "StringEquals" | "StringEqualsIgnoreCase" | "StringLike"
    )
}

/// A value that stands for itself: no wildcard, no policy variable.
fn literal(value: &str) -> bool {
    !value.contains(['*', '?']) && !value.contains("${")
}

/// Does one of the statement's conditions limit `key` to values it lists
/// literally? Conditions all must hold, so one such is enough.
fn limited_to_literals(conditions: &[(String, Vec<String>, String)]) -> bool {
    conditions.iter().any(|(operator, values, _)| {
        lists_allowed(operator) && !values.is_empty() && values.iter().all(|v| literal(v))
    })
}

/// Each federating statement of each role, with the cluster's issuer it
/// trusts: (role, issuer, statement, the statement's path in the role's
/// file).
fn trust_statements(cloud: &Cloud) -> Vec<(&corral_cloud::aws::Role, &str, &Value, String)> {
    let mut found = Vec::new();
    for role in &cloud.aws.roles {
        for issuer in &cloud.aws.issuers {
            for (index, statement) in federating(&role.trust, issuer).unwrap_or_default() {
                found.push((role, issuer.as_str(), statement, role.statement_path(index)));
            }
        }
    }
    found
}

/// An IAM principal's account and last name segment: aws-auth takes role
/// ARNs without their path.
fn account_and_name(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (_, _, _, _, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    Some((account, resource.rsplit('/').next()?))
}

declare_rule! {
    /// ## What it does
    /// Flags a service account annotated `eks.amazonaws.com/role-arn` with
    /// a role whose trust policy (in `aws iam
    /// get-account-authorization-details`) does not let this account's
    /// token assume it from the cluster's OIDC issuer, or with a role the
    /// account does not have.
    ///
    /// ## Why it matters
    /// The annotation is dead: the workload's AWS calls fail, or it names
    /// the wrong role and someone will widen a trust policy to make it
    /// work. Either way the two sides disagree on who the workload is.
    ///
    /// ## How to fix
    /// Point the annotation at the role meant for this account, or add
    /// this exact `sub` (`system:serviceaccount:NS:NAME`) and `aud`
    /// (`sts.amazonaws.com`) to the role's trust policy; remove an
    /// annotation nothing uses.
    ///
    /// ## References
    /// - https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html
    IrsaAnnotationNotTrusted, "CRL-D001", "irsa-annotation-not-trusted", CloudDrift, Medium,
    "The service account's IAM role does not trust it"
}

impl Rule for IrsaAnnotationNotTrusted {
    fn check_model(&self, context: &Context, out: &mut Vec<Finding>) {
        let cloud = &context.settings.cloud;
        if cloud.aws.iam_files.is_empty() || cloud.aws.issuers.is_empty() {
            return;
        }
        let field = "metadata.annotations[\"eks.amazonaws.com/role-arn\"]";
        // Roles by ARN, the first of each (one lookup per account).
        let mut roles: HashMap<&str, &corral_cloud::aws::Role> = HashMap::new();
        for role in &cloud.aws.roles {
            roles.entry(role.arn.as_str()).or_insert(role);
        }
        for (object, namespace, name, annotations) in Accounts::of(context.model).objects {
            let Some(arn) = annotations.get(IRSA_ANNOTATION) else {
                continue;
            };
            let (message, fix) = match roles.get(arn.as_str()) {
                None => (
                    format!(
                        "service account {namespace}/{name} is annotated with {arn}, which the account's IAM details ({}) do not have",
                        cloud.aws.iam_files.join(", ")
                    ),
                    "point the annotation at an existing role, or remove it".to_string(),
                ),
                Some(role) => {
                    let trusted = cloud
                        .aws
                        .issuers
                        .iter()
                        .any(|issuer| web_identity_trusts(&role.trust, issuer, &namespace, &name).is_some());
                    if trusted {
                        continue;
                    }
                    let trust = cloud.pos(&role.file, &format!("{}.AssumeRolePolicyDocument", role.path));
                    (
                        format!(
                            "service account {namespace}/{name} is annotated with {arn}, but the role's trust policy ({}, role {}) does not let system:serviceaccount:{namespace}:{name} assume it from the cluster's issuer",
                            cloud_at(&role.file, trust),
                            role.name
                        ),
                        format!(
                            "add sub system:serviceaccount:{namespace}:{name} and aud sts.amazonaws.com to {}'s trust policy, or annotate the account with the role meant for it",
                            role.name
                        ),
                    )
                }
            };
            out.push(Finding::new(&Self::META, object, field, message, fix));
        }
    }
}

declare_rule! {
    /// ## What it does
    /// Flags a cloud identity that trusts a Kubernetes service account the
    /// cluster does not have: an AWS role trust policy (`StringEquals` on
    /// `sub`) or EKS Pod Identity association, a GCP Workload Identity
    /// binding (`serviceAccount:POOL[NS/KSA]` or `principal://`), an Azure
    /// federated identity credential. The account counts as present when
    /// the manifests define it, a workload runs as it, or it is `default`
    /// of a namespace they show; only trust in this cluster's issuer or
    /// workload pool is judged.
    ///
    /// ## Why it matters
    /// Whoever may create that service account (or its namespace) gets the
    /// cloud identity: a stale grant waiting to be claimed.
    ///
    /// ## How to fix
    /// Remove the grant, or narrow it to the account that exists.
    ///
    /// ## References
    /// - https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html
    /// - https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity
    /// - https://learn.microsoft.com/azure/aks/workload-identity-overview
    TrustsMissingServiceAccount, "CRL-D002", "cloud-trusts-missing-service-account", CloudDrift, High,
    "A cloud identity trusts a service account the cluster does not have"
}

impl Rule for TrustsMissingServiceAccount {
    fn check_model(&self, context: &Context, out: &mut Vec<Finding>) {
        let cloud = &context.settings.cloud;
        if cloud.aws.roles.is_empty()
            && cloud.aws.pod_identities.is_empty()
            && cloud.gcp.policies.is_empty()
            && cloud.azure.federated.is_empty()
        {
            return;
        }
        let accounts = Accounts::of(context.model);
        let fix = "remove the grant, or narrow it to a service account that exists".to_string();
        // `field` names what is stale (the finding's identity); `path` is
        // where it is in the file.
        let mut finding =
            |file: &str, path: &str, field: &str, kind: &str, name: &str, message: String| {
                out.push(Finding::in_cloud_file(
                    &Self::META,
                    file,
                    place(cloud.pos(file, path)),
                    kind,
                    name,
                    field,
                    message,
                    fix.clone(),
                ));
            };
        // AWS: exact subjects in trust policies, Pod Identity associations.
        for (role, issuer, statement, at) in trust_statements(cloud) {
            for (operator, values, key) in condition_values(statement, &format!("{issuer}:sub")) {
                if !lists_allowed(&operator) {
                    continue;
                }
                for subject in values.iter().filter(|v| literal(v)) {
                    let Some((namespace, name)) = subject_account(subject) else {
                        continue;
                    };
                    if !accounts.exists(namespace, name) {
                        finding(
                            &role.file,
                            &format!("{at}.{key}"),
                            subject,
                            "AWS IAM role",
                            &role.arn,
                            format!(
                                "the trust policy of {} lets {subject} assume the role, but the cluster has no service account {namespace}/{name}: whoever may create it gets the role",
                                role.name
                            ),
                        );
                    }
                }
            }
        }
        for association in &cloud.aws.pod_identities {
            let (namespace, name) = (&association.namespace, &association.service_account);
            if !accounts.exists(namespace, name) {
                finding(
                    &association.file,
                    &format!("{}.serviceAccount", association.path),
                    name,
                    "EKS Pod Identity association",
                    &format!("{namespace}/{name}"),
                    format!(
                        "the Pod Identity association gives {} to service account {namespace}/{name}, which the cluster does not have: whoever may create it gets the role",
                        association.role
                    ),
                );
            }
        }
        // GCP: Workload Identity bindings for the cluster's pool.
        let pools: BTreeSet<&str> = cloud
            .gcp
            .clusters
            .iter()
            .filter_map(|c| c.workload_pool.as_deref())
            .collect();
        for policy in &cloud.gcp.policies {
            for binding in &policy.bindings {
                for (index, member) in binding.members.iter().enumerate() {
                    let Some((pool, namespace, name)) = workload_identity_member(member) else {
                        continue;
                    };
                    if pools.contains(pool) && !accounts.exists(namespace, name) {
                        finding(
                            &policy.file,
                            &format!("{}.members[{index}]", binding.path),
                            member,
                            "GCP IAM binding",
                            member,
                            format!(
                                "{} is granted to {member}, but the cluster has no service account {namespace}/{name}: whoever may create it gets the role",
                                binding.role
                            ),
                        );
                    }
                }
            }
        }
        // Azure: federated credentials that trust the cluster's issuer.
        let issuers: BTreeSet<&str> = cloud
            .azure
            .clusters
            .iter()
            .filter_map(|c| c.issuer.as_deref())
            .collect();
        for credential in &cloud.azure.federated {
            let Some((namespace, name)) = subject_account(&credential.subject) else {
                continue;
            };
            if issuers.contains(credential.issuer.as_str()) && !accounts.exists(namespace, name) {
                finding(
                    &credential.file,
                    &child(&credential.path, "subject"),
                    &credential.subject,
                    "Azure federated identity credential",
                    &credential.name,
                    format!(
                        "federated credential {} trusts {}, but the cluster has no service account {namespace}/{name}: whoever may create it gets the managed identity",
                        credential.name, credential.subject
                    ),
                );
            }
        }
    }
}

/// A GKE Workload Identity member: `serviceAccount:POOL[NS/KSA]` or
/// `principal://.../workloadIdentityPools/POOL/subject/ns/NS/sa/KSA`.
fn workload_identity_member(member: &str) -> Option<(&str, &str, &str)> {
    if let Some(rest) = member.strip_prefix("serviceAccount:") {
        let (pool, account) = rest.split_once('[')?;
        let (namespace, name) = account.strip_suffix(']')?.split_once('/')?;
        return Some((pool, namespace, name));
    }
    let rest = member
        .strip_prefix("principal://iam.googleapis.com/")?
        .split_once("/workloadIdentityPools/")?
        .1;
    let (pool, subject) = rest.split_once("/subject/ns/")?;
    let (namespace, name) = subject.split_once("/sa/")?;
    Some((pool, namespace, name))
}

declare_rule! {
    /// ## What it does
    /// Flags an AWS role trust policy that lets the cluster's OIDC tokens
    /// assume it for a pattern of service accounts (`StringLike` on `sub`
    /// with `*` or `?`, such as `system:serviceaccount:NS:*`) or for any
    /// of them (no condition on `sub`, or only conditions that name no
    /// account it allows, such as `StringNotEquals` or `Null`). The
    /// `ForAnyValue:`/`ForAllValues:` and `IfExists` forms count as the
    /// operator itself (the token carries one `sub`).
    ///
    /// ## Why it matters
    /// Every service account the pattern matches gets the role, including
    /// accounts created later by anyone who may create service accounts or
    /// pods in those namespaces.
    ///
    /// ## How to fix
    /// Use `StringEquals` on `sub` with the exact
    /// `system:serviceaccount:NS:NAME` of each account that needs it.
    ///
    /// ## References
    /// - https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html
    /// - https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html
    IrsaTrustWildcardSubject, "CRL-D003", "irsa-trust-wildcard-subject", CloudDrift, High,
    "An IAM role trusts a pattern of service accounts"
}

impl Rule for IrsaTrustWildcardSubject {
    fn check_model(&self, context: &Context, out: &mut Vec<Finding>) {
        let cloud = &context.settings.cloud;
        for (role, issuer, statement, at) in trust_statements(cloud) {
            let subjects = condition_values(statement, &format!("{issuer}:sub"));
            if limited_to_literals(&subjects) {
                continue;
            }
            let patterns: Vec<String> = subjects
                .iter()
                .filter(|(operator, _, _)| lists_allowed(operator))
                .flat_map(|(_, values, _)| values.iter())
                .filter(|v| !literal(v))
                .cloned()
                .collect();
            let message = if subjects.is_empty() {
                format!(
                    "the trust policy of {} lets every service account of the cluster assume it: no condition on {issuer}:sub",
                    role.name
                )
            } else if !patterns.is_empty() {
                format!(
                    "the trust policy of {} lets every service account matching {} assume it",
                    role.name,
                    patterns.join(", ")
                )
            } else {
                let operators: Vec<&str> = subjects.iter().map(|(o, _, _)| o.as_str()).collect();
                format!(
                    "the trust policy of {} lets every service account of the cluster assume it that its conditions on {issuer}:sub ({}) do not exclude: none limits it to named accounts",
                    role.name,
                    operators.join(", ")
                )
            };
            // The pattern's key when there is one, else the statement.
            let path = match subjects.first() {
                Some((_, _, key)) => format!("{at}.{key}"),
                None => at.clone(),
            };
            out.push(Finding::in_cloud_file(
                &Self::META,
                &role.file,
                place(cloud.pos(&role.file, &path)),
                "AWS IAM role",
                &role.arn,
                "AssumeRolePolicyDocument.Condition",
                message,
                format!(
                    "condition {issuer}:sub with StringEquals on each exact system:serviceaccount:NS:NAME that needs {}",
                    role.name
                ),
            ));
        }
    }
}

declare_rule! {
    /// ## What it does
    /// Flags an AWS role trust policy for the cluster's OIDC issuer with
    /// no condition on `aud` that limits it to audiences it names
    /// (`StringEquals`, `StringEqualsIgnoreCase`, or `StringLike` without
    /// wildcards, in any of their set or `IfExists` forms).
    ///
    /// ## Why it matters
    /// Without `aud`, a token the API server issued for another audience
    /// (another service's, or the API server's own, which every pod
    /// mounts) is accepted as well: the role is not limited to tokens
    /// minted for STS.
    ///
    /// ## How to fix
    /// Add `StringEquals` on `ISSUER:aud` with `sts.amazonaws.com`.
    ///
    /// ## References
    /// - https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html
    IrsaTrustWithoutAudience, "CRL-D004", "irsa-trust-without-audience", CloudDrift, Medium,
    "An IAM role trusts the cluster's tokens for any audience"
}

impl Rule for IrsaTrustWithoutAudience {
    fn check_model(&self, context: &Context, out: &mut Vec<Finding>) {
        let cloud = &context.settings.cloud;
        for (role, issuer, statement, at) in trust_statements(cloud) {
            let audiences = condition_values(statement, &format!("{issuer}:aud"));
            if limited_to_literals(&audiences) {
                continue;
            }
            let why = if audiences.is_empty() {
                format!("no condition on {issuer}:aud")
            } else {
                let operators: Vec<&str> = audiences.iter().map(|(o, _, _)| o.as_str()).collect();
                format!(
                    "its conditions on {issuer}:aud ({}) do not limit it to named audiences",
                    operators.join(", ")
                )
            };
            out.push(Finding::in_cloud_file(
                &Self::META,
                &role.file,
                place(cloud.pos(&role.file, &at)),
                "AWS IAM role",
                &role.arn,
                "AssumeRolePolicyDocument.Condition",
                format!(
                    "the trust policy of {} accepts the cluster's tokens whatever their audience: {why}",
                    role.name
                ),
                format!("add StringEquals {issuer}:aud: sts.amazonaws.com to {}'s trust policy", role.name),
            ));
        }
    }
}

declare_rule! {
    /// ## What it does
    /// Flags an `aws-auth` `mapRoles`/`mapUsers` entry or an EKS access
    /// entry for an IAM role or user that the account's IAM details (`aws
    /// iam get-account-authorization-details`) do not have. Principals of
    /// other accounts are not judged.
    ///
    /// ## Why it matters
    /// The mapping outlived its principal: whoever creates a role or user
    /// of that name in the account signs in to the cluster with its
    /// groups.
    ///
    /// ## How to fix
    /// Remove the entry, or point it at the principal that exists.
    ///
    /// ## References
    /// - https://docs.aws.amazon.com/eks/latest/userguide/auth-configmap.html
    /// - https://docs.aws.amazon.com/eks/latest/userguide/access-entries.html
    SignInUnknownPrincipal, "CRL-D005", "cluster-sign-in-for-missing-principal", CloudDrift, High,
    "The cluster maps an IAM principal the account does not have"
}

/// What signs in to the cluster from AWS: aws-auth entries (in a
/// manifest) and access entries (in a cloud file).
enum SignIn<'a> {
    AwsAuth(corral_paths::AwsAuthEntry<'a>),
    AccessEntry(&'a corral_cloud::aws::AccessEntry),
}

fn sign_ins<'a>(model: &'a Model, cloud: &'a Cloud) -> Vec<SignIn<'a>> {
    let mut all: Vec<SignIn> = corral_paths::aws_auth(model)
        .into_iter()
        .map(SignIn::AwsAuth)
        .collect();
    // As the cluster's authentication mode lets them count.
    all.retain(|entry| match entry {
        SignIn::AwsAuth(entry) => cloud.aws.aws_auth_counts_for(&entry.arn),
        SignIn::AccessEntry(_) => true,
    });
    all.extend(cloud.aws.counted_access_entries().map(SignIn::AccessEntry));
    all
}

impl SignIn<'_> {
    fn principal(&self) -> &str {
        match self {
            SignIn::AwsAuth(entry) => &entry.arn,
            SignIn::AccessEntry(entry) => &entry.principal,
        }
    }

    /// A finding at the entry: the ConfigMap's key, or the access entry's
    /// file.
    fn finding(
        &self,
        rule: &'static RuleMeta,
        cloud: &Cloud,
        message: String,
        fix: String,
    ) -> Finding {
        match self {
            // The entry's index keeps two entries of one key apart (the
            // key's text is one scalar: its line is the finding's).
            SignIn::AwsAuth(entry) => Finding::new(
                rule,
                entry.object,
                &format!("data.{}[{}]", entry.key, entry.index),
                format!("aws-auth {}: {message}", entry.key),
                fix,
            ),
            SignIn::AccessEntry(entry) => Finding::in_cloud_file(
                rule,
                &entry.file,
                place(cloud.pos(&entry.file, &entry.path)),
                "EKS access entry",
                &entry.principal,
                "accessEntry.principalArn",
                format!("access entry: {message}"),
                fix,
            ),
        }
    }
}

impl Rule for SignInUnknownPrincipal {
    fn check_model(&self, context: &Context, out: &mut Vec<Finding>) {
        let cloud = &context.settings.cloud;
        if cloud.aws.iam_files.is_empty() {
            return;
        }
        let known: BTreeSet<(&str, &str, bool)> = cloud
            .aws
            .roles
            .iter()
            .map(|r| (r.arn.as_str(), true))
            .chain(cloud.aws.users.iter().map(|u| (u.as_str(), false)))
            .filter_map(|(arn, role)| account_and_name(arn).map(|(a, n)| (a, n, role)))
            .collect();
        let accounts: BTreeSet<&str> = known.iter().map(|(a, _, _)| *a).collect();
        for sign_in in sign_ins(context.model, cloud) {
            let principal = sign_in.principal();
            let Some((account, name)) = account_and_name(principal) else {
                continue;
            };
            let role = principal.contains(":role/") || principal.contains(":assumed-role/");
            if !accounts.contains(account) || known.contains(&(account, name, role)) {
                continue;
            }
            out.push(sign_in.finding(
                &Self::META,
                cloud,
                format!(
                    "{principal} signs in to the cluster, but account {account}'s IAM details ({}) have no such {}",
                    cloud.aws.iam_files.join(", "),
                    if role { "role" } else { "user" }
                ),
                "remove the entry, or point it at the principal that exists".into(),
            ));
        }
    }
}

declare_rule! {
    /// ## What it does
    /// Flags an `aws-auth` entry that puts an IAM principal in
    /// `system:masters`, and an EKS access entry in `system:masters` or
    /// with `AmazonEKSClusterAdminPolicy` cluster-wide.
    ///
    /// ## Why it matters
    /// `system:masters` bypasses RBAC entirely and cannot be revoked by
    /// any RBAC change: whoever can assume that role owns the cluster,
    /// and the grant lives outside the cluster's own RBAC review.
    ///
    /// ## How to fix
    /// Map the principal to a group bound to the ClusterRole it needs, or
    /// use an access entry with a narrower access policy and scope.
    ///
    /// ## References
    /// - https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html
    /// - https://kubernetes.io/docs/concepts/security/rbac-good-practices/
    SignInSystemMasters, "CRL-D006", "cluster-sign-in-system-masters", CloudDrift, High,
    "An IAM principal signs in to the cluster as system:masters"
}

impl Rule for SignInSystemMasters {
    fn check_model(&self, context: &Context, out: &mut Vec<Finding>) {
        for sign_in in sign_ins(context.model, &context.settings.cloud) {
            let masters = match &sign_in {
                SignIn::AwsAuth(entry) => entry.groups.iter().any(|g| g == "system:masters"),
                SignIn::AccessEntry(entry) => {
                    entry.cluster_admin || entry.groups.iter().any(|g| g == "system:masters")
                }
            };
            if !masters {
                continue;
            }
            let principal = sign_in.principal().to_string();
            out.push(sign_in.finding(
                &Self::META,
                &context.settings.cloud,
                format!("{principal} signs in to the cluster as system:masters (cluster-admin, past RBAC)"),
                "map it to a group bound to the ClusterRole it needs, or give the access entry a narrower policy".into(),
            ));
        }
    }
}

declare_rule! {
    /// ## What it does
    /// Flags an EC2 instance (an EKS node, from `aws ec2
    /// describe-instances`) whose metadata service still allows IMDSv1
    /// (`HttpTokens: optional`) or a hop limit above 1, while pods on it
    /// reach it: pods on the host's network, or pods no NetworkPolicy
    /// keeps from 169.254.169.254. Nodes are matched to instances by
    /// `spec.providerID`; without Node objects every instance in the file
    /// is taken for a node that any pod may land on.
    ///
    /// ## Why it matters
    /// The node's instance role is then every such pod's: one compromised
    /// container acts as the node in AWS (and often in the cluster).
    ///
    /// ## How to fix
    /// Require IMDSv2 with hop limit 1 on the node group's launch
    /// template (`HttpTokens: required`, `HttpPutResponseHopLimit: 1`),
    /// and block 169.254.169.254 with a NetworkPolicy for pods that need
    /// no AWS credentials.
    ///
    /// ## References
    /// - https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html
    /// - https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html
    ImdsOpenToPods, "CRL-D007", "imds-open-to-pods", CloudDrift, High,
    "A node's metadata service hands its role to pods"
}

impl Rule for ImdsOpenToPods {
    fn check_model(&self, context: &Context, out: &mut Vec<Finding>) {
        let cloud = &context.settings.cloud;
        let weak: Vec<&corral_cloud::aws::Instance> = cloud
            .aws
            .instances
            .iter()
            .filter(|i| i.endpoint_enabled && (!i.tokens_required || i.hop_limit > 1))
            .collect();
        if weak.is_empty() {
            return;
        }
        // Nodes by instance ID, from their provider IDs.
        let mut nodes: HashMap<String, String> = HashMap::new();
        let mut policies: HashMap<
            &str,
            Vec<(String, &k8s_openapi::api::networking::v1::NetworkPolicy)>,
        > = HashMap::new();
        for (object, resource) in context.model.iter() {
            match resource {
                Resource::Node(node) => {
                    let instance = node
                        .spec
                        .as_ref()
                        .and_then(|s| s.provider_id.as_deref())
                        .and_then(|p| p.strip_prefix("aws://"))
                        .and_then(|p| p.rsplit('/').next());
                    if let Some(instance) = instance {
                        nodes.insert(
                            instance.to_string(),
                            object.name.clone().unwrap_or_default(),
                        );
                    }
                }
                Resource::NetworkPolicy(policy) => policies
                    .entry(object.namespace.as_deref().unwrap_or("default"))
                    .or_default()
                    .push((object.name.clone().unwrap_or_default(), policy.as_ref())),
                _ => {}
            }
        }
        // The pods that reach a node's metadata service: on the node (by
        // nodeName, or unscheduled), on its network or not kept from it.
        let workloads = context.model.top_workloads();
        let reaching = |node: Option<&str>| -> Vec<(&Object, &str)> {
            workloads
                .iter()
                .filter(|(_, t)| {
                    t.spec
                        .node_name
                        .as_deref()
                        .is_none_or(|n| Some(n) == node || node.is_none())
                })
                .filter_map(|(object, t)| {
                    if t.spec.host_network == Some(true) {
                        return Some((*object, "on the host's network"));
                    }
                    let labels = t.metadata.labels.clone().unwrap_or_default();
                    let namespace = object.namespace.as_deref().unwrap_or("default");
                    let own = policies.get(namespace).map_or(&[][..], Vec::as_slice);
                    reach::metadata_blocked(own, &labels)
                        .is_none()
                        .then_some((*object, "no NetworkPolicy keeps it from 169.254.169.254"))
                })
                .collect()
        };
        for instance in weak {
            let node = nodes.get(&instance.id).map(String::as_str);
            if !nodes.is_empty() && node.is_none() {
                continue;
            }
            let pods = reaching(node);
            let Some((first, why)) = pods.first() else {
                continue;
            };
            let setting = if instance.tokens_required {
                format!("hop limit {}", instance.hop_limit)
            } else {
                "IMDSv1 (HttpTokens optional)".to_string()
            };
            let options = format!("{}.MetadataOptions", instance.path);
            out.push(Finding::in_cloud_file(
                &Self::META,
                &instance.file,
                place(cloud.pos(&instance.file, &options)),
                "EC2 instance",
                &instance.id,
                "MetadataOptions",
                format!(
                    "instance {}{} allows {setting}, and {} pod(s) reach its metadata service, such as {} {}/{} at {} ({why})",
                    instance.id,
                    node.map(|n| format!(" (node {n})")).unwrap_or_default(),
                    pods.len(),
                    first.kind,
                    first.namespace.as_deref().unwrap_or("default"),
                    first.name.as_deref().unwrap_or(""),
                    at(first, "metadata.name")
                ),
                "require IMDSv2 with hop limit 1 (HttpTokens required, HttpPutResponseHopLimit 1) on the node group's launch template".into(),
            ));
        }
    }
}

declare_rule! {
    /// ## What it does
    /// Flags a Kubernetes service account annotated
    /// `iam.gke.io/gcp-service-account` with a Google service account
    /// whose IAM policy (in the input) grants it no
    /// `roles/iam.workloadIdentityUser` (nor does the project's).
    ///
    /// ## Why it matters
    /// The annotation is dead: the workload's Google calls fail, and the
    /// usual "fix" is a binding wider than this one account.
    ///
    /// ## How to fix
    /// Grant `roles/iam.workloadIdentityUser` on the GSA to
    /// `serviceAccount:POOL[NS/KSA]`, or remove the annotation.
    ///
    /// ## References
    /// - https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity
    GkeAnnotationNotBound, "CRL-D008", "gke-annotation-not-bound", CloudDrift, Medium,
    "The service account's Google service account does not trust it"
}

impl Rule for GkeAnnotationNotBound {
    fn check_model(&self, context: &Context, out: &mut Vec<Finding>) {
        let gcp = &context.settings.cloud.gcp;
        if gcp.policies.is_empty() {
            return;
        }
        let field = "metadata.annotations[\"iam.gke.io/gcp-service-account\"]";
        for (object, namespace, name, annotations) in Accounts::of(context.model).objects {
            let Some(email) = annotations.get(GKE_ANNOTATION) else {
                continue;
            };
            let policy = gcp.policies.iter().find(|p| {
                matches!(&p.resource, corral_cloud::gcp::Resource::ServiceAccount(e) if e == email)
            });
            let Some(policy) = policy else { continue };
            let Some(cluster) = gcp.clusters.iter().find(|c| c.workload_pool.is_some()) else {
                continue;
            };
            let bound = gcp
                .exchanges(cluster, &namespace, &name)
                .iter()
                .any(|grant| &grant.identity.name == email);
            if bound {
                continue;
            }
            let pool = cluster.workload_pool.as_deref().unwrap_or("");
            out.push(Finding::new(
                &Self::META,
                object,
                field,
                format!(
                    "service account {namespace}/{name} is annotated with {email}, but neither its IAM policy ({}) nor the project's lets serviceAccount:{pool}[{namespace}/{name}] act as it",
                    policy.file.trim_start_matches("./")
                ),
                format!(
                    "grant roles/iam.workloadIdentityUser on {email} to serviceAccount:{pool}[{namespace}/{name}], or remove the annotation"
                ),
            ));
        }
    }
}

/// Every node pool of every GKE cluster, with its cluster's file.
fn node_pools(cloud: &Cloud) -> Vec<(&corral_cloud::gcp::Cluster, &corral_cloud::gcp::NodePool)> {
    cloud
        .gcp
        .clusters
        .iter()
        .flat_map(|c| c.node_pools.iter().map(move |p| (c, p)))
        .collect()
}

declare_rule! {
    /// ## What it does
    /// Flags a GKE node pool whose pods see the node's metadata server
    /// (`workloadMetadataConfig.mode` `GCE_METADATA`, or none on a cluster
    /// without Workload Identity).
    ///
    /// ## Why it matters
    /// Every pod on the pool gets the node's Google service account token
    /// and the VM's metadata (including kube-env on older versions), and
    /// no per-workload identity is possible.
    ///
    /// ## How to fix
    /// Enable Workload Identity on the cluster and set the pool's metadata
    /// mode to `GKE_METADATA`.
    ///
    /// ## References
    /// - https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity
    /// - https://cloud.google.com/kubernetes-engine/docs/how-to/protecting-cluster-metadata
    GkeLegacyMetadata, "CRL-D009", "gke-node-pool-legacy-metadata", CloudDrift, High,
    "A GKE node pool exposes the node's metadata server to pods"
}

impl Rule for GkeLegacyMetadata {
    fn check_model(&self, context: &Context, out: &mut Vec<Finding>) {
        for (cluster, pool) in node_pools(&context.settings.cloud) {
            if pool.gke_metadata {
                continue;
            }
            let mode = format!("{}.config.workloadMetadataConfig.mode", pool.path);
            out.push(Finding::in_cloud_file(
                &Self::META,
                &cluster.file,
                place(context.settings.cloud.pos(&cluster.file, &mode)),
                "GKE node pool",
                &format!("{}/{}", cluster.name, pool.name),
                "config.workloadMetadataConfig.mode",
                format!(
                    "node pool {} of cluster {} gives its pods the node's metadata server, and with it {}'s token",
                    pool.name, cluster.name, pool.service_account
                ),
                "enable Workload Identity and set the pool's workloadMetadataConfig.mode to GKE_METADATA".into(),
            ));
        }
    }
}

declare_rule! {
    /// ## What it does
    /// Flags a GKE node pool that runs as the Compute Engine default
    /// service account with the `cloud-platform` OAuth scope.
    ///
    /// ## Why it matters
    /// The default compute account is an editor of the project unless
    /// someone removed that grant, and `cloud-platform` lets its token
    /// call every API: a node, or a pod that reaches its metadata, holds
    /// the project.
    ///
    /// ## How to fix
    /// Give the pool a dedicated, minimal service account
    /// (`roles/container.defaultNodeServiceAccount`), or narrow its scopes.
    ///
    /// ## References
    /// - https://cloud.google.com/kubernetes-engine/docs/how-to/hardening-your-cluster#use_least_privilege_sa
    GkeDefaultComputeFullScope, "CRL-D010", "gke-default-compute-full-scope", CloudDrift, Medium,
    "A GKE node pool runs as the default compute account with full scope"
}

impl Rule for GkeDefaultComputeFullScope {
    fn check_model(&self, context: &Context, out: &mut Vec<Finding>) {
        for (cluster, pool) in node_pools(&context.settings.cloud) {
            if pool.service_account != "default" || !pool.full_scope {
                continue;
            }
            let account = format!("{}.config.serviceAccount", pool.path);
            out.push(Finding::in_cloud_file(
                &Self::META,
                &cluster.file,
                place(context.settings.cloud.pos(&cluster.file, &account)),
                "GKE node pool",
                &format!("{}/{}", cluster.name, pool.name),
                "config.serviceAccount",
                format!(
                    "node pool {} of cluster {} runs as the Compute Engine default service account with the cloud-platform scope",
                    pool.name, cluster.name
                ),
                "give the pool a dedicated minimal service account, or narrow its OAuth scopes".into(),
            ));
        }
    }
}

declare_rule! {
    /// ## What it does
    /// Flags a pod template labelled `azure.workload.identity/use: "true"`
    /// whose service account has no `azure.workload.identity/client-id`
    /// annotation, or no federated identity credential (in the input)
    /// that trusts it from the cluster's issuer.
    ///
    /// ## Why it matters
    /// The workload asks for an identity it cannot have: its Azure calls
    /// fail, and the fix people reach for (a wildcard subject, a shared
    /// identity) is wider than the workload.
    ///
    /// ## How to fix
    /// Annotate the service account with the managed identity's client ID
    /// and add a federated credential for `system:serviceaccount:NS:NAME`
    /// with the cluster's issuer, or drop the label.
    ///
    /// ## References
    /// - https://learn.microsoft.com/azure/aks/workload-identity-deploy-cluster
    AksLabelWithoutIdentity, "CRL-D011", "aks-label-without-identity", CloudDrift, Medium,
    "A pod asks for Azure Workload Identity its account cannot have"
}

impl Rule for AksLabelWithoutIdentity {
    fn check_model(&self, context: &Context, out: &mut Vec<Finding>) {
        let azure_cloud = &context.settings.cloud.azure;
        let clusters: Vec<&azure::Cluster> = azure_cloud
            .clusters
            .iter()
            .filter(|c| c.issuer.is_some())
            .collect();
        if clusters.is_empty() {
            return;
        }
        let accounts = Accounts::of(context.model);
        // Each account object by namespace and name, the first of each.
        let mut by_name: HashMap<(&str, &str), (&Object, _)> = HashMap::new();
        for (account, namespace, name, annotations) in &accounts.objects {
            by_name
                .entry((namespace.as_str(), name.as_str()))
                .or_insert((*account, *annotations));
        }
        for (object, template) in context.model.top_workloads() {
            let labelled = template
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(reach::AKS_POD_LABEL))
                .is_some_and(|v| v == "true");
            if !labelled {
                continue;
            }
            let namespace = object.namespace.clone().unwrap_or_else(|| "default".into());
            let name = template.service_account();
            let annotated =
                by_name
                    .get(&(namespace.as_str(), name))
                    .and_then(|(account, annotations)| {
                        annotations.get(AKS_ANNOTATION).map(|_| *account)
                    });
            let federated = clusters.iter().any(|c| {
                !azure_cloud
                    .exchanges(c, &namespace, name, azure::AUDIENCE)
                    .is_empty()
            });
            let problem = match (annotated, federated) {
                (None, _) => format!("its service account {namespace}/{name} has no {AKS_ANNOTATION} annotation"),
                (Some(account), false) => format!(
                    "no federated identity credential trusts system:serviceaccount:{namespace}:{name} from the cluster's issuer (account at {})",
                    at(account, "metadata.annotations")
                ),
                (Some(_), true) => continue,
            };
            out.push(Finding::new(
                &Self::META,
                object,
                &template.metadata_path("labels"),
                format!("the pod template is labelled {}: \"true\", but {problem}", reach::AKS_POD_LABEL),
                format!(
                    "annotate {namespace}/{name} with the managed identity's client id and add a federated credential for system:serviceaccount:{namespace}:{name}, or drop the label"
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use corral_core::model::{Model, TemplatePaths};
    use corral_core::{load_bytes, Limits};
    use serde_json::{json, Value};

    use crate::{scan, Family, Settings};

    const ISSUER: &str = "oidc.eks.eu-west-1.amazonaws.com/id/DRIFT";

    /// The drift findings for a cluster of `shop/web` and roles trusting
    /// the cluster's tokens under these conditions: (rule, message).
    fn drift(conditions: &[Value]) -> Vec<(String, String)> {
        let name: Arc<str> = Arc::from("cluster.yaml");
        let text = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web, namespace: shop}\n";
        let (objects, _) = load_bytes(&name, text.as_bytes(), &Limits::default(), &|_| {});
        let (model, _) = Model::build(objects, &TemplatePaths::default());
        let roles: Vec<Value> = conditions
            .iter()
            .enumerate()
            .map(|(i, condition)| {
                json!({"RoleName": format!("r{i}"), "Arn": format!("arn:aws:iam::1:role/r{i}"),
                    "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow",
                        "Principal": {"Federated": format!("arn:aws:iam::1:oidc-provider/{ISSUER}")},
                        "Action": "sts:AssumeRoleWithWebIdentity", "Condition": condition}]}})
            })
            .collect();
        let iam = serde_json::to_string_pretty(&json!({"RoleDetailList": roles})).unwrap();
        let cluster =
            json!({"cluster": {"identity": {"oidc": {"issuer": format!("https://{ISSUER}")}}}});
        let settings = Settings {
            cloud: corral_cloud::Cloud::load(&[
                ("iam.json".into(), iam),
                ("cluster.json".into(), cluster.to_string()),
            ])
            .unwrap(),
            ..Settings::default()
        };
        scan(&model, &settings)
            .into_iter()
            .filter(|f| f.rule.family == Family::CloudDrift)
            .map(|f| (f.rule.id.to_string(), f.message))
            .collect()
    }

    fn sub() -> String {
        format!("{ISSUER}:sub")
    }

    fn aud() -> String {
        format!("{ISSUER}:aud")
    }

    /// A trust in a missing account is found whatever variant of an
    /// allowing operator names it.
    #[test]
    fn stale_trust_under_every_allowing_operator() {
        for operator in [
            "StringEquals",
            "ForAnyValue:StringEquals",
            "ForAllValues:StringEqualsIgnoreCase",
            "StringEqualsIfExists",
            "StringLike",
        ] {
            let mut condition = json!({});
            condition[operator][sub()] = json!("system:serviceaccount:gone:app");
            condition["StringEquals"][aud()] = json!("sts.amazonaws.com");
            let found = drift(&[condition]);
            assert!(
                found
                    .iter()
                    .any(|(r, m)| r == "CRL-D002" && m.contains("gone/app")),
                "{operator}: {found:?}"
            );
        }
        // Excluding an account is no grant to it.
        let found = drift(&[json!({
            "StringNotEquals": {sub(): "system:serviceaccount:gone:app"},
            "StringEquals": {aud(): "sts.amazonaws.com"}
        })]);
        assert!(!found.iter().any(|(r, _)| r == "CRL-D002"), "{found:?}");
    }

    /// Conditions on sub that do not name accounts (an exclusion, a
    /// Null check) leave the role open to every account, and say so.
    #[test]
    fn a_sub_condition_that_names_no_account_is_a_wide_trust() {
        let found = drift(&[
            json!({"StringNotEquals": {sub(): "system:serviceaccount:kube-system:default"}, "StringEquals": {aud(): "sts.amazonaws.com"}}),
            json!({"Null": {sub(): "false"}, "StringEquals": {aud(): "sts.amazonaws.com"}}),
            json!({"ForAnyValue:StringLike": {sub(): "system:serviceaccount:shop:*"}, "StringEquals": {aud(): "sts.amazonaws.com"}}),
            json!({"StringEquals": {sub(): "system:serviceaccount:shop:web", aud(): "sts.amazonaws.com"}}),
            // Exact and a pattern: both must hold, so the exact one bounds it.
            json!({"StringEquals": {sub(): "system:serviceaccount:shop:web", aud(): "sts.amazonaws.com"}, "StringLike": {sub(): "*"}}),
        ]);
        let wide: Vec<&String> = found
            .iter()
            .filter(|(r, _)| r == "CRL-D003")
            .map(|(_, m)| m)
            .collect();
        assert_eq!(wide.len(), 3, "{found:?}");
        assert!(
            wide[0].contains("r0") && wide[0].contains("(StringNotEquals)"),
            "{}",
            wide[0]
        );
        assert!(
            wide[1].contains("r1") && wide[1].contains("(Null)"),
            "{}",
            wide[1]
        );
        assert!(
            wide[2].contains("r2") && wide[2].contains("matching system:serviceaccount:shop:*"),
            "{}",
            wide[2]
        );
    }

    #[test]
    fn an_aud_condition_that_names_no_audience_is_no_limit() {
        let found = drift(&[
            json!({"StringEquals": {sub(): "system:serviceaccount:shop:web"}, "Null": {aud(): "false"}}),
            json!({"StringEquals": {sub(): "system:serviceaccount:shop:web"}, "StringLike": {aud(): "*"}}),
            json!({"StringEquals": {sub(): "system:serviceaccount:shop:web"}, "ForAnyValue:StringEquals": {aud(): "sts.amazonaws.com"}}),
        ]);
        let open: Vec<&String> = found
            .iter()
            .filter(|(r, _)| r == "CRL-D004")
            .map(|(_, m)| m)
            .collect();
        assert_eq!(open.len(), 2, "{found:?}");
        assert!(
            open[0].contains("r0") && open[0].contains("(Null)"),
            "{}",
            open[0]
        );
        assert!(
            open[1].contains("r1") && open[1].contains("(StringLike)"),
            "{}",
            open[1]
        );
    }
}
