package validate

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/sepd/sepd/config"
	"github.com/sepd/sepd/metrics"
)

// The folders of manifests, each a kustomization, relative to this one.
var folders = []string{"../batch", "../daemon"}

// decodeStrict decodes YAML into v as the API server's strict field
// validation does: field names match case-sensitively (encoding/json, under
// sigs.k8s.io/yaml's UnmarshalStrict, would take "completionmode" for
// completionMode), and an unknown or duplicate field is an error.
func decodeStrict(data []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, v)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// kustomization is the part of kustomize's Kustomization these folders use;
// decoding it strictly catches a field kustomize would not know.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Images     []image  `json:"images"`
}

// image is a kustomization's image override.
type image struct {
	Name    string `json:"name"`
	NewName string `json:"newName,omitempty"`
	NewTag  string `json:"newTag,omitempty"`
	Digest  string `json:"digest,omitempty"`
}

// manifests is one folder, decoded.
type manifests struct {
	dir         string
	kust        kustomization
	jobs        []*batchv1.Job
	deployments []*appsv1.Deployment
	configMaps  map[string]*corev1.ConfigMap
	services    []*corev1.Service
}

// load decodes every file of a folder strictly into the type its kind names,
// and fails on a file the kustomization does not list, or the reverse.
func load(t *testing.T, dir string) *manifests {
	t.Helper()
	m := &manifests{dir: dir, configMaps: map[string]*corev1.ConfigMap{}}
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := decodeStrict(data, &m.kust); err != nil {
		t.Fatalf("%s/kustomization.yaml: %v", dir, err)
	}
	if m.kust.Kind != "Kustomization" || m.kust.APIVersion != "kustomize.config.k8s.io/v1beta1" {
		t.Errorf("%s/kustomization.yaml: kind %q, apiVersion %q", dir, m.kust.Kind, m.kust.APIVersion)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, f := range files {
		if filepath.Base(f) != "kustomization.yaml" {
			listed = append(listed, filepath.Base(f))
		}
	}
	if !slices.Equal(slices.Sorted(slices.Values(m.kust.Resources)), listed) {
		t.Errorf("%s: kustomization lists %v, the folder has %v", dir, m.kust.Resources, listed)
	}
	for _, name := range listed {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte("\n---")) {
			t.Errorf("%s: one object a file", path)
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(data, &tm); err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		strict := func(want string, v any) {
			if tm.APIVersion != want {
				t.Errorf("%s: apiVersion %q for %s, want %q", path, tm.APIVersion, tm.Kind, want)
			}
			if err := decodeStrict(data, v); err != nil {
				t.Errorf("%s: %v", path, err)
			}
		}
		switch tm.Kind {
		case "Job":
			var j batchv1.Job
			strict("batch/v1", &j)
			m.jobs = append(m.jobs, &j)
		case "Deployment":
			var d appsv1.Deployment
			strict("apps/v1", &d)
			m.deployments = append(m.deployments, &d)
		case "ConfigMap":
			var c corev1.ConfigMap
			strict("v1", &c)
			m.configMaps[c.Name] = &c
		case "Service":
			var s corev1.Service
			strict("v1", &s)
			m.services = append(m.services, &s)
		default:
			t.Errorf("%s: kind %q: no check for it here", path, tm.Kind)
		}
	}
	return m
}

// TestStrictDecodingCatches: the decoding used here rejects a misspelt field
// and a value of the wrong type (otherwise every other check proves little).
func TestStrictDecodingCatches(t *testing.T) {
	var j batchv1.Job
	err := decodeStrict([]byte("apiVersion: batch/v1\nkind: Job\nspec:\n  completionmode: Indexed\n"), &j)
	if err == nil || !strings.Contains(err.Error(), "completionmode") {
		t.Errorf("a misspelt field: %v", err)
	}
	err = decodeStrict([]byte("apiVersion: batch/v1\nkind: Job\nspec:\n  completions: eight\n"), &j)
	if err == nil {
		t.Error("a string for an integer was accepted")
	}
}

// checkPod: the pod runs as the image's non-root user with no privilege, every
// container locked down, and sepd's container uses the image the
// kustomization sets.
func checkPod(t *testing.T, m *manifests, what string, spec *corev1.PodSpec) *corev1.Container {
	t.Helper()
	uid := dockerfileUID(t)
	sc := spec.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != uid {
		t.Errorf("%s: pod securityContext must have runAsNonRoot: true and runAsUser: %d (deploy/Dockerfile's USER)", what, uid)
	}
	if sc != nil && (sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault) {
		t.Errorf("%s: seccompProfile RuntimeDefault wanted", what)
	}
	var sepd *corev1.Container
	for i := range spec.Containers {
		c := &spec.Containers[i]
		cs := c.SecurityContext
		if cs == nil || cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation ||
			cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem ||
			cs.Capabilities == nil || !slices.Contains(cs.Capabilities.Drop, "ALL") || (cs.Privileged != nil && *cs.Privileged) {
			t.Errorf("%s: container %s: want allowPrivilegeEscalation false, readOnlyRootFilesystem true, capabilities drop ALL", what, c.Name)
		}
		if c.Resources.Limits.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s: container %s: no CPU or memory limit", what, c.Name)
		}
		if c.Name == "sepd" {
			sepd = c
		}
	}
	if sepd == nil {
		t.Fatalf("%s: no container named sepd", what)
	}
	if !slices.ContainsFunc(m.kust.Images, func(i image) bool { return i.Name == sepd.Image }) {
		t.Errorf("%s: image %q is not one the kustomization sets (images: %v)", what, sepd.Image, m.kust.Images)
	}
	return sepd
}

