// Package helm tests the Helm chart in aci-exporter/: it renders the chart
// with Helm's own library for the default values and every ci/*-values.yaml,
// decodes each manifest strictly into the Kubernetes and Prometheus Operator
// API types (an unknown or misspelt field fails), and checks what the chart
// promises: restricted pods, probes, passwords only from Secrets, and the
// repository's own rules and dashboards.
package helm

import (
	"io"
	"log"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/yaml"

	"github.com/aci-exporter/aci-exporter/config"
)

const (
	chartDir     = "aci-exporter"
	dashboardDir = "../../dashboards"
	namespace    = "monitoring"
	passwordsDir = "/etc/aci-exporter/passwords/"
	configKey    = "aci-exporter.yml"
)

// decoder decodes strictly: unknown and duplicate fields are errors.
var decoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, monitoringv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}()

// kubeVersion is the Kubernetes release of the k8s.io/api types the
// manifests are decoded into.
var kubeVersion = func() *chartutil.KubeVersion {
	v, err := chartutil.ParseKubeVersion("v1.37.0")
	if err != nil {
		panic(err)
	}
	return v
}()

func TestMain(m *testing.M) {
	// The chart loader logs every load's "found symbolic link" for files/.
	log.SetOutput(io.Discard)
	os.Exit(m.Run())
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// render is `helm template` of the chart with the values file (none: the
// defaults) and then vals on top.
func render(t *testing.T, valuesFile string, vals map[string]any) ([]runtime.Object, error) {
	t.Helper()
	values := map[string]any{}
	if valuesFile != "" {
		v, err := chartutil.ReadValuesFile(valuesFile)
		if err != nil {
			t.Fatal(err)
		}
		values = v
	}
	values = chartutil.CoalesceTables(vals, values)
	install := action.NewInstall(&action.Configuration{})
	install.ClientOnly, install.DryRun, install.Replace = true, true, true
	install.ReleaseName, install.Namespace = "aci", namespace
	install.KubeVersion = kubeVersion
	rel, err := install.Run(loadChart(t), values)
	if err != nil {
		return nil, err
	}
	manifests := releaseutil.SplitManifests(rel.Manifest)
	keys := make([]string, 0, len(manifests))
	for k := range manifests {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var objs []runtime.Object
	for _, k := range keys {
		obj, gvk, err := decoder.Decode([]byte(manifests[k]), nil, nil)
		if err != nil {
			t.Fatalf("%s: decoding strictly: %v\n%s", valuesFile, err, manifests[k])
		}
		t.Logf("%s: %s", valuesFile, gvk.Kind)
		objs = append(objs, obj)
	}
	return objs, nil
}

func mustRender(t *testing.T, valuesFile string) []runtime.Object {
	t.Helper()
	objs, err := render(t, valuesFile, nil)
	if err != nil {
		t.Fatalf("rendering with %q: %v", valuesFile, err)
	}
	return objs
}

func all[T runtime.Object](objs []runtime.Object) []T {
	var out []T
	for _, o := range objs {
		if v, ok := o.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func only[T runtime.Object](t *testing.T, objs []runtime.Object) T {
	t.Helper()
	found := all[T](objs)
	if len(found) != 1 {
		var zero T
		t.Fatalf("%d objects of type %T, want 1", len(found), zero)
	}
	return found[0]
}

// valuesFiles are the default values ("") and every test values file.
func valuesFiles(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil || len(files) < 3 {
		t.Fatalf("want at least three ci/*-values.yaml, found %v (%v)", files, err)
	}
	return append([]string{""}, files...)
}

// TestChartInvariants: what holds for every values file.
func TestChartInvariants(t *testing.T) {
	for _, file := range valuesFiles(t) {
		name := filepath.Base(file)
		if file == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			objs := mustRender(t, file)
			for _, o := range objs {
				if _, ok := o.(*corev1.Secret); ok {
					t.Error("the chart renders a Secret: passwords come from an existing Secret only")
				}
			}
			d := only[*appsv1.Deployment](t, objs)
			if d.Namespace != namespace {
				t.Errorf("Deployment namespace %q, want %q", d.Namespace, namespace)
			}
			checkRestricted(t, d.Spec.Template.Spec)
			c := d.Spec.Template.Spec.Containers[0]
			checkProbes(t, c)
			checkResources(t, c)
			checkService(t, only[*corev1.Service](t, objs), d)
			for _, sm := range all[*monitoringv1.ServiceMonitor](objs) {
				checkServiceMonitor(t, sm, only[*corev1.Service](t, objs))
			}
			checkConfig(t, objs, d)
		})
	}
}

// checkRestricted: the Pod Security Standards' restricted profile.
func checkRestricted(t *testing.T, pod corev1.PodSpec) {
	t.Helper()
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("pod securityContext %+v: want runAsNonRoot and a non-zero runAsUser", psc)
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext: want seccompProfile RuntimeDefault")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the pod mounts a service account token; the exporter never calls the Kubernetes API")
	}
	if len(pod.Containers) != 1 || len(pod.InitContainers) != 0 {
		t.Fatalf("%d containers and %d init containers, want 1 and 0", len(pod.Containers), len(pod.InitContainers))
	}
	sc := pod.Containers[0].SecurityContext
	switch {
	case sc == nil:
		t.Fatal("no container securityContext")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("allowPrivilegeEscalation is not false")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("readOnlyRootFilesystem is not true")
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0:
		t.Errorf("capabilities %+v, want drop [ALL] and none added", sc.Capabilities)
	case sc.Privileged != nil && *sc.Privileged:
		t.Error("privileged")
	}
}

