#!/usr/bin/env python3
"""Write a synthetic cluster snapshot for `corral paths` benchmarks.

Usage: gen_cluster.py OUT NODES PODS BINDINGS [CLOUD_DIR]

Namespaces of 300 pods each, every pod scheduled on a node, with its own
service account (one in 50 annotated with an IRSA role). One pod in 100 is
privileged with hostPID, one in 100 mounts a host path. Bindings: RoleBindings
of a few roles per namespace (exec, read secrets, create pods, harmless
reads) to service accounts and groups, plus one ClusterRoleBinding in 50.

SUBJECTS=group (or user) in the environment: the first GROUPS (12,500)
bindings bind a group (every account of the namespace one in 25, a team
otherwise), or users of the same names, instead of service accounts.

With CLOUD_DIR, the AWS account around it, as the CLIs print it:
`iam.json` (get-account-authorization-details: each annotated account's
role, trusting exactly it, one in 10 an administrator; a role per 10
namespaces trusting `ns-N:*` with StringLike; the node role),
`cluster.json` (describe-cluster) and `instances.json` (describe-instances:
every node an instance, half of them with IMDSv1).
Deterministic: the same arguments give the same files.
"""
import json
import os
import random
import sys

ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/BENCHMARK"
ACCOUNT = "111122223333"


def trust(operator, sub):
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {operator: {f"{ISSUER}:sub": sub, f"{ISSUER}:aud": "sts.amazonaws.com"}},
    }]}


def role(name, document, admin, profiles=()):
    attached = [{"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}] if admin else []
    return {
        "Path": "/", "RoleName": name, "RoleId": f"AROA{abs(hash(name)) % 10**12:012d}",
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}", "CreateDate": "2026-01-01T00:00:00Z",
        "AssumeRolePolicyDocument": document, "InstanceProfileList": [
            {"InstanceProfileName": p, "Arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/{p}"} for p in profiles],
        "RolePolicyList": [], "AttachedManagedPolicies": attached, "Tags": [],
    }


def cloud(directory, nodes, pods, namespaces):
    os.makedirs(directory, exist_ok=True)
    roles = [role("eks-node", {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        False, ["eks-node"])]
    for p in range(0, pods, 50):
        ns = p % namespaces
        roles.append(role(f"app-{p}", trust("StringEquals", f"system:serviceaccount:ns-{ns}:sa-{p}"), p % 500 == 0))
    for ns in range(0, namespaces, 10):
        roles.append(role(f"team-{ns}", trust("StringLike", f"system:serviceaccount:ns-{ns}:*"), False))
    with open(os.path.join(directory, "iam.json"), "w") as f:
        json.dump({"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": roles, "Policies": []}, f)
    with open(os.path.join(directory, "cluster.json"), "w") as f:
        json.dump({"cluster": {"name": "bench", "identity": {"oidc": {"issuer": f"https://{ISSUER}"}}}}, f)
    instances = [{
        "InstanceId": f"i-{n:017x}",
        "IamInstanceProfile": {"Arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/eks-node"},
        "MetadataOptions": {"State": "applied", "HttpTokens": "optional" if n % 2 else "required",
                            "HttpPutResponseHopLimit": 2 if n % 2 else 1, "HttpEndpoint": "enabled"},
    } for n in range(nodes)]
    with open(os.path.join(directory, "instances.json"), "w") as f:
        json.dump({"Reservations": [{"Instances": instances}]}, f)


SUBJECTS = os.environ.get("SUBJECTS", "sa")
GROUPS = int(os.environ.get("GROUPS", "12500"))


def main():
    out, nodes, pods, bindings = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(42)
    namespaces = max(1, pods // 300)
    with open(out, "w") as f:
        w = f.write
        for n in range(nodes):
            w(f"---\napiVersion: v1\nkind: Node\nmetadata: {{name: node-{n}}}\n"
              f"spec: {{providerID: 'aws:///eu-west-1a/i-{n:017x}'}}\n")
        roles = {
            "exec": '[{apiGroups: [""], resources: [pods/exec], verbs: [create]}]',
            "secrets": '[{apiGroups: [""], resources: [secrets], verbs: [get, list]}]',
            "deployer": '[{apiGroups: [apps], resources: [deployments], verbs: [create, patch]}]',
            "reader": '[{apiGroups: [""], resources: [pods, services], verbs: [get, list]}]',
        }
        w("---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: cluster-admin}\n"
          "rules: [{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]\n")
        for ns in range(namespaces):
            w(f"---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: ns-{ns}}}\n")
            for role, rules in roles.items():
                w(f"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: {role}, namespace: ns-{ns}}}\nrules: {rules}\n")
        for p in range(pods):
            ns = p % namespaces
            sa = f"sa-{p}"
            annotation = (
                f", annotations: {{eks.amazonaws.com/role-arn: 'arn:aws:iam::111122223333:role/app-{p}'}}"
                if p % 50 == 0 else ""
            )
            w(f"---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: {sa}, namespace: ns-{ns}{annotation}}}\n")
            privileged = p % 100 == 1
            host_path = p % 100 == 2
            context = "securityContext: {privileged: true}, " if privileged else ""
            mounts = "volumeMounts: [{name: host, mountPath: /host}], " if host_path else ""
            volumes = ", volumes: [{name: host, hostPath: {path: /var/lib/kubelet/pods}}]" if host_path else ""
            host_pid = "hostPID: true, " if privileged else ""
            w(
                f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: pod-{p}, namespace: ns-{ns}, labels: {{app: app-{p % 1000}}}}}\n"
                f"spec: {{nodeName: node-{rng.randrange(nodes)}, serviceAccountName: {sa}, {host_pid}"
                f"containers: [{{name: app, image: registry.example.com/app:1, {context}{mounts}ports: [{{containerPort: 8080}}]}}]{volumes}}}\n"
            )
        for b in range(bindings):
            ns = rng.randrange(namespaces)
            if b % 50 == 0:
                w(f"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: crb-{b}}}\n"
                  f"roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}}\n"
                  f"subjects: [{{kind: User, name: admin-{b}}}]\n")
                continue
            role = rng.choice(list(roles))
            # An account of the binding's own namespace (pod p lives in p % namespaces).
            account = ns + namespaces * rng.randrange(max(1, (pods - ns + namespaces - 1) // namespaces))
            subject = f"{{kind: ServiceAccount, name: sa-{account}, namespace: ns-{ns}}}"
            # SUBJECTS=group: the first GROUPS bindings bind groups (every
            # account of the namespace, or a team); SUBJECTS=user the same
            # names as users, to compare.
            if SUBJECTS != "sa" and b < GROUPS:
                kind = "Group" if SUBJECTS == "group" else "User"
                name = f"system:serviceaccounts:ns-{ns}" if b % 25 == 1 else f"team-{b}"
                subject = f"{{kind: {kind}, name: '{name}', apiGroup: rbac.authorization.k8s.io}}"
            w(f"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: rb-{b}, namespace: ns-{ns}}}\n"
              f"roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: {role}}}\nsubjects: [{subject}]\n")


    if len(sys.argv) > 5:
        cloud(sys.argv[5], nodes, pods, namespaces)


if __name__ == "__main__":
    main()
