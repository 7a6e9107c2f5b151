#!/usr/bin/env python3
"""Write N realistic Deployments (about 2 KB each) as one multi-document YAML file.

Usage: gen_deployments.py OUT [N]   (default N = 100000, about 200 MB)
"""
import sys

TEMPLATE = """---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  namespace: team-{ns}
  labels:
    app.kubernetes.io/name: app-{i}
    app.kubernetes.io/part-of: bench
    app.kubernetes.io/version: "1.{v}.0"
spec:
  replicas: {r}
  selector:
    matchLabels:
      app.kubernetes.io/name: app-{i}
  strategy:
    type: RollingUpdate
    rollingUpdate: {{maxSurge: 25%, maxUnavailable: 0}}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: app-{i}
        app.kubernetes.io/part-of: bench
    spec:
      serviceAccountName: app-{i}
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        fsGroup: 10001
        seccompProfile:
          type: RuntimeDefault
      initContainers:
        - name: migrate
          image: registry.example.com/team-{ns}/migrate@sha256:{digest}
      containers:
        - name: app
          image: registry.example.com/team-{ns}/app:1.{v}.0
          ports:
            - name: http
              containerPort: 8080
              protocol: TCP
          env:
            - name: LOG_LEVEL
              value: info
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: db-{ns}
                  key: password
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
            limits:
              cpu: "1"
              memory: 512Mi
          livenessProbe:
            httpGet: {{path: /livez, port: http}}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            - name: config
              mountPath: /etc/app
              readOnly: true
      volumes:
        - name: tmp
          emptyDir: {{}}
        - name: config
          configMap:
            name: app-{i}-config
"""

def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    with open(out, "w") as f:
        for i in range(n):
            f.write(TEMPLATE.format(i=i, ns=i % 50, v=i % 30, r=1 + i % 5,
                                    digest=f"{i:064x}"))

if __name__ == "__main__":
    main()
