#!/usr/bin/env python3
"""Write a cluster and its AWS account for the `corral drift --cloud` benchmark.

Usage: gen_drift.py OUT_DIR ROLES

OUT_DIR/cluster.yaml: 100 namespaces, and a service account for every
other role (annotated with it, one in 4 annotated with a role that does not
trust it). OUT_DIR/iam.json (get-account-authorization-details): ROLES IRSA
roles, role i trusting system:serviceaccount:ns-(i % 100):sa-i, so half
of them trust an account the cluster does not have (CRL-D002); one in 10
trusts a StringLike pattern (CRL-D003), one in 5 has no condition on aud
(CRL-D004). OUT_DIR/cluster.json (describe-cluster) and
OUT_DIR/instances.json (describe-instances: 200 instances, half with
IMDSv1). Pretty-printed, as the AWS CLI prints them, so findings have
lines to point at. Deterministic: the same arguments give the same files.
"""
import json
import os
import sys

ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/DRIFTBENCH"
ACCOUNT = "111122223333"
NAMESPACES = 100


def trust(i):
    key = "StringLike" if i % 10 == 0 else "StringEquals"
    sub = f"system:serviceaccount:ns-{i % NAMESPACES}:" + ("*" if i % 10 == 0 else f"sa-{i}")
    condition = {key: {f"{ISSUER}:sub": sub}}
    if i % 5 != 0:
        condition[key][f"{ISSUER}:aud"] = "sts.amazonaws.com"
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": condition,
    }]}


def main():
    out, count = sys.argv[1], int(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    roles = [{
        "Path": "/", "RoleName": f"app-{i}", "RoleId": f"AROA{i:012d}",
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/app-{i}", "CreateDate": "2026-01-01T00:00:00Z",
        "AssumeRolePolicyDocument": trust(i), "InstanceProfileList": [], "RolePolicyList": [],
        "AttachedManagedPolicies": [], "Tags": [],
    } for i in range(count)]
    with open(os.path.join(out, "iam.json"), "w") as f:
        json.dump({"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": roles, "Policies": []}, f, indent=4)
    with open(os.path.join(out, "cluster.json"), "w") as f:
        json.dump({"cluster": {"name": "bench", "identity": {"oidc": {"issuer": f"https://{ISSUER}"}}}}, f, indent=4)
    instances = [{
        "InstanceId": f"i-{n:017x}",
        "MetadataOptions": {"State": "applied", "HttpTokens": "optional" if n % 2 else "required",
                            "HttpPutResponseHopLimit": 2 if n % 2 else 1, "HttpEndpoint": "enabled"},
    } for n in range(200)]
    with open(os.path.join(out, "instances.json"), "w") as f:
        json.dump({"Reservations": [{"Instances": instances}]}, f, indent=4)
    with open(os.path.join(out, "cluster.yaml"), "w") as f:
        w = f.write
        for ns in range(NAMESPACES):
            w(f"---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: ns-{ns}}}\n")
        for i in range(0, count, 2):
            target = i + 2 if i % 8 == 0 else i
            w(f"---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: sa-{i}, namespace: ns-{i % NAMESPACES}, "
              f"annotations: {{eks.amazonaws.com/role-arn: 'arn:aws:iam::{ACCOUNT}:role/app-{target}'}}}}\n")


if __name__ == "__main__":
    main()
