#!/usr/bin/env python3
"""Write a synthetic cluster snapshot for `corral paths` benchmarks.

Usage: gen_cluster.py OUT NODES PODS BINDINGS

Namespaces of 300 pods each, every pod scheduled on a node, with its own
service account (one in 50 annotated with an IRSA role). One pod in 100 is
privileged with hostPID, one in 100 mounts a host path. Bindings: RoleBindings
of a few roles per namespace (exec, read secrets, create pods, harmless
reads) to service accounts and groups, plus one ClusterRoleBinding in 50.
Deterministic: the same arguments give the same file.
"""
import random
import sys


def main():
    out, nodes, pods, bindings = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(42)
    namespaces = max(1, pods // 300)
    with open(out, "w") as f:
        w = f.write
        for n in range(nodes):
            w(f"---\napiVersion: v1\nkind: Node\nmetadata: {{name: node-{n}}}\n")
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
            subject = f"{{kind: ServiceAccount, name: sa-{rng.randrange(pods)}, namespace: ns-{ns}}}"
            w(f"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: rb-{b}, namespace: ns-{ns}}}\n"
              f"roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: {role}}}\nsubjects: [{subject}]\n")


if __name__ == "__main__":
    main()