func checkProbes(t *testing.T, c corev1.Container) {
	t.Helper()
	port := -1
	for _, p := range c.Ports {
		if p.Name == "http" {
			port = int(p.ContainerPort)
		}
	}
	if port != 9648 {
		t.Errorf("container port http = %d, want 9648", port)
	}
	if !slices.Contains(c.Args, "--web.listen-address=:9648") {
		t.Errorf("args %q do not listen on :9648", c.Args)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/-/healthy"}, {"readiness", c.ReadinessProbe, "/-/ready"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe %+v, want GET %s on port http", p.name, p.probe, p.path)
		}
	}
}

func checkResources(t *testing.T, c corev1.Container) {
	t.Helper()
	r := c.Resources
	if r.Requests.Cpu().IsZero() || r.Requests.Memory().IsZero() || r.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want cpu and memory requests and a memory limit", r)
	}
}

func checkService(t *testing.T, s *corev1.Service, d *appsv1.Deployment) {
	t.Helper()
	for k, v := range s.Spec.Selector {
		if d.Spec.Template.Labels[k] != v || d.Spec.Selector.MatchLabels[k] != v {
			t.Errorf("Service selector %s=%s does not select the pods", k, v)
		}
	}
	if len(s.Spec.Selector) == 0 || len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Name != "http" || s.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("Service spec %+v: want a selector and one port http to the container's http", s.Spec)
	}
}

func checkServiceMonitor(t *testing.T, sm *monitoringv1.ServiceMonitor, s *corev1.Service) {
	t.Helper()
	for k, v := range sm.Spec.Selector.MatchLabels {
		if s.Labels[k] != v {
			t.Errorf("ServiceMonitor selector %s=%s does not select the Service", k, v)
		}
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != s.Spec.Ports[0].Name || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("ServiceMonitor endpoints %+v, want port %s path /metrics", sm.Spec.Endpoints, s.Spec.Ports[0].Name)
	}
	if !slices.Equal(sm.Spec.NamespaceSelector.MatchNames, []string{s.Namespace}) {
		t.Errorf("ServiceMonitor namespaces %v, want [%s]", sm.Spec.NamespaceSelector.MatchNames, s.Namespace)
	}
}

