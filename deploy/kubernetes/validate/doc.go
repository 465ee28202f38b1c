// Package validate checks the Kubernetes manifests in deploy/kubernetes and
// deploy/Dockerfile, in CI
// and offline: `go test` in this folder (scripts/dev test runs it).
//
// It is a module of its own so that sepd's module does not carry the
// Kubernetes API types. Each manifest is decoded strictly into its
// k8s.io/api type (an unknown or misspelt field, or a value of the wrong
// type, is an error, as the API server's strict field validation would
// report), then checked against what sepd needs: the Job is Indexed and its
// --shard N equals its completions; the probes and the reloader reach the
// paths and the port that sepd's own metrics handler serves and that the
// ConfigMap's sepd.yaml (parsed by sepd's config package) listens on; every
// container runs as the Dockerfile's non-root user. deploy/Dockerfile is
// parsed and linted by BuildKit's own Dockerfile parser and checked for its
// two stages (no Docker daemon is needed).
package validate
