//! AWS: IAM roles with their trust policies and whether their permissions
//! amount to administrator (`aws iam get-account-authorization-details`),
//! the cluster's OIDC issuer (`aws eks describe-cluster`), and the
//! instances' metadata options and instance profiles (`aws ec2
//! describe-instances`). The trust policy decides who may assume a role;
//! the service account annotation only selects.

use std::collections::HashMap;

use serde_json::Value;

use super::condition::{self, Request, Verdict};
use super::strings;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Role {
    /// The file it was read from, and the role's path in it
    /// (`RoleDetailList[3]`).
    pub file: String,
    pub path: String,
    /// The trust policy came URL-encoded: one string in the file.
    pub trust_encoded: bool,
    pub name: String,
    pub arn: String,
    pub trust: Value,
    pub admin: bool,
    pub instance_profiles: Vec<String>,
}

impl Role {
    /// The path of the trust policy's statement `index` in the role's
    /// file; the document's own when IAM gave it URL-encoded (one string,
    /// one place).
    pub fn statement_path(&self, index: usize) -> String {
        let document = format!("{}.AssumeRolePolicyDocument", self.path);
        if self.trust_encoded {
            document
        } else if self.trust["Statement"].is_array() {
            format!("{document}.Statement[{index}]")
        } else {
            format!("{document}.Statement")
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Instance {
    pub file: String,
    /// `Reservations[R].Instances[I]`.
    pub path: String,
    pub id: String,
    /// `HttpTokens: required`: IMDSv2 only.
    pub tokens_required: bool,
    pub hop_limit: i64,
    pub endpoint_enabled: bool,
    pub profile: Option<String>,
}

/// An EKS Pod Identity association: the service account's pods get the
/// role, or with `target_role` that role, which EKS assumes with the
/// first one's credentials. Each association is its own: its target is
/// for its service account alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodIdentity {
    /// The file, and `association` (the object's path in it).
    pub file: String,
    pub path: String,
    pub namespace: String,
    pub service_account: String,
    pub role: String,
    pub target_role: Option<String>,
}

/// An EKS access entry: the principal signs in to the cluster as this
/// user and these groups; `cluster_admin` when an access policy gives it
/// `AmazonEKSClusterAdminPolicy` cluster-wide.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessEntry {
    /// The file and path of its principal's ARN (`accessEntry.principalArn`,
    /// or the access policies' file's `principalArn` when only that file
    /// names the principal).
    pub file: String,
    pub path: String,
    pub principal: String,
    pub username: Option<String>,
    pub groups: Vec<String>,
    pub cluster_admin: bool,
    /// The access policy that makes it cluster admin: its file and path
    /// (`associatedAccessPolicies[2]`).
    pub admin_policy: Option<(String, String)>,
}

/// How an EKS cluster authenticates IAM principals
/// (`accessConfig.authenticationMode` of `aws eks describe-cluster`):
/// which of aws-auth and access entries count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthenticationMode {
    ConfigMap,
    Api,
    ApiAndConfigMap,
}

impl AuthenticationMode {
    fn parse(text: &str) -> Option<AuthenticationMode> {
        match text {
            "CONFIG_MAP" => Some(AuthenticationMode::ConfigMap),
            "API" => Some(AuthenticationMode::Api),
            "API_AND_CONFIG_MAP" => Some(AuthenticationMode::ApiAndConfigMap),
            _ => None,
        }
    }

    pub fn aws_auth_counts(self) -> bool {
        self != AuthenticationMode::Api
    }

    pub fn access_entries_count(self) -> bool {
        self != AuthenticationMode::ConfigMap
    }
}

#[derive(Clone, Debug, Default)]
pub struct Aws {
    /// OIDC issuers, without `https://`.
    pub issuers: Vec<String>,
    /// The cluster's authentication mode; `None` when no
    /// `describe-cluster` output says (then both aws-auth and access
    /// entries count: leaving either out could hide a way in).
    pub authentication_mode: Option<AuthenticationMode>,
    pub roles: Vec<Role>,
    /// IAM users' ARNs, and the files their account details came from
    /// (`get-account-authorization-details` was read).
    pub users: Vec<String>,
    pub iam_files: Vec<String>,
    pub instances: Vec<Instance>,
    pub pod_identities: Vec<PodIdentity>,
    pub access_entries: Vec<AccessEntry>,
    /// Instances by ID, roles by instance profile ARN, and whether a role
    /// of each ARN is an administrator (`settle`).
    instance_index: HashMap<String, usize>,
    profile_index: HashMap<String, usize>,
    role_admin: HashMap<String, bool>,
}

/// A policy document: an object, or the URL-encoded JSON IAM returns in
/// some places. A string that does not decode to a JSON document is an
/// error saying what is wrong (never read as no policy); so is a document
/// of any other type. An absent one is `Null`.
pub fn document(value: &Value) -> Result<Value, String> {
    match value {
        Value::Null | Value::Object(_) => Ok(value.clone()),
        Value::String(text) => {
            let bytes = percent_decode(text)?;
            let decoded = String::from_utf8(bytes).map_err(|e| {
                format!(
                    "the URL-encoded policy document is not UTF-8 once decoded (byte {} of the decoded text)",
                    e.utf8_error().valid_up_to()
                )
            })?;
            match super::strict_json(&decoded) {
                Ok(value @ Value::Object(_)) => Ok(value),
                Ok(_) => Err("the URL-encoded policy document is not a JSON object".into()),
                Err(e) => {
                    let pos = corral_core::lines::from_serde_json(
                        decoded.as_bytes(),
                        e.line(),
                        e.column(),
                    );
                    Err(format!(
                        "the URL-encoded policy document is not JSON once decoded (line {}, column {}: {e})",
                        pos.line, pos.col
                    ))
                }
            }
        }
        other => Err(format!(
            "the policy document is a {}, neither an object nor URL-encoded JSON",
            match other {
                Value::Bool(_) => "boolean",
                Value::Number(_) => "number",
                _ => "list",
            }
        )),
    }
}