// checkConfig: the configuration the pod mounts is one the exporter loads,
// holds no password, and every password file is in the mounted Secret.
func checkConfig(t *testing.T, objs []runtime.Object, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec
	var cm *corev1.ConfigMap
	for _, c := range all[*corev1.ConfigMap](objs) {
		if _, ok := c.Data[configKey]; ok {
			cm = c
		}
	}
	var configVol, passwordVol *corev1.Volume
	for i, v := range pod.Volumes {
		switch v.Name {
		case "config":
			configVol = &pod.Volumes[i]
		case "passwords":
			passwordVol = &pod.Volumes[i]
		}
	}
	if passwordVol != nil && (passwordVol.Secret == nil || passwordVol.Secret.DefaultMode == nil || *passwordVol.Secret.DefaultMode&0o007 != 0) {
		t.Errorf("passwords volume %+v: want a Secret, not readable by others", passwordVol)
	}
	if passwordVol != nil && (pod.SecurityContext.FSGroup == nil || *pod.SecurityContext.FSGroup != *pod.SecurityContext.RunAsGroup) {
		t.Error("the password files are group-readable, but the pod's fsGroup is not its runAsGroup")
	}
	if cm == nil {
		if configVol != nil && configVol.ConfigMap != nil {
			t.Errorf("the config volume uses ConfigMap %s, which the chart does not render", configVol.ConfigMap.Name)
		}
		return
	}
	if configVol == nil || configVol.ConfigMap == nil || configVol.ConfigMap.Name != cm.Name {
		t.Fatalf("the config volume %+v does not mount ConfigMap %s", configVol, cm.Name)
	}
	if d.Spec.Template.Annotations["checksum/config"] == "" {
		t.Error("no checksum/config annotation: a config change would not roll the pods")
	}
	cfg, err := config.Parse([]byte(cm.Data[configKey]))
	if err != nil {
		t.Fatalf("the exporter refuses the rendered config: %v\n%s", err, cm.Data[configKey])
	}
	for _, f := range cfg.Fabrics {
		if f.Password != "" {
			t.Errorf("fabric %s: an inline password in a ConfigMap", f.Name)
		}
		if f.PasswordFile != "" && (passwordVol == nil || !strings.HasPrefix(f.PasswordFile, passwordsDir)) {
			t.Errorf("fabric %s: password_file %s is not in the mounted passwords Secret (%s)", f.Name, f.PasswordFile, passwordsDir)
		}
	}
}

func TestChartDefaults(t *testing.T) {
	objs := mustRender(t, "")
	if n := len(all[*monitoringv1.ServiceMonitor](objs)) + len(all[*monitoringv1.PrometheusRule](objs)); n != 0 {
		t.Errorf("%d Prometheus Operator objects by default, want none (the CRDs may be missing)", n)
	}
	if n := len(all[*corev1.ConfigMap](objs)); n != 1 {
		t.Errorf("%d ConfigMaps by default, want the config only", n)
	}
	only[*corev1.ServiceAccount](t, objs)
	d := only[*appsv1.Deployment](t, objs)
	if img := d.Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(img, ":"+readVersion(t)) {
		t.Errorf("image %s: want the tag of the chart's appVersion %s", img, readVersion(t))
	}
}

func TestChartExistingConfigSecret(t *testing.T) {
	objs := mustRender(t, filepath.Join(chartDir, "ci", "existing-config-secret-values.yaml"))
	if n := len(all[*corev1.ConfigMap](objs)); n != 0 {
		t.Errorf("%d ConfigMaps, want none: the config is in an existing Secret", n)
	}
	if n := len(all[*corev1.ServiceAccount](objs)); n != 0 {
		t.Errorf("%d ServiceAccounts, want none (serviceAccount.create false)", n)
	}
	pod := only[*appsv1.Deployment](t, objs).Spec.Template.Spec
	if pod.ServiceAccountName != "monitoring-reader" {
		t.Errorf("serviceAccountName %q", pod.ServiceAccountName)
	}
	var found bool
	for _, v := range pod.Volumes {
		if v.Name == "passwords" {
			t.Error("a passwords volume without passwords.existingSecret")
		}
		if v.Name == "config" && v.Secret != nil && v.Secret.SecretName == "aci-exporter-config" {
			found = true
		}
	}
	if !found {
		t.Errorf("no config volume from Secret aci-exporter-config: %+v", pod.Volumes)
	}
	if img := pod.Containers[0].Image; img != "registry.example.net/aci-exporter:0.1.0-rc1" {
		t.Errorf("image %s", img)
	}
}

func TestChartDemo(t *testing.T) {
	objs := mustRender(t, filepath.Join(chartDir, "ci", "demo-values.yaml"))
	c := only[*appsv1.Deployment](t, objs).Spec.Template.Spec.Containers[0]
	if !slices.Contains(c.Args, "--demo") || slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--config.file") }) {
		t.Errorf("args %q: want --demo and no --config.file", c.Args)
	}
	for _, m := range c.VolumeMounts {
		if m.Name != "tmp" {
			t.Errorf("mount %s in demo mode, want /tmp only", m.Name)
		}
	}
}

