//! AWS: IAM roles with their trust policies and whether their permissions
//! amount to administrator (`aws iam get-account-authorization-details`),
//! the cluster's OIDC issuer (`aws eks describe-cluster`), and the
//! instances' metadata options and instance profiles (`aws ec2
//! describe-instances`). The trust policy decides who may assume a role;
//! the service account annotation only selects.

use std::collections::HashMap;

use serde_json::Value;

use super::strings;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Role {
    /// The file it was read from.
    pub file: String,
    pub name: String,
    pub arn: String,
    pub trust: Value,
    pub admin: bool,
    pub instance_profiles: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Instance {
    pub file: String,
    pub id: String,
    /// `HttpTokens: required`: IMDSv2 only.
    pub tokens_required: bool,
    pub hop_limit: i64,
    pub endpoint_enabled: bool,
    pub profile: Option<String>,
}

/// An EKS Pod Identity association: the service account's pods get the
/// role (and, through it, `target_role`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodIdentity {
    pub file: String,
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
    pub file: String,
    pub principal: String,
    pub username: Option<String>,
    pub groups: Vec<String>,
    pub cluster_admin: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Aws {
    /// OIDC issuers, without `https://`.
    pub issuers: Vec<String>,
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
/// some places.
fn document(value: &Value) -> Value {
    match value {
        Value::String(text) => {
            let decoded = percent_decode(text);
            serde_json::from_str(&decoded).unwrap_or(Value::Null)
        }
        other => other.clone(),
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    // Bytes, not a slice of the text: `%` may be followed by a multi-byte
    // character.
    let hex = |at: usize| (bytes[at] as char).to_digit(16);
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(high), Some(low)) = (hex(i + 1), hex(i + 2)) {
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn statements(policy: &Value) -> Vec<&Value> {
    match &policy["Statement"] {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        one => vec![one],
    }
}

/// IAM's wildcard match: `*` any run, `?` one character.
pub fn like(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// Does one condition operator hold for `values` of `key` given `context`?
/// Operators Corral does not know never hold.
fn condition(operator: &str, expected: &[String], actual: &str) -> bool {
    // The keys checked here are always present in a web identity token, so
    // `...IfExists` reads as the operator itself.
    let op = operator.strip_suffix("IfExists").unwrap_or(operator);
    let op = op
        .trim_start_matches("ForAnyValue:")
        .trim_start_matches("ForAllValues:");
    match op {
        "StringEquals" => expected.iter().any(|e| e == actual),
        "StringEqualsIgnoreCase" => expected.iter().any(|e| e.eq_ignore_ascii_case(actual)),
        "StringLike" | "ArnLike" | "ArnEquals" => expected.iter().any(|e| like(e, actual)),
        "StringNotEquals" => expected.iter().all(|e| e != actual),
        "StringNotLike" | "ArnNotLike" => expected.iter().all(|e| !like(e, actual)),
        _ => false,
    }
}

/// Does `statement`'s Condition hold for a web identity token of `sub`
/// and `aud` from `issuer`? Conditions on other keys cannot be known here
/// and make the statement not match.
fn conditions_hold(statement: &Value, issuer: &str, sub: &str, aud: &str) -> bool {
    let Some(conditions) = statement["Condition"].as_object() else {
        return true;
    };
    conditions.iter().all(|(operator, keys)| {
        keys.as_object().is_some_and(|keys| {
            keys.iter().all(|(key, expected)| {
                let actual = if key.eq_ignore_ascii_case(&format!("{issuer}:sub")) {
                    sub
                } else if key.eq_ignore_ascii_case(&format!("{issuer}:aud")) {
                    aud
                } else {
                    return false;
                };
                condition(operator, &strings(expected), actual)
            })
        })
    })
}

/// The Allow statements of a trust policy that let tokens from `issuer`
/// assume the role with `sts:AssumeRoleWithWebIdentity`, whatever their
/// conditions; `None` when there are none.
pub fn federating<'a>(trust: &'a Value, issuer: &str) -> Option<Vec<&'a Value>> {
    let found: Vec<&Value> = statements(trust)
        .into_iter()
        .filter(|s| s["Effect"] == "Allow" && federates(s, issuer))
        .collect();
    (!found.is_empty()).then_some(found)
}

fn federates(statement: &Value, issuer: &str) -> bool {
    let action_ok = strings(&statement["Action"])
        .iter()
        .any(|a| like(&a.to_ascii_lowercase(), "sts:assumerolewithwebidentity"));
    let principal_ok = strings(&statement["Principal"]["Federated"])
        .iter()
        .any(|p| p.ends_with(&format!(":oidc-provider/{issuer}")));
    action_ok && principal_ok
}

/// Does the trust policy let a token of service account `namespace/name`,
/// issued by `issuer`, assume the role with `sts:AssumeRoleWithWebIdentity`?
/// An explicit Deny wins.
pub fn web_identity_trusts(
    trust: &Value,
    issuer: &str,
    namespace: &str,
    name: &str,
) -> Option<String> {
    let sub = format!("system:serviceaccount:{namespace}:{name}");
    let aud = "sts.amazonaws.com";
    let mut allowed = None;
    for statement in statements(trust) {
        if !federates(statement, issuer) || !conditions_hold(statement, issuer, &sub, aud) {
            continue;
        }
        match statement["Effect"].as_str() {
            Some("Deny") => return None,
            Some("Allow") => {
                allowed = Some(
                    statement["Condition"]
                        .to_string()
                        .chars()
                        .take(200)
                        .collect::<String>(),
                )
            }
            _ => {}
        }
    }
    allowed
}

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
    pub fn absorb(&mut self, file: &str, value: &Value) -> bool {
        if let Some(roles) = value["RoleDetailList"].as_array() {
            let managed: Vec<(&str, Value)> = value["Policies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| {
                    let arn = p["Arn"].as_str()?;
                    let default = p["PolicyVersionList"]
                        .as_array()?
                        .iter()
                        .find(|v| v["IsDefaultVersion"] == true)?;
                    Some((arn, document(&default["Document"])))
                })
                .collect();
            for role in roles {
                let attached: Vec<&Value> = role["AttachedManagedPolicies"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .collect();
                let admin = attached.iter().any(|p| {
                    p["PolicyName"] == "AdministratorAccess"
                        || managed.iter().any(|(arn, doc)| {
                            p["PolicyArn"].as_str() == Some(*arn) && grants_everything(doc)
                        })
                }) || role["RolePolicyList"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| grants_everything(&document(&p["PolicyDocument"])));
                self.roles.push(Role {
                    file: file.to_string(),
                    name: role["RoleName"].as_str().unwrap_or("").into(),
                    arn: role["Arn"].as_str().unwrap_or("").into(),
                    trust: document(&role["AssumeRolePolicyDocument"]),
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
            return true;
        }
        if let Some(issuer) = value["cluster"]["identity"]["oidc"]["issuer"].as_str() {
            self.issuers
                .push(issuer.trim_start_matches("https://").to_string());
            return true;
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
                namespace: field("namespace").unwrap_or_default(),
                service_account: field("serviceAccount").unwrap_or_default(),
                role: field("roleArn").unwrap_or_default(),
                target_role: field("targetRoleArn"),
            });
            return true;
        }
        if let Some(entry) = value["accessEntry"].as_object() {
            self.access_entries.push(AccessEntry {
                file: file.to_string(),
                principal: entry
                    .get("principalArn")
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .into(),
                username: entry
                    .get("username")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                groups: entry
                    .get("kubernetesGroups")
                    .map(strings)
                    .unwrap_or_default(),
                cluster_admin: false,
            });
            return true;
        }
        if let Some(policies) = value["associatedAccessPolicies"].as_array() {
            let principal = value["principalArn"].as_str().unwrap_or("").to_string();
            let admin = policies.iter().any(|p| {
                p["policyArn"]
                    .as_str()
                    .is_some_and(|a| a.ends_with("/AmazonEKSClusterAdminPolicy"))
                    && p["accessScope"]["type"] == "cluster"
            });
            match self
                .access_entries
                .iter_mut()
                .find(|e| e.principal == principal)
            {
                Some(entry) => entry.cluster_admin |= admin,
                None => self.access_entries.push(AccessEntry {
                    file: file.to_string(),
                    principal,
                    cluster_admin: admin,
                    ..AccessEntry::default()
                }),
            }
            return true;
        }
        if let Some(reservations) = value["Reservations"].as_array() {
            for instance in reservations
                .iter()
                .flat_map(|r| r["Instances"].as_array().into_iter().flatten())
            {
                let options = &instance["MetadataOptions"];
                self.instances.push(Instance {
                    file: file.to_string(),
                    id: instance["InstanceId"].as_str().unwrap_or("").into(),
                    tokens_required: options["HttpTokens"] == "required",
                    hop_limit: options["HttpPutResponseHopLimit"].as_i64().unwrap_or(1),
                    endpoint_enabled: options["HttpEndpoint"] != "disabled",
                    profile: instance["IamInstanceProfile"]["Arn"]
                        .as_str()
                        .map(str::to_string),
                });
            }
            return true;
        }
        false
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISSUER: &str = "oidc.eks.eu-west-1.amazonaws.com/id/ABC";

    /// Found by the `cloud` fuzz target: `%` before a multi-byte character
    /// panicked on a slice inside it.
    #[test]
    fn percent_decoding_takes_any_text() {
        assert_eq!(percent_decode("%7B%22a%22%3A1%7D+x"), "{\"a\":1} x");
        assert_eq!(percent_decode("%\u{390}F%e2F2%"), "%\u{390}F\u{fffd}F2%");
        assert_eq!(percent_decode("%4"), "%4");
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
        // Another issuer, an unknown key or operator: no.
        assert!(web_identity_trusts(&exact, "oidc.example/other", "shop", "web").is_none());
        let unknown = trust(json!({"StringEquals": {"aws:SourceIp": "10.0.0.1"}}));
        assert!(web_identity_trusts(&unknown, ISSUER, "shop", "web").is_none());
        let operator = trust(json!({"NumericLessThan": {format!("{ISSUER}:sub"): "1"}}));
        assert!(web_identity_trusts(&operator, ISSUER, "shop", "web").is_none());
        // URL-encoded documents, as IAM returns them.
        let encoded = Value::String(
            serde_json::to_string(&wildcard)
                .unwrap()
                .replace('"', "%22")
                .replace(':', "%3A"),
        );
        assert!(web_identity_trusts(&document(&encoded), ISSUER, "shop", "web").is_some());
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
}