/// Undo IAM's URL encoding, which is RFC 3986 percent-encoding: `%XX`
/// is a byte and every other character itself, `+` included (a form's
/// `+`-for-space does not apply: IAM encodes a space as `%20`, and a `+`
/// read as a space would change a condition's value). A `%` not followed
/// by two hexadecimal digits is an error naming its byte offset.
fn percent_decode(text: &str) -> Result<Vec<u8>, String> {
    let bytes = text.as_bytes();
    if let Some(at) = bytes.iter().enumerate().position(|(i, b)| {
        *b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    }) {
        return Err(format!(
            "the URL-encoded policy document has a bad percent-encoding at byte {at}: % must be followed by two hexadecimal digits"
        ));
    }
    Ok(percent_encoding::percent_decode(bytes).collect())
}

fn statements(policy: &Value) -> Vec<&Value> {
    match &policy["Statement"] {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        one => vec![one],
    }
}

/// IAM's wildcard match (one function for all of Corral's cloud code).
pub use super::like;

const WEB_IDENTITY: &str = "sts:AssumeRoleWithWebIdentity";
const ASSUME_ROLE: &str = "sts:AssumeRole";
const TAG_SESSION: &str = "sts:TagSession";
/// The service principal of the EKS Pod Identity agent.
pub const POD_IDENTITY_SERVICE: &str = "pods.eks.amazonaws.com";

/// Who asks to assume a role, as a trust policy's `Principal` names it.
#[derive(Clone, Copy, Debug)]
pub enum Principal<'a> {
    /// Web identity tokens of an OIDC provider (its URL without
    /// `https://`).
    Federated(&'a str),
    /// An AWS service (`pods.eks.amazonaws.com`).
    Service(&'a str),
    /// An IAM role or user, by ARN.
    Aws(&'a str),
}

impl Principal<'_> {
    /// Does a `Principal` element's value name this principal, or every
    /// principal? `(names it, names everyone)`.
    fn named_in(&self, principal: &Value) -> (bool, bool) {
        let Value::Object(_) = principal else {
            return (false, principal.as_str() == Some("*"));
        };
        let everyone = ["Federated", "AWS", "Service"]
            .iter()
            .any(|field| any_string(&principal[*field], |p| p == "*"));
        let named = match self {
            Principal::Federated(issuer) => any_string(&principal["Federated"], |p| {
                p.strip_suffix(issuer)
                    .is_some_and(|head| head.ends_with(":oidc-provider/"))
            }),
            Principal::Service(service) => any_string(&principal["Service"], |p| p == *service),
            Principal::Aws(arn) => any_string(&principal["AWS"], |p| p == *arn),
        };
        (named, everyone)
    }

    /// The account a role or user belongs to: naming the account (its ID
    /// or root) delegates to the account's own IAM policies, which Corral
    /// does not evaluate.
    fn account(&self) -> Option<&str> {
        match self {
            Principal::Aws(arn) => arn.split(':').nth(4).filter(|a| !a.is_empty()),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Principal::Federated(issuer) => format!("{issuer}'s tokens"),
            Principal::Service(service) => service.to_string(),
            Principal::Aws(arn) => arn.to_string(),
        }
    }
}

/// Does a field that is a string or a list of strings hold one that
/// `test` takes? (Read in place: trust policies are read once a service
/// account and role.)
fn any_string(value: &Value, test: impl Fn(&str) -> bool) -> bool {
    match value {
        Value::String(s) => test(s),
        Value::Array(items) => items.iter().filter_map(Value::as_str).any(test),
        _ => false,
    }
}

/// Does the statement's `Action` (or `NotAction`) cover `action`? Action
/// names ignore case.
fn covers(statement: &Value, action: &str) -> Verdict {
    let matches = |field: &str| {
        any_string(&statement[field], |a| {
            a.eq_ignore_ascii_case(action) || super::like_ignore_case(a, action)
        })
    };
    match (statement.get("Action"), statement.get("NotAction")) {
        (Some(_), None) => verdict(matches("Action")),
        (None, Some(_)) => verdict(!matches("NotAction")),
        (Some(_), Some(_)) => Verdict::May(
            "the statement has both Action and NotAction, which IAM would not accept".into(),
        ),
        (None, None) => Verdict::Never,
    }
}

fn verdict(holds: bool) -> Verdict {
    if holds {
        Verdict::Holds
    } else {
        Verdict::Never
    }
}

/// Does the statement's `Principal` (or `NotPrincipal`) take `principal`?
/// Principal `*` takes every principal: for a Deny that is certain; for
/// an Allow of web identity it holds only if the account has an OIDC
/// provider for the issuer, which the input does not say. An account
/// named as principal lets in whomever the account's IAM policies allow.
fn names(statement: &Value, principal: &Principal, deny: bool) -> Verdict {
    let everyone = || match (deny, principal) {
        (true, _) => Verdict::Holds,
        (false, Principal::Federated(issuer)) => Verdict::May(format!(
            "Principal * takes web identity tokens if the account has an OIDC provider for {issuer}"
        )),
        (false, _) => Verdict::Holds,
    };
    let by_account = |value: &Value| {
        let account = principal.account()?;
        let root = format!("arn:aws:iam::{account}:root");
        any_string(&value["AWS"], |p| p == account || p == root)
            .then(|| {
                Verdict::May(format!(
                    "the trust policy names account {account}, which lets in {} if the account's IAM policies allow it",
                    principal.describe()
                ))
            })
    };
    match (statement.get("Principal"), statement.get("NotPrincipal")) {
        (Some(value), None) => match principal.named_in(value) {
            (true, _) => Verdict::Holds,
            (false, true) => everyone(),
            (false, false) => by_account(value).unwrap_or(Verdict::Never),
        },
        (None, Some(not)) => match principal.named_in(not) {
            (true, _) => Verdict::Never,
            (false, _) => Verdict::May(format!(
                "NotPrincipal leaves out other principals, so it may take {}",
                principal.describe()
            )),
        },
        (Some(_), Some(_)) => Verdict::May(
            "the statement has both Principal and NotPrincipal, which IAM would not accept".into(),
        ),
        (None, None) => Verdict::Never,
    }
}

/// Does the statement (of either effect) apply to `principal` doing
/// `action`, conditions aside?
fn applies(statement: &Value, principal: &Principal, action: &str) -> Verdict {
    let deny = statement["Effect"] == "Deny";
    covers(statement, action).and(names(statement, principal, deny))
}

/// The request a pod's web identity token makes: its `sub` and `aud` are
/// known, other OIDC providers' claims absent; every other key is unknown.
pub fn web_identity_request(issuer: &str, sub: &str, aud: &str) -> Request {
    Request::new()
        .with(&format!("{issuer}:sub"), Some(sub))
        .with(&format!("{issuer}:aud"), Some(aud))
        .from_provider(issuer)
}

/// The Allow statements of a trust policy that may let tokens from
/// `issuer` assume the role with `sts:AssumeRoleWithWebIdentity`,
/// whatever their conditions, each with its index in the policy; `None`
/// when there are none.
pub fn federating<'a>(trust: &'a Value, issuer: &str) -> Option<Vec<(usize, &'a Value)>> {
    let principal = Principal::Federated(issuer);
    let found: Vec<(usize, &Value)> = statements(trust)
        .into_iter()
        .enumerate()
        .filter(|(_, s)| s["Effect"] == "Allow" && !applies(s, &principal, WEB_IDENTITY).is_never())
        .collect();
    (!found.is_empty()).then_some(found)
}

