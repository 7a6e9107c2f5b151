//! Who a request is from, as the authorizer sees it: a user, a group, or a
//! service account (the user `system:serviceaccount:NS:NAME`), with the
//! groups every authenticated service account and user is in.

use k8s_openapi::api::rbac::v1 as rbac;

/// Groups every user and service account who authenticated is in.
pub const AUTHENTICATED: &str = "system:authenticated";
/// Every service account of the cluster.
pub const SERVICE_ACCOUNTS: &str = "system:serviceaccounts";
/// Holds every permission: the authorizer never asks RBAC for it.
pub const MASTERS: &str = "system:masters";
const SERVICE_ACCOUNT_USER: &str = "system:serviceaccount:";

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    User(String),
    Group(String),
    ServiceAccount { namespace: String, name: String },
}

impl Subject {
    /// The subject a binding names. A ServiceAccount without a namespace
    /// is in the RoleBinding's namespace (in a ClusterRoleBinding it names
    /// no account); a User named `system:serviceaccount:NS:NAME` is that
    /// service account. Unknown kinds name nobody.
    pub fn of_binding(subject: &rbac::Subject, binding_namespace: Option<&str>) -> Option<Subject> {
        match subject.kind.as_str() {
            "ServiceAccount" => {
                let namespace = subject
                    .namespace
                    .as_deref()
                    .filter(|ns| !ns.is_empty())
                    .or(binding_namespace)?;
                Some(Subject::ServiceAccount {
                    namespace: namespace.to_string(),
                    name: subject.name.clone(),
                })
            }
            "User" => Some(Subject::user(&subject.name)),
            "Group" => Some(Subject::Group(subject.name.clone())),
            _ => None,
        }
    }

    /// A user by name; a service account's user name is that account.
    pub fn user(name: &str) -> Subject {
        let account = name
            .strip_prefix(SERVICE_ACCOUNT_USER)
            .and_then(|rest| rest.split_once(':'))
            .filter(|(ns, name)| !ns.is_empty() && !name.is_empty() && !name.contains(':'));
        match account {
            Some((namespace, name)) => Subject::ServiceAccount {
                namespace: namespace.to_string(),
                name: name.to_string(),
            },
            None => Subject::User(name.to_string()),
        }
    }

    /// The groups the authenticator puts the subject in whatever else it
    /// is in: a service account's two groups and `system:authenticated`;
    /// `system:authenticated` for a user (`system:unauthenticated` for
    /// `system:anonymous`). A group is itself.
    pub fn implicit_groups(&self) -> Vec<String> {
        match self {
            Subject::ServiceAccount { namespace, .. } => vec![
                SERVICE_ACCOUNTS.to_string(),
                format!("{SERVICE_ACCOUNTS}:{namespace}"),
                AUTHENTICATED.to_string(),
            ],
            Subject::User(name) if name == "system:anonymous" => {
                vec!["system:unauthenticated".to_string()]
            }
            Subject::User(_) => vec![AUTHENTICATED.to_string()],
            Subject::Group(_) => Vec::new(),
        }
    }

    /// `ServiceAccount ns/name`, `User name`, `Group name`.
    pub fn label(&self) -> String {
        match self {
            Subject::User(name) => format!("User {name}"),
            Subject::Group(name) => format!("Group {name}"),
            Subject::ServiceAccount { namespace, name } => {
                format!("ServiceAccount {namespace}/{name}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(kind: &str, name: &str, namespace: Option<&str>) -> rbac::Subject {
        rbac::Subject {
            kind: kind.into(),
            name: name.into(),
            namespace: namespace.map(Into::into),
            api_group: None,
        }
    }

    #[test]
    fn subjects_are_named_as_the_authorizer_names_them() {
        let sa = |ns: &str, name: &str| Subject::ServiceAccount {
            namespace: ns.into(),
            name: name.into(),
        };
        assert_eq!(
            Subject::of_binding(&subject("ServiceAccount", "ci", None), Some("shop")),
            Some(sa("shop", "ci"))
        );
        assert_eq!(
            Subject::of_binding(&subject("ServiceAccount", "ci", None), None),
            None
        );
        assert_eq!(
            Subject::of_binding(
                &subject("User", "system:serviceaccount:shop:ci", None),
                None
            ),
            Some(sa("shop", "ci"))
        );
        assert_eq!(
            Subject::user("system:serviceaccount:shop"),
            Subject::User("system:serviceaccount:shop".into())
        );
        assert_eq!(
            Subject::of_binding(&subject("Robot", "r2", None), None),
            None
        );
        assert_eq!(
            sa("shop", "ci").implicit_groups(),
            [
                "system:serviceaccounts",
                "system:serviceaccounts:shop",
                "system:authenticated"
            ]
        );
        assert_eq!(
            Subject::user("system:anonymous").implicit_groups(),
            ["system:unauthenticated"]
        );
    }
}
