"""Helm itself on a chart: `helm lint` and `helm template`, through the Helm
v4 library as helm-sdkpy (PyPI, Apache-2.0) bundles it.

    python render.py CHART RELEASE NAMESPACE

prints one JSON object: "lint", the linter's messages ({"severity": "info" |
"warning" | "error", "path"}), and "manifest", the chart rendered as
`helm template RELEASE CHART --namespace NAMESPACE` prints it.

helm-sdkpy 0.1.32 has no template action and no dry-run or client-only
option (its install options are fixed), so the rendering is Helm's install
action run against a stub API server on the loopback: it answers discovery
for Kubernetes' built-in kinds, finds nothing existing, and discards every
write; releases stay in Helm's in-memory driver. The release's manifest is
the rendering `helm template` prints (CRDs in crds/ are not part of it there
either: the stub reports them present, so Helm skips them).
"""

import asyncio
import json
import os
import shutil
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Built-in kinds by group version: (resource, kind, namespaced). A chart
# using another fails with Helm's "no matches for kind": add it here.
KINDS = {
    "v1": [
        ("namespaces", "Namespace", False),
        ("serviceaccounts", "ServiceAccount", True),
        ("services", "Service", True),
        ("configmaps", "ConfigMap", True),
        ("secrets", "Secret", True),
        ("pods", "Pod", True),
        ("resourcequotas", "ResourceQuota", True),
        ("limitranges", "LimitRange", True),
    ],
    "apps/v1": [
        ("daemonsets", "DaemonSet", True),
        ("deployments", "Deployment", True),
        ("statefulsets", "StatefulSet", True),
    ],
    "batch/v1": [("jobs", "Job", True), ("cronjobs", "CronJob", True)],
    "rbac.authorization.k8s.io/v1": [
        ("clusterroles", "ClusterRole", False),
        ("clusterrolebindings", "ClusterRoleBinding", False),
        ("roles", "Role", True),
        ("rolebindings", "RoleBinding", True),
    ],
    "policy/v1": [("poddisruptionbudgets", "PodDisruptionBudget", True)],
    "scheduling.k8s.io/v1": [("priorityclasses", "PriorityClass", False)],
    "autoscaling/v2": [("horizontalpodautoscalers", "HorizontalPodAutoscaler", True)],
    "coordination.k8s.io/v1": [("leases", "Lease", True)],
    "networking.k8s.io/v1": [
        ("networkpolicies", "NetworkPolicy", True),
        ("ingresses", "Ingress", True),
    ],
    "apiextensions.k8s.io/v1": [
        ("customresourcedefinitions", "CustomResourceDefinition", False)
    ],
    "admissionregistration.k8s.io/v1": [
        ("validatingadmissionpolicies", "ValidatingAdmissionPolicy", False),
        ("validatingadmissionpolicybindings", "ValidatingAdmissionPolicyBinding", False),
        ("validatingwebhookconfigurations", "ValidatingWebhookConfiguration", False),
    ],
}
SEVERITY = {0: "unknown", 1: "info", 2: "warning", 3: "error"}


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure",
            "reason": reason, "code": code, "message": message}


class Stub(BaseHTTPRequestHandler):
    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass

    def do_GET(self):
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if parts == ["version"]:
            return self.reply(200, {"major": "1", "minor": "33", "gitVersion": "v1.33.0"})
        if parts == ["api"]:
            return self.reply(200, {"kind": "APIVersions", "versions": ["v1"]})
        if parts == ["apis"]:
            groups = [gv.split("/") for gv in KINDS if "/" in gv]
            return self.reply(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v}],
                 "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v}}
                for g, v in groups]})
        if parts[:1] == ["api"]:
            gv, rest = "/".join(parts[1:2]), parts[2:]
        elif parts[:1] == ["apis"]:
            gv, rest = "/".join(parts[1:3]), parts[3:]
        else:
            return self.reply(404, status(404, "NotFound", self.path))
        if not rest:
            if gv not in KINDS:
                return self.reply(404, status(404, "NotFound", gv))
            return self.reply(200, {"kind": "APIResourceList", "apiVersion": "v1",
                                    "groupVersion": gv, "resources": [
                {"name": r, "singularName": k.lower(), "namespaced": ns, "kind": k,
                 "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}
                for r, k, ns in KINDS[gv]]})
        if rest[0] == "namespaces" and len(rest) > 2:
            rest = rest[2:]
        if len(rest) == 1:
            return self.reply(200, {"kind": "List", "apiVersion": "v1", "metadata": {}, "items": []})
        return self.reply(404, status(404, "NotFound", self.path))

    def do_POST(self):
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        except ValueError:
            return self.reply(415, status(415, "UnsupportedMediaType", "JSON only"))
        if body.get("kind") == "CustomResourceDefinition":
            return self.reply(409, status(409, "AlreadyExists", "present"))
        return self.reply(201, body)


def main():
    chart, release, namespace = sys.argv[1:4]
    # Helm's Go runtime reads the environment the process started with.
    if os.environ.get("HELM_DRIVER") != "memory":
        home = tempfile.mkdtemp(prefix="corral-helm-")
        for var in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
            os.environ[var] = os.path.join(home, var)
        os.environ["HELM_DRIVER"] = "memory"
        os.environ["CORRAL_HELM_TMP"] = home
        os.execv(sys.executable, [sys.executable, *sys.argv])
    home = os.environ["HELM_DATA_HOME"]
    os.makedirs(home, exist_ok=True)
    import helm_sdkpy

    server = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    kubeconfig = os.path.join(home, "kubeconfig")
    with open(kubeconfig, "w") as f:
        json.dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "stub",
        "clusters": [{"name": "stub", "cluster": {"server": f"http://127.0.0.1:{server.server_address[1]}"}}],
        "users": [{"name": "stub", "user": {}}],
        "contexts": [{"name": "stub", "context": {"cluster": "stub", "user": "stub", "namespace": namespace}}],
        }, f)
    try:
        render(helm_sdkpy, chart, release, namespace, kubeconfig)
    except helm_sdkpy.HelmError as e:
        sys.exit(f"{chart}: {e}")
    finally:
        server.shutdown()
        if os.environ.get("CORRAL_HELM_TMP"):
            shutil.rmtree(os.environ["CORRAL_HELM_TMP"], ignore_errors=True)


def render(helm_sdkpy, chart, release, namespace, kubeconfig):
    config = helm_sdkpy.Configuration(namespace=namespace, kubeconfig=kubeconfig)
    lint = asyncio.run(helm_sdkpy.Lint(config).run(chart))
    messages = [{"severity": SEVERITY.get(m["Severity"], str(m["Severity"])), "path": m["Path"]}
                for m in lint.get("Messages") or []]
    messages += [{"severity": "error", "path": str(e)} for e in lint.get("Errors") or []]
    result = asyncio.run(helm_sdkpy.Install(config).run(
        release, chart, wait=False, timeout=60, disable_openapi_validation=True))
    if result.get("hooks"):
        sys.exit(f"{chart}: hooks are not rendered here: {[h.get('path') for h in result['hooks']]}")
    # As `helm template` prints a release: its manifest, trimmed, one newline.
    manifest = result["manifest"].strip() + "\n"
    json.dump({"helm_sdkpy": helm_sdkpy.__version__, "lint": messages, "manifest": manifest},
              sys.stdout)


if __name__ == "__main__":
    main()