/// Which `sub`s a federating statement can hold for, from one condition
/// that decides it alone: `StringEquals` on `ISSUER:sub` with plain
/// values, or `StringLike` by the values' literal prefixes. Conditions
/// are all required, so this one bounds the statement; any other shape
/// is `Any`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subjects {
    Exact(Vec<String>),
    Prefixes(Vec<String>),
    Any,
}

pub fn subjects(statement: &Value, issuer: &str) -> Subjects {
    let key = format!("{issuer}:sub");
    let plain = |operator: &str| -> Option<Vec<String>> {
        let (_, values) = statement["Condition"][operator]
            .as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&key))?;
        let values: Vec<String> = match values {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<_>>()?,
            _ => return None,
        };
        (!values.is_empty() && values.iter().all(|v| !v.contains("${"))).then_some(values)
    };
    if let Some(values) = plain("StringEquals") {
        return Subjects::Exact(values);
    }
    if let Some(patterns) = plain("StringLike") {
        return Subjects::Prefixes(
            patterns
                .iter()
                .map(|p| p.split(['*', '?']).next().unwrap_or("").to_string())
                .collect(),
        );
    }
    Subjects::Any
}

/// A trust policy's answer for one principal and action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trust {
    /// The allowing statement's index in the policy (its place in the
    /// file is [`Role::statement_path`]).
    pub statement: usize,
    /// The allowing statement's condition, as evidence (200 characters at
    /// most).
    pub condition: String,
    /// Why it only may allow it: a condition Corral cannot decide, or a
    /// Deny that may apply. `None` when it certainly does.
    pub unsure: Option<String>,
}

impl Trust {
    /// How the report words it.
    pub fn describe(&self) -> String {
        match &self.unsure {
            None => format!("allows it ({})", self.condition),
            Some(why) => format!("may allow it ({}): {why}", self.condition),
        }
    }
}

/// Does the trust policy let `principal` do `action` in `request`? A Deny
/// that certainly applies wins; one that may apply leaves the answer
/// unsure, as does an Allow whose condition may hold. `None` only when no
/// Allow can hold.
pub fn admits(
    trust: &Value,
    principal: &Principal,
    action: &str,
    request: &Request,
) -> Option<Trust> {
    let mut allowed: Option<Trust> = None;
    let mut denied: Option<String> = None;
    for (index, statement) in statements(trust).into_iter().enumerate() {
        let effect = statement["Effect"].as_str();
        if !matches!(effect, Some("Allow" | "Deny")) {
            continue;
        }
        let applies = applies(statement, principal, action);
        if applies.is_never() {
            continue;
        }
        let applies = applies.and(condition::evaluate(&statement["Condition"], request));
        match (effect, applies) {
            (_, Verdict::Never) => {}
            (Some("Deny"), Verdict::Holds) => return None,
            (Some("Deny"), Verdict::May(why)) => {
                denied.get_or_insert(format!("a Deny may apply: {why}"));
            }
            (_, verdict) => {
                let unsure = match verdict {
                    Verdict::May(why) => Some(why),
                    _ => None,
                };
                // A certain Allow is the better evidence.
                if allowed.as_ref().is_none_or(|a| a.unsure.is_some()) {
                    allowed = Some(Trust {
                        statement: index,
                        condition: match &statement["Condition"] {
                            Value::Null => "no condition".into(),
                            condition => condition.to_string().chars().take(200).collect(),
                        },
                        unsure,
                    });
                }
            }
        }
    }
    let mut allowed = allowed?;
    if let Some(deny) = denied {
        allowed.unsure = Some(match allowed.unsure {
            Some(why) => format!("{why}; {deny}"),
            None => deny,
        });
    }
    Some(allowed)
}