// sepdConfig finds `-c FILE` in args, the ConfigMap mounted where FILE is,
// and parses its content with sepd's own configuration parser.
func sepdConfig(t *testing.T, m *manifests, what string, spec *corev1.PodSpec, c *corev1.Container) (*config.Config, string) {
	t.Helper()
	i := slices.Index(c.Args, "-c")
	if i < 0 || i+1 >= len(c.Args) {
		t.Fatalf("%s: sepd's args have no -c FILE: %v", what, c.Args)
	}
	file := c.Args[i+1]
	for _, vm := range c.VolumeMounts {
		if filepath.Dir(file) != vm.MountPath || vm.SubPath != "" {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name != vm.Name || v.ConfigMap == nil {
				continue
			}
			cm := m.configMaps[v.ConfigMap.Name]
			if cm == nil {
				t.Fatalf("%s: ConfigMap %q is not in %s", what, v.ConfigMap.Name, m.dir)
			}
			text, ok := cm.Data[filepath.Base(file)]
			if !ok {
				t.Fatalf("%s: ConfigMap %s has no key %s", what, cm.Name, filepath.Base(file))
			}
			cfg, err := config.Parse([]byte(text), file)
			if err != nil {
				t.Fatalf("%s: ConfigMap %s, %s: sepd refuses it: %v", what, cm.Name, filepath.Base(file), err)
			}
			return cfg, vm.MountPath
		}
	}
	t.Fatalf("%s: %s is not in a ConfigMap volume mounted without subPath (a subPath mount never sees an update)", what, file)
	return nil, ""
}

// flag returns the value after name in args, or "".
func flag(args []string, name string) string {
	if i := slices.Index(args, name); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

func TestBatchJob(t *testing.T) {
	m := load(t, "../batch")
	if len(m.jobs) != 1 {
		t.Fatalf("%d Jobs in ../batch, want 1", len(m.jobs))
	}
	j := m.jobs[0]
	what := "Job " + j.Name
	s := j.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("%s: completionMode must be Indexed (pods get JOB_COMPLETION_INDEX)", what)
	}
	if s.Completions == nil || *s.Completions < 1 {
		t.Fatalf("%s: no completions", what)
	}
	if s.Parallelism != nil && *s.Parallelism > *s.Completions {
		t.Errorf("%s: parallelism %d above completions %d", what, *s.Parallelism, *s.Completions)
	}
	pod := &s.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("%s: restartPolicy %q: a podFailurePolicy needs Never", what, pod.RestartPolicy)
	}
	if s.BackoffLimitPerIndex == nil {
		t.Errorf("%s: backoffLimitPerIndex: a failing shard must be retried on its own", what)
	}
	// Exit 2 (bad usage or configuration) fails the index at once.
	ok := s.PodFailurePolicy != nil && slices.ContainsFunc(s.PodFailurePolicy.Rules, func(r batchv1.PodFailurePolicyRule) bool {
		e := r.OnExitCodes
		return r.Action == batchv1.PodFailurePolicyActionFailIndex && e != nil && e.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn &&
			e.ContainerName != nil && *e.ContainerName == "sepd" && slices.Contains(e.Values, 2)
	})
	if !ok {
		t.Errorf("%s: podFailurePolicy must FailIndex on sepd's exit status 2", what)
	}
	c := checkPod(t, m, what, pod)
	if len(c.Args) == 0 || c.Args[0] != "separate" {
		t.Fatalf("%s: sepd's args must start with separate: %v", what, c.Args)
	}
	if flag(c.Args, "--manifest") == "" || flag(c.Args, "-o") == "" {
		t.Errorf("%s: args need --manifest FILE and -o DIR: %v", what, c.Args)
	}
	shard := flag(c.Args, "--shard")
	if n, err := strconv.Atoi(strings.TrimPrefix(shard, "/")); !strings.HasPrefix(shard, "/") || err != nil || int32(n) != *s.Completions {
		t.Errorf("%s: --shard %q: want /%d (the index from JOB_COMPLETION_INDEX, N = completions)", what, shard, *s.Completions)
	}
	jobs, err := strconv.Atoi(flag(c.Args, "--jobs"))
	if cpu := c.Resources.Requests.Cpu().MilliValue(); err != nil || int64(jobs)*1000 != cpu {
		t.Errorf("%s: --jobs %q should equal the CPU request (%dm): one engine a core", what, flag(c.Args, "--jobs"), cpu)
	}
	cfg, _ := sepdConfig(t, m, what, pod, c)
	if len(cfg.Sources) == 0 {
		t.Errorf("%s: the configuration has no source", what)
	}
}