func TestChartFleet(t *testing.T) {
	objs := mustRender(t, filepath.Join(chartDir, "ci", "fleet-values.yaml"))
	d := only[*appsv1.Deployment](t, objs)
	if *d.Spec.Replicas != 2 {
		t.Errorf("replicas %d, want 2", *d.Spec.Replicas)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if len(c.Env) != 1 || c.Env[0].ValueFrom == nil || c.Env[0].ValueFrom.SecretKeyRef.Name != "aci-dc2" {
		t.Errorf("env %+v: want ACI_DC2_PASSWORD from Secret aci-dc2", c.Env)
	}
	if !slices.Contains(c.Args, "--log.level=debug") {
		t.Errorf("args %q lack extraArgs", c.Args)
	}
	if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/etc/aci-exporter/ca" }) {
		t.Errorf("no CA mount: %+v", c.VolumeMounts)
	}
}

// TestChartRefusesInlinePassword: a password in the values would land in a
// ConfigMap, so the render fails and says what to do instead.
func TestChartRefusesInlinePassword(t *testing.T) {
	_, err := render(t, "", map[string]any{"config": map[string]any{"fabrics": []any{map[string]any{
		"name": "prod", "controllers": []any{"https://apic1.example.net"}, "username": "monitoring", "password": "s3cret",
	}}}})
	if err == nil || !strings.Contains(err.Error(), "inline password") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("err = %v, want the inline password refused without being shown", err)
	}
}

// TestChartValuesSchema: a misspelt value fails instead of being ignored.
func TestChartValuesSchema(t *testing.T) {
	_, err := render(t, "", map[string]any{"serviceMonitr": map[string]any{"enabled": true}})
	if err == nil || !strings.Contains(err.Error(), "serviceMonitr") {
		t.Fatalf("err = %v, want the unknown key serviceMonitr refused", err)
	}
}

func readVersion(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(raw))
}

func TestChartAppVersionIsVersion(t *testing.T) {
	if got, want := loadChart(t).Metadata.AppVersion, readVersion(t); got != want {
		t.Errorf("Chart.yaml appVersion %q, VERSION %q: release them together", got, want)
	}
}

// TestChartShipsRepositoryRulesAndDashboards: files/ links to dashboards/,
// the PrometheusRule holds exactly the groups of dashboards/rules/*.yml and
// one ConfigMap per dashboard holds its JSON unchanged.
func TestChartShipsRepositoryRulesAndDashboards(t *testing.T) {
	link := filepath.Join(chartDir, "files")
	if target, err := os.Readlink(link); err != nil || target != "../../../dashboards" {
		t.Errorf("%s: want a symbolic link to ../../../dashboards, got %q (%v)", link, target, err)
	}
	for _, f := range loadChart(t).Files {
		if strings.HasSuffix(f.Name, ".go") || strings.HasPrefix(f.Name, "files/go.") || strings.Contains(f.Name, "/tests/") {
			t.Errorf("the chart holds %s: .helmignore should keep it out", f.Name)
		}
	}

	objs := mustRender(t, filepath.Join(chartDir, "ci", "monitoring-values.yaml"))
	ruleFiles, _ := filepath.Glob(filepath.Join(dashboardDir, "rules", "*.yml"))
	var want []monitoringv1.RuleGroup
	for _, f := range ruleFiles {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var file struct {
			Groups []monitoringv1.RuleGroup `json:"groups"`
		}
		if err := yaml.UnmarshalStrict(raw, &file); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		want = append(want, file.Groups...)
	}
	rule := only[*monitoringv1.PrometheusRule](t, objs)
	if len(want) == 0 || !reflect.DeepEqual(rule.Spec.Groups, want) {
		t.Errorf("the PrometheusRule's %d groups differ from the %d of %v", len(rule.Spec.Groups), len(want), ruleFiles)
	}

	jsonFiles, _ := filepath.Glob(filepath.Join(dashboardDir, "*.json"))
	dashboards := map[string]string{}
	for _, cm := range all[*corev1.ConfigMap](objs) {
		if cm.Labels["grafana_dashboard"] != "1" {
			continue
		}
		if cm.Namespace != "monitoring" || cm.Annotations["grafana_folder"] != "ACI" {
			t.Errorf("dashboard ConfigMap %s: namespace %q annotations %v", cm.Name, cm.Namespace, cm.Annotations)
		}
		for k, v := range cm.Data {
			dashboards[k] = v
		}
	}
	if len(jsonFiles) == 0 || len(dashboards) != len(jsonFiles) {
		t.Errorf("%d dashboard ConfigMap entries for %d files %v", len(dashboards), len(jsonFiles), jsonFiles)
	}
	for _, f := range jsonFiles {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if dashboards[filepath.Base(f)] != string(raw) {
			t.Errorf("the ConfigMap entry %s is not the file %s byte for byte", filepath.Base(f), f)
		}
	}
}