/// Does the trust policy let a token of service account `namespace/name`,
/// issued by `issuer`, assume the role with `sts:AssumeRoleWithWebIdentity`?
pub fn web_identity_trusts(
    trust: &Value,
    issuer: &str,
    namespace: &str,
    name: &str,
) -> Option<Trust> {
    let sub = format!("system:serviceaccount:{namespace}:{name}");
    let request = web_identity_request(issuer, &sub, AUDIENCE);
    admits(trust, &Principal::Federated(issuer), WEB_IDENTITY, &request)
}

/// Does the trust policy let `principal` assume the role and tag the
/// session, as EKS Pod Identity does (both `sts:AssumeRole` and
/// `sts:TagSession` must be allowed)? The evidence is the statement that
/// allows `sts:AssumeRole`; unsure when either is.
pub fn admits_tagged_session(trust: &Value, principal: &Principal) -> Option<Trust> {
    // The session's tags and source are the agent's: unknown here.
    let request = Request::new();
    let mut assume = admits(trust, principal, ASSUME_ROLE, &request)?;
    let tag = admits(trust, principal, TAG_SESSION, &request)?;
    if let Some(why) = tag.unsure {
        assume.unsure = Some(match assume.unsure {
            Some(first) => format!("{first}; {why}"),
            None => why,
        });
    }
    Some(assume)
}

/// The audience of the token the EKS webhook projects for IRSA.
const AUDIENCE: &str = "sts.amazonaws.com";

/// Allow `*` on `*`: administrator, whatever the policy is called.
fn grants_everything(policy: &Value) -> bool {
    statements(policy).iter().any(|s| {
        s["Effect"] == "Allow"
            && strings(&s["Action"]).iter().any(|a| a == "*")
            && strings(&s["Resource"]).iter().any(|r| r == "*")
    })
}