func TestDaemonDeployment(t *testing.T) {
	m := load(t, "../daemon")
	if len(m.deployments) != 1 || len(m.services) != 1 {
		t.Fatalf("../daemon: %d Deployments and %d Services, want 1 and 1", len(m.deployments), len(m.services))
	}
	d := m.deployments[0]
	what := "Deployment " + d.Name
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("%s: one replica, strategy Recreate: two daemons must not write the same files", what)
	}
	pod := &d.Spec.Template.Spec
	c := checkPod(t, m, what, pod)
	if len(c.Args) == 0 || c.Args[0] != "run" {
		t.Fatalf("%s: sepd's args must start with run: %v", what, c.Args)
	}
	cfg, mount := sepdConfig(t, m, what, pod, c)

	// The port sepd listens on, from its configuration.
	_, portText, err := net.SplitHostPort(cfg.Metrics.Listen)
	if err != nil {
		t.Fatalf("%s: metrics.listen %q: %v", what, cfg.Metrics.Listen, err)
	}
	if host, _, _ := net.SplitHostPort(cfg.Metrics.Listen); host != "0.0.0.0" && host != "" && host != "::" {
		t.Errorf("%s: metrics.listen %q: the kubelet's probes and Prometheus come from outside the pod", what, cfg.Metrics.Listen)
	}
	port, _ := strconv.Atoi(portText)
	named := map[string]int32{}
	for _, p := range c.Ports {
		named[p.Name] = p.ContainerPort
	}
	resolve := func(p intstr.IntOrString) int32 {
		if p.Type == intstr.String {
			return named[p.StrVal]
		}
		return p.IntVal
	}
	if named["metrics"] != int32(port) {
		t.Errorf("%s: container port metrics is %d, sepd listens on %d", what, named["metrics"], port)
	}
	probe := func(name string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: no %s httpGet probe", what, name)
			return
		}
		if p.HTTPGet.Path != path || resolve(p.HTTPGet.Port) != int32(port) {
			t.Errorf("%s: %s probe GET %s on %d, want %s on %d", what, name, p.HTTPGet.Path, resolve(p.HTTPGet.Port), path, port)
		}
	}
	probe("liveness", c.LivenessProbe, "/healthz")
	probe("readiness", c.ReadinessProbe, "/readyz")

	// The reloader watches the mounted configuration and POSTs /-/reload on
	// sepd's port.
	var reloader *corev1.Container
	for i := range pod.Containers {
		if pod.Containers[i].Name == "reloader" {
			reloader = &pod.Containers[i]
		}
	}
	if reloader == nil {
		t.Fatalf("%s: no reloader container: a ConfigMap change would not reach sepd", what)
	}
	var dir, hook string
	for _, a := range reloader.Args {
		if v, ok := strings.CutPrefix(a, "--volume-dir="); ok {
			dir = v
		}
		if v, ok := strings.CutPrefix(a, "--webhook-url="); ok {
			hook = v
		}
	}
	if dir != mount {
		t.Errorf("%s: reloader watches %q, the configuration is mounted at %q", what, dir, mount)
	}
	if want := "http://127.0.0.1:" + portText + "/-/reload"; hook != want {
		t.Errorf("%s: reloader calls %q, want %q", what, hook, want)
	}

	// The Service reaches the pods' metrics port, also when not ready.
	svc := m.services[0]
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("Service %s: selector %s=%s does not match the pods", svc.Name, k, v)
		}
	}
	if len(svc.Spec.Ports) != 1 || resolve(svc.Spec.Ports[0].TargetPort) != int32(port) {
		t.Errorf("Service %s: ports %v do not reach %d", svc.Name, svc.Spec.Ports, port)
	}
	if !svc.Spec.PublishNotReadyAddresses {
		t.Errorf("Service %s: publishNotReadyAddresses: the metrics matter most when audio stops", svc.Name)
	}
}

// TestProbePathsServed: the paths the manifests probe and POST are the ones
// sepd's metrics handler serves: /healthz answers 200, /readyz 503 before any
// audio (not 404), POST /-/reload calls the reload.
func TestProbePathsServed(t *testing.T) {
	reloaded := 0
	srv := httptest.NewServer(metrics.New("test").Handler(func() error { reloaded++; return nil }, nil))
	defer srv.Close()
	get := func(path string) int {
		r, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	if c := get("/healthz"); c != http.StatusOK {
		t.Errorf("/healthz: %d", c)
	}
	if c := get("/readyz"); c != http.StatusServiceUnavailable {
		t.Errorf("/readyz with no audio: %d, want 503", c)
	}
	r, err := http.Post(srv.URL+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusOK || reloaded != 1 {
		t.Errorf("POST /-/reload: %d, %d reloads", r.StatusCode, reloaded)
	}
}