impl Aws {
    /// Take what a CLI output file holds; false when it is none of them.
    /// A policy document that does not decode is an error naming the file
    /// and the role or policy.
    pub fn absorb(&mut self, file: &str, value: &Value) -> Result<bool, String> {
        if let Some(roles) = value["RoleDetailList"].as_array() {
            let mut managed: HashMap<&str, bool> = HashMap::new();
            for policy in value["Policies"].as_array().into_iter().flatten() {
                let Some(arn) = policy["Arn"].as_str() else {
                    continue;
                };
                let Some(default) = policy["PolicyVersionList"]
                    .as_array()
                    .and_then(|v| v.iter().find(|v| v["IsDefaultVersion"] == true))
                else {
                    continue;
                };
                let doc = document(&default["Document"]).map_err(|e| {
                    format!("{file}: managed policy {arn}: its default version's Document: {e}")
                })?;
                *managed.entry(arn).or_default() |= grants_everything(&doc);
            }
            for (index, role) in roles.iter().enumerate() {
                let name = role["RoleName"].as_str().unwrap_or("");
                let arn = role["Arn"].as_str().unwrap_or("");
                let what = if name.is_empty() { arn } else { name };
                let mut admin = role["AttachedManagedPolicies"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| {
                        p["PolicyName"] == "AdministratorAccess"
                            || p["PolicyArn"]
                                .as_str()
                                .and_then(|a| managed.get(a))
                                .copied()
                                .unwrap_or(false)
                    });
                for policy in role["RolePolicyList"].as_array().into_iter().flatten() {
                    let doc = document(&policy["PolicyDocument"]).map_err(|e| {
                        format!(
                            "{file}: role {what}: inline policy {}: {e}",
                            policy["PolicyName"].as_str().unwrap_or("(unnamed)")
                        )
                    })?;
                    admin |= grants_everything(&doc);
                }
                let trust = document(&role["AssumeRolePolicyDocument"])
                    .map_err(|e| format!("{file}: role {what}: AssumeRolePolicyDocument: {e}"))?;
                self.roles.push(Role {
                    file: file.to_string(),
                    path: format!("RoleDetailList[{index}]"),
                    trust_encoded: role["AssumeRolePolicyDocument"].is_string(),
                    name: name.into(),
                    arn: arn.into(),
                    trust,
                    admin,
                    instance_profiles: role["InstanceProfileList"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p["Arn"].as_str().map(str::to_string))
                        .collect(),
                });
            }
            self.users.extend(
                value["UserDetailList"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|u| u["Arn"].as_str().map(str::to_string)),
            );
            self.iam_files.push(file.to_string());
            return Ok(true);
        }
        let cluster = &value["cluster"];
        let issuer = cluster["identity"]["oidc"]["issuer"].as_str();
        let mode = cluster["accessConfig"]["authenticationMode"].as_str();
        if issuer.is_some() || mode.is_some() {
            if let Some(issuer) = issuer {
                self.issuers
                    .push(issuer.trim_start_matches("https://").to_string());
            }
            if let Some(text) = mode {
                let mode = AuthenticationMode::parse(text).ok_or_else(|| {
                    format!(
                        "{file}: cluster.accessConfig.authenticationMode {text:?} is none of CONFIG_MAP, API, API_AND_CONFIG_MAP"
                    )
                })?;
                self.authentication_mode = Some(mode);
            }
            return Ok(true);
        }
        if let Some(association) = value["association"].as_object() {
            let field = |k: &str| {
                association
                    .get(k)
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            self.pod_identities.push(PodIdentity {
                file: file.to_string(),
                path: "association".into(),
                namespace: field("namespace").unwrap_or_default(),
                service_account: field("serviceAccount").unwrap_or_default(),
                role: field("roleArn").unwrap_or_default(),
                target_role: field("targetRoleArn"),
            });
            return Ok(true);
        }
        if let Some(entry) = value["accessEntry"].as_object() {
            let principal: String = entry
                .get("principalArn")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .into();
            let username = entry
                .get("username")
                .and_then(|v| v.as_str())
                .map(str::to_string);
            let groups = entry
                .get("kubernetesGroups")
                .map(strings)
                .unwrap_or_default();
            // The access policies' file may have come first.
            match self
                .access_entries
                .iter_mut()
                .find(|e| e.principal == principal)
            {
                Some(known) => {
                    known.file = file.to_string();
                    known.path = "accessEntry.principalArn".into();
                    known.username = username;
                    known.groups = groups;
                }
                None => self.access_entries.push(AccessEntry {
                    file: file.to_string(),
                    path: "accessEntry.principalArn".into(),
                    principal,
                    username,
                    groups,
                    ..AccessEntry::default()
                }),
            }
            return Ok(true);
        }
        if let Some(policies) = value["associatedAccessPolicies"].as_array() {
            let principal = value["principalArn"].as_str().unwrap_or("").to_string();
            // The policy that decides: cluster admin at cluster scope.
            let admin_policy = policies
                .iter()
                .position(|p| {
                    p["policyArn"]
                        .as_str()
                        .is_some_and(|a| a.ends_with("/AmazonEKSClusterAdminPolicy"))
                        && p["accessScope"]["type"] == "cluster"
                })
                .map(|i| (file.to_string(), format!("associatedAccessPolicies[{i}]")));
            match self
                .access_entries
                .iter_mut()
                .find(|e| e.principal == principal)
            {
                Some(entry) => {
                    entry.cluster_admin |= admin_policy.is_some();
                    if entry.admin_policy.is_none() {
                        entry.admin_policy = admin_policy;
                    }
                }
                None => self.access_entries.push(AccessEntry {
                    file: file.to_string(),
                    path: "principalArn".into(),
                    principal,
                    cluster_admin: admin_policy.is_some(),
                    admin_policy,
                    ..AccessEntry::default()
                }),
            }
            return Ok(true);
        }
        if let Some(reservations) = value["Reservations"].as_array() {
            for (r, reservation) in reservations.iter().enumerate() {
                for (i, instance) in reservation["Instances"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let options = &instance["MetadataOptions"];
                    self.instances.push(Instance {
                        file: file.to_string(),
                        path: format!("Reservations[{r}].Instances[{i}]"),
                        id: instance["InstanceId"].as_str().unwrap_or("").into(),
                        tokens_required: options["HttpTokens"] == "required",
                        hop_limit: options["HttpPutResponseHopLimit"].as_i64().unwrap_or(1),
                        endpoint_enabled: options["HttpEndpoint"] != "disabled",
                        profile: instance["IamInstanceProfile"]["Arn"]
                            .as_str()
                            .map(str::to_string),
                    });
                }
            }
            return Ok(true);
        }
        Ok(false)
    }

    /// Index instances and instance profiles, once every file is read.
    pub fn settle(&mut self) {
        self.instance_index = self
            .instances
            .iter()
            .enumerate()
            .map(|(i, instance)| (instance.id.clone(), i))
            .collect();
        self.profile_index = self
            .roles
            .iter()
            .enumerate()
            .flat_map(|(i, role)| role.instance_profiles.iter().map(move |p| (p.clone(), i)))
            .collect();
        self.role_admin.clear();
        for role in &self.roles {
            *self.role_admin.entry(role.arn.clone()).or_default() |= role.admin;
        }
    }

    /// The access entries that count: all of them unless the cluster's
    /// authentication mode is `CONFIG_MAP` (not known: all).
    pub fn counted_access_entries(&self) -> impl Iterator<Item = &AccessEntry> {
        let counts = self
            .authentication_mode
            .is_none_or(AuthenticationMode::access_entries_count);
        self.access_entries.iter().filter(move |_| counts)
    }

    /// Does an aws-auth mapping of principal `arn` count? Not when the
    /// mode is `API`, nor when a counted access entry is for the same
    /// principal (the entry wins).
    pub fn aws_auth_counts_for(&self, arn: &str) -> bool {
        let counts = self
            .authentication_mode
            .is_none_or(AuthenticationMode::aws_auth_counts);
        counts
            && !self
                .counted_access_entries()
                .any(|e| same_principal(&e.principal, arn))
    }

    /// Whether the role `arn` is an administrator; `None` when the input
    /// does not hold it.
    pub fn role_admin(&self, arn: &str) -> Option<bool> {
        self.role_admin.get(arn).copied()
    }

    pub fn instance(&self, id: &str) -> Option<&Instance> {
        self.instance_index.get(id).map(|i| &self.instances[*i])
    }

    /// The role an instance's profile holds.
    pub fn instance_role(&self, instance: &Instance) -> Option<&Role> {
        let profile = instance.profile.as_ref()?;
        self.profile_index.get(profile).map(|i| &self.roles[*i])
    }
}

/// The same IAM principal: equal ARNs, or a role's ARN with and without
/// its path (aws-auth takes role ARNs without their path).
pub fn same_principal(a: &str, b: &str) -> bool {
    let without_path = |arn: &str| -> Option<(String, String)> {
        let (head, resource) = arn.rsplit_once(':')?;
        let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
        Some((head.to_string(), name.to_string()))
    };
    a == b || without_path(a).is_some_and(|a| without_path(b) == Some(a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISSUER: &str = "oidc.eks.eu-west-1.amazonaws.com/id/ABC";

    /// Found by the `cloud` fuzz target: `%` before a multi-byte character
    /// panicked on a slice inside it. Now it is an error, as is every
    /// document that does not decode.
    #[test]
    fn percent_decoding_takes_any_text() {
        assert_eq!(
            percent_decode("%7B%22a%22%3A1%7D+x%20y").unwrap(),
            b"{\"a\":1}+x y"
        );
        assert_eq!(percent_decode("%e2%82%ac").unwrap(), "€".as_bytes());
        for bad in ["%\u{390}F%e2F2%", "%4", "%", "abc%zz", "%%41"] {
            let e = percent_decode(bad).unwrap_err();
            assert!(e.contains("bad percent-encoding at byte"), "{bad}: {e}");
        }
    }

    /// RFC 3986: `+` is a plus. Read as a space (a form's encoding), the
    /// condition below would compare `a b`, and a request with `a+b`
    /// would seem refused.
    #[test]
    fn a_plus_in_an_encoded_policy_stays_a_plus() {
        let encoded =
            json!("%7B%22Condition%22%3A%7B%22StringEquals%22%3A%7B%22k%22%3A%22a+b%22%7D%7D%7D");
        let decoded = document(&encoded).unwrap();
        assert_eq!(
            decoded,
            json!({"Condition": {"StringEquals": {"k": "a+b"}}})
        );
        let verdict = |v: &str| {
            condition::evaluate(&decoded["Condition"], &Request::new().with("k", Some(v)))
        };
        assert_eq!(verdict("a+b"), Verdict::Holds);
        assert_eq!(verdict("a b"), Verdict::Never);
    }

    #[test]
    fn documents_that_do_not_decode_are_errors() {
        let error = |v: Value| document(&v).unwrap_err();
        assert!(error(json!("%7B%22a%22%3A%7Z")).contains("percent-encoding at byte 13"));
        assert!(error(json!("%7B%22a%22%3A%22%FF%FE%22%7D")).contains("not UTF-8"));
        assert!(error(json!("%7B%22Statement%22%3A")).contains("not JSON"));
        assert!(error(json!("%5B1%5D")).contains("not a JSON object"));
        assert!(error(json!(17)).contains("number"));
        assert!(error(json!([{"Statement": []}])).contains("list"));
        assert_eq!(document(&Value::Null).unwrap(), Value::Null);
        assert_eq!(document(&json!("%7B%7D")).unwrap(), json!({}));
    }

    #[test]
    fn a_bad_document_names_the_file_and_the_role_or_policy() {
        let mut aws = Aws::default();
        let e = aws
            .absorb(
                "iam.json",
                &json!({"RoleDetailList": [{"RoleName": "web", "Arn": "arn:aws:iam::1:role/web",
                    "AssumeRolePolicyDocument": "%7B%22Statement%22%3A%5B%5D%7D"},
                    {"RoleName": "api", "AssumeRolePolicyDocument": "%7B%zz"}]}),
            )
            .unwrap_err();
        assert!(
            e.starts_with("iam.json: role api: AssumeRolePolicyDocument: "),
            "{e}"
        );
        let e = aws
            .absorb(
                "iam.json",
                &json!({"RoleDetailList": [{"RoleName": "web", "AssumeRolePolicyDocument": {},
                    "RolePolicyList": [{"PolicyName": "inline", "PolicyDocument": "%7B"}]}]}),
            )
            .unwrap_err();
        assert!(
            e.starts_with("iam.json: role web: inline policy inline: "),
            "{e}"
        );
        let e = aws
            .absorb(
                "iam.json",
                &json!({"RoleDetailList": [], "Policies": [{"Arn": "arn:aws:iam::1:policy/p",
                    "PolicyVersionList": [{"IsDefaultVersion": true, "Document": "%E2%28%A1"}]}]}),
            )
            .unwrap_err();
        assert!(
            e.starts_with("iam.json: managed policy arn:aws:iam::1:policy/p: "),
            "{e}"
        );
    }

    fn trust(condition: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::111122223333:oidc-provider/{ISSUER}")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition,
        }]})
    }

    #[test]
    fn trust_conditions_on_sub_and_aud() {
        let exact = trust(
            json!({"StringEquals": {format!("{ISSUER}:sub"): "system:serviceaccount:shop:web", format!("{ISSUER}:aud"): "sts.amazonaws.com"}}),
        );
        assert!(web_identity_trusts(&exact, ISSUER, "shop", "web").is_some());
        assert!(web_identity_trusts(&exact, ISSUER, "shop", "api").is_none());
        let wildcard =
            trust(json!({"StringLike": {format!("{ISSUER}:sub"): "system:serviceaccount:shop:*"}}));
        assert!(web_identity_trusts(&wildcard, ISSUER, "shop", "anything").is_some());
        assert!(web_identity_trusts(&wildcard, ISSUER, "other", "web").is_none());
        // No condition on sub: any service account of the cluster.
        let open = trust(json!({"StringEquals": {format!("{ISSUER}:aud"): "sts.amazonaws.com"}}));
        assert!(web_identity_trusts(&open, ISSUER, "any", "one").is_some());
        // Another issuer: no.
        assert!(web_identity_trusts(&exact, "oidc.example/other", "shop", "web").is_none());
        // A key the cluster's side does not know, an operator it cannot
        // decide: it may hold, and says why.
        let unknown = trust(json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}));
        let found = web_identity_trusts(&unknown, ISSUER, "shop", "web").unwrap();
        assert!(
            found.unsure.as_ref().unwrap().contains("aws:SourceIp"),
            "{found:?}"
        );
        assert!(found.describe().starts_with("may allow it"));
        let operator = trust(json!({"NumericLessThan": {format!("{ISSUER}:sub"): "1"}}));
        assert!(web_identity_trusts(&operator, ISSUER, "shop", "web")
            .unwrap()
            .unsure
            .is_some());
        // Certain when it is decided.
        assert_eq!(
            web_identity_trusts(&exact, ISSUER, "shop", "web")
                .unwrap()
                .unsure,
            None
        );
        // URL-encoded documents, as IAM returns them.
        let encoded = Value::String(
            serde_json::to_string(&wildcard)
                .unwrap()
                .replace('"', "%22")
                .replace(':', "%3A"),
        );
        assert!(web_identity_trusts(&document(&encoded).unwrap(), ISSUER, "shop", "web").is_some());
    }

    #[test]
    fn an_explicit_deny_wins() {
        let mut policy = trust(json!({"StringLike": {format!("{ISSUER}:sub"): "*"}}));
        policy["Statement"].as_array_mut().unwrap().push(json!({
            "Effect": "Deny",
            "Principal": {"Federated": format!("arn:aws:iam::111122223333:oidc-provider/{ISSUER}")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {format!("{ISSUER}:sub"): "system:serviceaccount:kube-system:default"}},
        }));
        assert!(web_identity_trusts(&policy, ISSUER, "shop", "web").is_some());
        assert!(web_identity_trusts(&policy, ISSUER, "kube-system", "default").is_none());
    }

    /// The operators that used to read as "never holds" and hid a path.
    #[test]
    fn operators_it_did_not_know_no_longer_hide_a_path() {
        let sub = format!("{ISSUER}:sub");
        for condition in [
            json!({"Null": {sub.clone(): "false"}}),
            json!({"StringNotEqualsIgnoreCase": {sub.clone(): "system:serviceaccount:kube-system:default"}}),
            json!({"ForAnyValue:StringLike": {sub.clone(): "system:serviceaccount:shop:*"}}),
            json!({"ForAllValues:StringEquals": {sub.clone(): "system:serviceaccount:shop:web"}}),
            json!({"StringLikeIfExists": {sub.clone(): "*"}}),
            json!({"StringEquals": {"aws:PrincipalTag/team": "shop"}}),
            json!({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}),
            json!({"Bool": {"aws:SecureTransport": true}}),
        ] {
            assert!(
                web_identity_trusts(&trust(condition.clone()), ISSUER, "shop", "web").is_some(),
                "{condition}"
            );
        }
        // ...while what they decide against still does not hold.
        for condition in [
            json!({"Null": {sub.clone(): "true"}}),
            json!({"StringNotEqualsIgnoreCase": {sub.clone(): "SYSTEM:serviceaccount:shop:WEB"}}),
            json!({"ForAnyValue:StringLike": {sub.clone(): "system:serviceaccount:other:*"}}),
        ] {
            assert!(
                web_identity_trusts(&trust(condition.clone()), ISSUER, "shop", "web").is_none(),
                "{condition}"
            );
        }
    }

    #[test]
    fn principals_and_actions() {
        let statement = |principal: Value, action: Value| {
            let mut s = json!({"Effect": "Allow", "Condition": {"StringEquals": {format!("{ISSUER}:sub"): "system:serviceaccount:shop:web"}}});
            s.as_object_mut()
                .unwrap()
                .extend(principal.as_object().unwrap().clone());
            s.as_object_mut()
                .unwrap()
                .extend(action.as_object().unwrap().clone());
            json!({"Statement": s})
        };
        let provider =
            json!({"Principal": {"Federated": format!("arn:aws:iam::1:oidc-provider/{ISSUER}")}});
        let action = json!({"Action": "sts:AssumeRoleWith*"});
        let trusts = |p: &Value, a: &Value| {
            web_identity_trusts(&statement(p.clone(), a.clone()), ISSUER, "shop", "web")
        };
        assert_eq!(trusts(&provider, &action).unwrap().unsure, None);
        assert!(trusts(&provider, &json!({"Action": "STS:*"})).is_some());
        assert!(trusts(&provider, &json!({"NotAction": "sts:AssumeRole"})).is_some());
        assert!(trusts(&provider, &json!({"NotAction": "sts:*"})).is_none());
        assert!(trusts(&provider, &json!({"Action": "sts:AssumeRole"})).is_none());
        assert!(trusts(&json!({"Principal": "*"}), &action)
            .unwrap()
            .unsure
            .is_some());
        assert!(trusts(&json!({"Principal": {"AWS": "*"}}), &action)
            .unwrap()
            .unsure
            .is_some());
        assert!(trusts(
            &json!({"NotPrincipal": {"AWS": "arn:aws:iam::1:root"}}),
            &action
        )
        .unwrap()
        .unsure
        .is_some());
        assert!(trusts(
            &json!({"NotPrincipal": provider["Principal"].clone()}),
            &action
        )
        .is_none());
        assert!(trusts(
            &json!({"Principal": {"Federated": "accounts.google.com"}}),
            &action
        )
        .is_none());
        // A Deny to everyone applies; one that may apply leaves it unsure.
        let mut policy = statement(provider.clone(), action.clone());
        policy["Statement"] = json!([policy["Statement"].clone(), {"Effect": "Deny", "Principal": "*", "Action": "sts:*"}]);
        assert!(web_identity_trusts(&policy, ISSUER, "shop", "web").is_none());
        policy["Statement"][1]["Condition"] = json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}});
        let unsure = web_identity_trusts(&policy, ISSUER, "shop", "web")
            .unwrap()
            .unsure
            .unwrap();
        assert!(unsure.starts_with("a Deny may apply"), "{unsure}");
    }

    /// An operator IAM does not document never hides a path: in an Allow
    /// it may hold, in a Deny it may apply, and either way the trust
    /// stays, unsure and saying why.
    #[test]
    fn an_unknown_operator_fails_towards_the_path() {
        let mut policy = trust(json!({"StringLike": {format!("{ISSUER}:sub"): "*"}}));
        policy["Statement"].as_array_mut().unwrap().push(json!({
            "Effect": "Deny",
            "Principal": {"Federated": format!("arn:aws:iam::111122223333:oidc-provider/{ISSUER}")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEqualsMaybe": {format!("{ISSUER}:sub"): "system:serviceaccount:shop:web"}},
        }));
        let found = web_identity_trusts(&policy, ISSUER, "shop", "web").unwrap();
        assert!(
            found.unsure.as_ref().unwrap().contains("StringEqualsMaybe"),
            "{found:?}"
        );
        let allow = trust(json!({"StringEqualsMaybe": {format!("{ISSUER}:sub"): "x"}}));
        assert!(web_identity_trusts(&allow, ISSUER, "shop", "web")
            .unwrap()
            .unsure
            .is_some());
    }

    /// Pod Identity's agent needs both actions; the target names the entry
    /// role.
    #[test]
    fn tagged_sessions_need_both_actions() {
        let agent = Principal::Service(POD_IDENTITY_SERVICE);
        let policy = |action: Value| {
            json!({"Statement": [{"Effect": "Allow",
                "Principal": {"Service": POD_IDENTITY_SERVICE}, "Action": action}]})
        };
        assert!(admits_tagged_session(
            &policy(json!(["sts:AssumeRole", "sts:TagSession"])),
            &agent
        )
        .is_some());
        assert!(admits_tagged_session(&policy(json!("sts:*")), &agent).is_some());
        assert!(admits_tagged_session(&policy(json!("sts:AssumeRole")), &agent).is_none());
        assert!(admits_tagged_session(&policy(json!("sts:TagSession")), &agent).is_none());
        let other = Principal::Service("ec2.amazonaws.com");
        assert!(admits_tagged_session(&policy(json!("sts:*")), &other).is_none());
        let entry = "arn:aws:iam::111122223333:role/entry";
        let by_role = json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": entry},
            "Action": ["sts:AssumeRole", "sts:TagSession"]}});
        assert!(admits_tagged_session(&by_role, &Principal::Aws(entry)).is_some());
        assert!(admits_tagged_session(
            &by_role,
            &Principal::Aws("arn:aws:iam::111122223333:role/other")
        )
        .is_none());
        // The account's root delegates to its IAM policies: unsure.
        let by_account = json!({"Statement": {"Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:*"}});
        assert!(admits_tagged_session(&by_account, &Principal::Aws(entry))
            .unwrap()
            .unsure
            .is_some());
    }

    #[test]
    fn the_authentication_mode_is_read_and_checked() {
        let mut aws = Aws::default();
        assert!(aws
            .absorb(
                "cluster.json",
                &json!({"cluster": {"accessConfig": {"authenticationMode": "API"}}})
            )
            .unwrap());
        assert_eq!(aws.authentication_mode, Some(AuthenticationMode::Api));
        let e = aws
            .absorb(
                "cluster.json",
                &json!({"cluster": {"accessConfig": {"authenticationMode": "api"}}}),
            )
            .unwrap_err();
        assert!(
            e.contains("none of CONFIG_MAP, API, API_AND_CONFIG_MAP"),
            "{e}"
        );
        assert!(same_principal(
            "arn:aws:iam::1:role/team/deployer",
            "arn:aws:iam::1:role/deployer"
        ));
        assert!(!same_principal(
            "arn:aws:iam::1:role/deployer",
            "arn:aws:iam::2:role/deployer"
        ));
    }

    #[test]
    fn subjects_bound_the_candidates() {
        let key = format!("{ISSUER}:sub");
        let of = |c: Value| subjects(&json!({"Condition": c}), ISSUER);
        assert_eq!(
            of(json!({"StringEquals": {key.clone(): "a"}})),
            Subjects::Exact(vec!["a".into()])
        );
        assert_eq!(
            of(json!({"StringLike": {key.to_uppercase(): ["system:*", "x?y"]}})),
            Subjects::Prefixes(vec!["system:".into(), "x".into()])
        );
        for shape in [
            json!({"StringEquals": {key.clone(): "${aws:username}"}}),
            json!({"StringEquals": {key.clone(): []}}),
            json!({"StringEquals": {key.clone(): 5}}),
            json!({"StringEqualsIfExists": {key.clone(): "a"}}),
            json!({"StringNotEquals": {key.clone(): "a"}}),
            json!({}),
            json!("x"),
        ] {
            assert_eq!(of(shape.clone()), Subjects::Any, "{shape}");
        }
    }
}
