// Command zkr-helm-render renders a Helm chart the way `helm template` does, for the checks of the zkr chart on
// machines where Helm itself cannot be installed (scripts/check-chart.sh).
//
//	zkr-helm-render [RELEASE] CHART [-n NAMESPACE] [-f values.yaml ...] [--set a.b=c ...] [--set-file a=path ...]
//	                [--kube-version v1.31.0] [--api-versions monitoring.coreos.com/v1 ...] [--notes]
//	                [--show-values] [--strict]
//
// What it does, in Helm's order:
//
//	Chart.yaml ─┐
//	values.yaml ┼─ coalesce(-f files merged in order, then --set) ─ values.schema.json ─┐
//	templates/  ┴───────────────────────── parse (one set, sprig + Helm's functions) ──┴─ execute each
//	            ─ split documents, drop empty ones, parse each as YAML ─ sort by kind ─ print with "# Source:"
//
// It covers the part of Helm the zkr chart uses and refuses what it does not cover (dependencies, library charts)
// rather than render them differently. Values are read the way Helm reads them: numbers become float64, so a
// template that prints a large integer without `int64` shows the same "3e+07" Helm would show.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/semver/v3"
	"github.com/Masterminds/sprig/v3"
	"github.com/xeipuuv/gojsonschema"
	"sigs.k8s.io/yaml"
)

// Helm stops a chain of `include` calls at this depth (a template that includes itself).
const recursionLimit = 1000

type options struct {
	release     string
	chartDir    string
	namespace   string
	valueFiles  []string
	sets        []string
	setFiles    []string
	kubeVersion string
	apiVersions []string
	notes       bool
	showValues  bool
	strict      bool
}

const usage = `usage: zkr-helm-render [RELEASE] CHART [flags]

Renders CHART (a chart directory) like 'helm template' and prints the manifests.

flags:
  -n, --namespace NS         the release namespace (default "default")
  -f, --values FILE          a values file, merged over the chart's values.yaml; repeatable, later files win
      --set KEY=VALUE[,...]  a value on the command line (after the files); repeatable
      --set-file KEY=PATH    a value read from a file, as a string (after --set); repeatable
      --kube-version V       .Capabilities.KubeVersion (default v1.31.0)
      --api-versions G/V     an API version .Capabilities.APIVersions.Has knows besides the built-in ones; repeatable
      --notes                print the rendered NOTES.txt after the manifests
      --strict               fail on a reference to a missing value (as 'helm lint --strict' does)
      --show-values          print the merged values (JSON) instead of the manifests
`

func main() {
	opts, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n\n%s", err, usage)
		os.Exit(2)
	}
	if err := run(opts, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
}

func parseArgs(args []string) (*options, error) {
	o := &options{release: "release-name", namespace: "default", kubeVersion: "v1.31.0"}
	var positional []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		name, value, hasValue := arg, "", false
		if strings.HasPrefix(arg, "--") {
			if eq := strings.IndexByte(arg, '='); eq >= 0 {
				name, value, hasValue = arg[:eq], arg[eq+1:], true
			}
		}
		next := func() (string, error) {
			if hasValue {
				return value, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("flag %s needs a value", name)
			}
			i++
			return args[i], nil
		}
		var err error
		switch name {
		case "-n", "--namespace":
			o.namespace, err = next()
		case "-f", "--values":
			var v string
			v, err = next()
			o.valueFiles = append(o.valueFiles, v)
		case "--set":
			var v string
			v, err = next()
			o.sets = append(o.sets, v)
		case "--set-file":
			var v string
			v, err = next()
			o.setFiles = append(o.setFiles, v)
		case "--kube-version":
			o.kubeVersion, err = next()
		case "--api-versions":
			var v string
			v, err = next()
			o.apiVersions = append(o.apiVersions, strings.Split(v, ",")...)
		case "--notes":
			o.notes = true
		case "--strict":
			o.strict = true
		case "--show-values":
			o.showValues = true
		case "-h", "--help":
			fmt.Print(usage)
			os.Exit(0)
		default:
			if strings.HasPrefix(arg, "-") {
				return nil, fmt.Errorf("unknown flag %s", arg)
			}
			positional = append(positional, arg)
		}
		if err != nil {
			return nil, err
		}
	}
	switch len(positional) {
	case 1:
		o.chartDir = positional[0]
	case 2:
		o.release, o.chartDir = positional[0], positional[1]
	default:
		return nil, errors.New("expected [RELEASE] CHART")
	}
	return o, nil
}

// chartMeta is the part of Chart.yaml templates see as .Chart (Helm's field names).
type chartMeta struct {
	APIVersion   string                   `json:"apiVersion"`
	Name         string                   `json:"name"`
	Version      string                   `json:"version"`
	AppVersion   string                   `json:"appVersion,omitempty"`
	KubeVersion  string                   `json:"kubeVersion,omitempty"`
	Description  string                   `json:"description,omitempty"`
	Type         string                   `json:"type,omitempty"`
	Home         string                   `json:"home,omitempty"`
	Sources      []string                 `json:"sources,omitempty"`
	Keywords     []string                 `json:"keywords,omitempty"`
	Maintainers  []map[string]string      `json:"maintainers,omitempty"`
	Icon         string                   `json:"icon,omitempty"`
	Deprecated   bool                     `json:"deprecated,omitempty"`
	Annotations  map[string]string        `json:"annotations,omitempty"`
	Dependencies []map[string]interface{} `json:"dependencies,omitempty"`
}

type loadedChart struct {
	meta      chartMeta
	values    map[string]interface{}
	schema    []byte
	templates map[string]string // path relative to the chart, "templates/x.yaml"
	files     files
}

func run(o *options, out io.Writer) error {
	c, err := loadChart(o.chartDir)
	if err != nil {
		return err
	}
	kube, err := semver.NewVersion(o.kubeVersion)
	if err != nil {
		return fmt.Errorf("--kube-version %q: %v", o.kubeVersion, err)
	}
	if c.meta.KubeVersion != "" {
		constraint, err := semver.NewConstraint(c.meta.KubeVersion)
		if err != nil {
			return fmt.Errorf("Chart.yaml: kubeVersion %q: %v", c.meta.KubeVersion, err)
		}
		if !constraint.Check(kube) {
			return fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s",
				c.meta.KubeVersion, o.kubeVersion)
		}
	}
	user := map[string]interface{}{}
	for _, file := range o.valueFiles {
		v, err := readValuesFile(file)
		if err != nil {
			return err
		}
		user = mergeMaps(user, v)
	}
	for _, s := range o.sets {
		if err := parseSet(s, user); err != nil {
			return fmt.Errorf("failed parsing --set data: %v", err)
		}
	}
	for _, s := range o.setFiles {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return fmt.Errorf("--set-file %q: expected KEY=PATH", s)
		}
		b, err := os.ReadFile(s[eq+1:])
		if err != nil {
			return fmt.Errorf("--set-file: %v", err)
		}
		if err := setPath(user, splitUnescaped(s[:eq], '.', false), string(b)); err != nil {
			return fmt.Errorf("--set-file %s: %v", s[:eq], err)
		}
	}
	values := coalesce(c.meta.Name, user, c.values, "")
	if c.schema != nil {
		if err := validateSchema(c.meta.Name, c.schema, values); err != nil {
			return err
		}
	}
	if o.showValues {
		// JSON, so that no reader takes a string such as a 0x-hex key for a number.
		b, err := json.MarshalIndent(values, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", b)
		return err
	}
	caps := &capabilities{
		KubeVersion: kubeVersion{
			Version: "v" + kube.String(), Major: strconv.FormatUint(kube.Major(), 10),
			Minor: strconv.FormatUint(kube.Minor(), 10),
		},
		APIVersions: append(append(versionSet{}, builtinAPIVersions...), o.apiVersions...),
		HelmVersion: map[string]string{"Version": "v3.16.0"},
	}
	release := map[string]interface{}{
		"Name": o.release, "Namespace": o.namespace, "Service": "Helm",
		"IsInstall": true, "IsUpgrade": false, "Revision": 1,
	}
	rendered, err := render(c, values, release, caps, o.strict)
	if err != nil {
		return err
	}
	return writeManifests(out, c.meta.Name, rendered, o.notes)
}

// loadChart reads a chart directory, following symbolic links inside it as Helm's loader does (a linked file's
// contents are used in its place).
func loadChart(dir string) (*loadedChart, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	raw := map[string][]byte{}
	ignore := readHelmignore(root)
	var walk func(real, rel string, depth int) error
	walk = func(real, rel string, depth int) error {
		if depth > 40 {
			return fmt.Errorf("%s: too many levels of symbolic links", rel)
		}
		info, err := os.Stat(real) // follows links
		if err != nil {
			return err
		}
		if rel != "" && ignore.matches(rel, info.IsDir()) {
			return nil
		}
		if !info.IsDir() {
			b, err := os.ReadFile(real)
			if err != nil {
				return err
			}
			raw[rel] = b
			return nil
		}
		entries, err := os.ReadDir(real)
		if err != nil {
			return err
		}
		for _, e := range entries {
			child := e.Name()
			if rel != "" {
				child = rel + "/" + e.Name()
			}
			if err := walk(filepath.Join(real, e.Name()), child, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root, "", 0); err != nil {
		return nil, err
	}
	c := &loadedChart{templates: map[string]string{}, files: files{}}
	meta, ok := raw["Chart.yaml"]
	if !ok {
		return nil, fmt.Errorf("%s: no Chart.yaml", dir)
	}
	if err := yaml.UnmarshalStrict(meta, &c.meta); err != nil {
		return nil, fmt.Errorf("Chart.yaml: %v", err)
	}
	switch {
	case c.meta.APIVersion != "v2":
		return nil, fmt.Errorf("Chart.yaml: apiVersion %q: this renderer reads v2 charts", c.meta.APIVersion)
	case c.meta.Name == "":
		return nil, errors.New("Chart.yaml: name is required")
	case c.meta.Type != "" && c.meta.Type != "application":
		return nil, fmt.Errorf("Chart.yaml: type %q is not rendered by this renderer", c.meta.Type)
	case len(c.meta.Dependencies) > 0:
		return nil, errors.New("Chart.yaml: dependencies are not supported by this renderer")
	}
	if _, err := semver.StrictNewVersion(c.meta.Version); err != nil {
		return nil, fmt.Errorf("Chart.yaml: version %q is not SemVer 2: %v", c.meta.Version, err)
	}
	c.values = map[string]interface{}{}
	if b, ok := raw["values.yaml"]; ok {
		if c.values, err = readValues(b); err != nil {
			return nil, fmt.Errorf("values.yaml: %v", err)
		}
	}
	c.schema = raw["values.schema.json"]
	for name, b := range raw {
		switch {
		case strings.HasPrefix(name, "charts/"):
			return nil, errors.New("charts/: subcharts are not supported by this renderer")
		case strings.HasPrefix(name, "templates/"):
			c.templates[name] = string(b)
		case name == "Chart.yaml" || name == "values.yaml" || name == "values.schema.json":
		default:
			c.files[name] = b
		}
	}
	return c, nil
}

// helmignore holds the patterns of a chart's .helmignore: shell globs matched against the base name and the
// relative path, a trailing "/" for directories only, a leading "/" for the top level only.
type helmignore []string

func readHelmignore(root string) helmignore {
	b, err := os.ReadFile(filepath.Join(root, ".helmignore"))
	if err != nil {
		return nil
	}
	var patterns helmignore
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	return patterns
}

func (h helmignore) matches(rel string, isDir bool) bool {
	for _, p := range h {
		if strings.HasSuffix(p, "/") {
			if !isDir {
				continue
			}
			p = strings.TrimSuffix(p, "/")
		}
		if strings.HasPrefix(p, "/") {
			if ok, _ := path.Match(strings.TrimPrefix(p, "/"), rel); ok {
				return true
			}
			continue
		}
		if ok, _ := path.Match(p, rel); ok {
			return true
		}
		if ok, _ := path.Match(p, path.Base(rel)); ok {
			return true
		}
	}
	return false
}

func readValuesFile(name string) (map[string]interface{}, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	v, err := readValues(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return v, nil
}

// readValues parses YAML as Helm does: through JSON, so numbers are float64 and keys are strings.
func readValues(b []byte) (map[string]interface{}, error) {
	v := map[string]interface{}{}
	if err := yaml.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	if v == nil {
		v = map[string]interface{}{}
	}
	return v, nil
}

// mergeMaps merges b over a (values files given in order): maps merge key by key, anything else replaces.
func mergeMaps(a, b map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if vm, ok := v.(map[string]interface{}); ok {
			if om, ok := out[k].(map[string]interface{}); ok {
				out[k] = mergeMaps(om, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// coalesce lays the user's values over the chart's defaults: maps merge, anything else from the user wins, and a
// null from the user deletes the default's key.
func coalesce(chart string, user, defaults map[string]interface{}, prefix string) map[string]interface{} {
	out := make(map[string]interface{}, len(defaults))
	for k, v := range defaults {
		out[k] = v
	}
	for k, uv := range user {
		key := prefix + k
		if uv == nil {
			delete(out, k)
			continue
		}
		dv, exists := out[k]
		um, uIsMap := uv.(map[string]interface{})
		dm, dIsMap := dv.(map[string]interface{})
		switch {
		case uIsMap && dIsMap:
			out[k] = coalesce(chart, um, dm, key+".")
		case exists && dv != nil && dIsMap != uIsMap:
			fmt.Fprintf(os.Stderr, "coalesce.go: warning: %s: %s: a table replaced by a non-table, or the reverse\n",
				chart, key)
			out[k] = uv
		default:
			out[k] = uv
		}
	}
	for k, v := range out {
		if m, ok := v.(map[string]interface{}); ok {
			out[k] = dropNulls(m)
		}
	}
	return out
}

func dropNulls(m map[string]interface{}) map[string]interface{} {
	for k, v := range m {
		switch t := v.(type) {
		case nil:
			delete(m, k)
		case map[string]interface{}:
			m[k] = dropNulls(t)
		}
	}
	return m
}

// parseSet applies one --set argument: comma-separated key=value pairs, dotted keys, list indexes (a[0]=x),
// list literals ({a,b}), and backslash escapes of ',', '.', '=' and '\'. Values are typed as Helm types them:
// true/false, null, base-10 integers (int64) without a leading zero, else strings.
func parseSet(s string, into map[string]interface{}) error {
	for _, pair := range splitUnescaped(s, ',', true) {
		if pair == "" {
			continue
		}
		kv := splitUnescaped(pair, '=', false)
		if len(kv) < 2 {
			return fmt.Errorf("key %q has no value", unescape(pair))
		}
		key, raw := kv[0], strings.Join(kv[1:], "=")
		var value interface{}
		if strings.HasPrefix(raw, "{") && strings.HasSuffix(raw, "}") {
			items := []interface{}{}
			for _, item := range splitUnescaped(raw[1:len(raw)-1], ',', false) {
				items = append(items, typedValue(unescape(item)))
			}
			value = items
		} else {
			value = typedValue(unescape(raw))
		}
		if err := setPath(into, splitUnescaped(key, '.', false), value); err != nil {
			return fmt.Errorf("%s: %v", unescape(key), err)
		}
	}
	return nil
}

// splitUnescaped splits s on sep where sep is not escaped by a backslash; with braces, not inside {...} either.
func splitUnescaped(s string, sep byte, braces bool) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '{':
			if braces {
				depth++
			}
		case '}':
			if braces && depth > 0 {
				depth--
			}
		case sep:
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

var setIndex = regexp.MustCompile(`^(.*)\[(\d+)\]$`)

func typedValue(s string) interface{} {
	switch s {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if s == "0" || (s != "" && s[0] != '0' && !(s[0] == '-' && len(s) > 1 && s[1] == '0')) {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
	}
	return s
}

func setPath(m map[string]interface{}, keys []string, value interface{}) error {
	key := unescape(keys[0])
	last := len(keys) == 1
	if match := setIndex.FindStringSubmatch(key); match != nil {
		name := match[1]
		idx, err := strconv.Atoi(match[2])
		if err != nil || idx > 65536 {
			return fmt.Errorf("list index %s out of range", match[2])
		}
		list, _ := m[name].([]interface{})
		for len(list) <= idx {
			list = append(list, nil)
		}
		if last {
			list[idx] = value
		} else {
			child, _ := list[idx].(map[string]interface{})
			if child == nil {
				child = map[string]interface{}{}
			}
			if err := setPath(child, keys[1:], value); err != nil {
				return err
			}
			list[idx] = child
		}
		m[name] = list
		return nil
	}
	if last {
		m[key] = value
		return nil
	}
	child, ok := m[key].(map[string]interface{})
	if !ok {
		child = map[string]interface{}{}
		m[key] = child
	}
	return setPath(child, keys[1:], value)
}

// validateSchema checks the merged values against values.schema.json and words the failures as Helm does.
func validateSchema(chart string, schema []byte, values map[string]interface{}) error {
	doc, err := json.Marshal(values)
	if err != nil {
		return err
	}
	result, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(schema), gojsonschema.NewBytesLoader(doc))
	if err != nil {
		return fmt.Errorf("values.schema.json: %v", err)
	}
	if result.Valid() {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "values don't meet the specifications of the schema(s) in the following chart(s):\n%s:\n", chart)
	lines := []string{}
	for _, e := range result.Errors() {
		lines = append(lines, fmt.Sprintf("- %s\n", e))
	}
	sort.Strings(lines)
	for _, l := range lines {
		b.WriteString(l)
	}
	return errors.New(b.String())
}

// capabilities is .Capabilities.
type capabilities struct {
	KubeVersion kubeVersion
	APIVersions versionSet
	HelmVersion map[string]string
}

type kubeVersion struct {
	Version string
	Major   string
	Minor   string
}

func (k kubeVersion) String() string     { return k.Version }
func (k kubeVersion) GitVersion() string { return k.Version }

type versionSet []string

// Has reports whether the set holds an API version ("apps/v1") or a kind of one ("apps/v1/Deployment").
func (v versionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

// The API versions a Kubernetes 1.31 API server serves, with their kinds for the ones the chart may ask about.
// Anything else (CRDs such as ServiceMonitor or ScaledObject) is known only through --api-versions, as with
// `helm template`.
var builtinAPIVersions = []string{
	"v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v1", "autoscaling/v2", "networking.k8s.io/v1",
	"rbac.authorization.k8s.io/v1", "storage.k8s.io/v1", "scheduling.k8s.io/v1", "coordination.k8s.io/v1",
	"discovery.k8s.io/v1", "events.k8s.io/v1", "node.k8s.io/v1", "certificates.k8s.io/v1",
	"admissionregistration.k8s.io/v1", "apiextensions.k8s.io/v1", "apiregistration.k8s.io/v1",
	"authentication.k8s.io/v1", "authorization.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1",
	"v1/ConfigMap", "v1/Secret", "v1/Service", "v1/ServiceAccount", "v1/PersistentVolumeClaim",
	"apps/v1/Deployment", "apps/v1/StatefulSet", "policy/v1/PodDisruptionBudget",
	"autoscaling/v2/HorizontalPodAutoscaler", "networking.k8s.io/v1/NetworkPolicy",
}

// files is .Files: the chart's files outside templates/ (links followed).
type files map[string][]byte

func (f files) GetBytes(name string) []byte { return f[name] }
func (f files) Get(name string) string      { return string(f[name]) }

// Glob returns the files whose path matches a shell pattern ('**' is not special, as in Helm).
func (f files) Glob(pattern string) files {
	out := files{}
	for name, b := range f {
		if ok, _ := path.Match(pattern, name); ok {
			out[name] = b
		}
	}
	return out
}

// Lines returns a file's lines.
func (f files) Lines(name string) []string {
	s := string(f[name])
	if s == "" {
		return []string{}
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// AsConfig renders the files as a ConfigMap's data (base name: contents).
func (f files) AsConfig() string {
	m := map[string]string{}
	for name, b := range f {
		m[path.Base(name)] = string(b)
	}
	return toYAML(m)
}

// AsSecrets renders the files as a Secret's data (base name: base64 contents).
func (f files) AsSecrets() string {
	m := map[string]string{}
	for name, b := range f {
		m[path.Base(name)] = base64.StdEncoding.EncodeToString(b)
	}
	return toYAML(m)
}

func toYAML(v interface{}) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}

func toJSON(v interface{}) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

func fromYAML(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromYAMLArray(s string) []interface{} {
	a := []interface{}{}
	if err := yaml.Unmarshal([]byte(s), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

func fromJSON(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromJSONArray(s string) []interface{} {
	a := []interface{}{}
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

// required fails the render with msg when v is nil or an empty string, as Helm's `required` does.
func required(msg string, v interface{}) (interface{}, error) {
	if v == nil {
		return v, errors.New(msg)
	}
	if s, ok := v.(string); ok && s == "" {
		return v, errors.New(msg)
	}
	return v, nil
}

type renderedFile struct {
	name    string
	content string
}

// render parses every template into one set (so each sees the others' `define`s) and executes the ones that are
// not partials (base names starting with '_') in name order.
func render(c *loadedChart, values map[string]interface{}, release map[string]interface{},
	caps *capabilities, strict bool) ([]renderedFile, error) {
	names := make([]string, 0, len(c.templates))
	for name := range c.templates {
		names = append(names, name)
	}
	sort.Strings(names)

	missingKey := "missingkey=zero"
	if strict {
		missingKey = "missingkey=error"
	}
	root := template.New("gotpl").Option(missingKey)
	includeDepth := map[string]int{}
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	funcs["toYaml"] = toYAML
	funcs["toJson"] = toJSON
	funcs["fromYaml"] = fromYAML
	funcs["fromYamlArray"] = fromYAMLArray
	funcs["fromJson"] = fromJSON
	funcs["fromJsonArray"] = fromJSONArray
	funcs["required"] = required
	funcs["lookup"] = func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		if includeDepth[name] > recursionLimit {
			return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
		}
		includeDepth[name]++
		defer func() { includeDepth[name]-- }()
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", fmt.Errorf("cannot parse template %q: %v", text, err)
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", fmt.Errorf("error calling tpl: %v", err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	root.Funcs(funcs)

	prefix := c.meta.Name + "/"
	for _, name := range names {
		if _, err := root.New(prefix + name).Parse(c.templates[name]); err != nil {
			return nil, cleanError(err)
		}
	}
	var out []renderedFile
	for _, name := range names {
		base := path.Base(name)
		if strings.HasPrefix(base, "_") {
			continue
		}
		isNotes := base == "NOTES.txt"
		if !isNotes && !strings.HasSuffix(base, ".yaml") && !strings.HasSuffix(base, ".yml") &&
			!strings.HasSuffix(base, ".tpl") {
			continue
		}
		data := map[string]interface{}{
			"Values":       values,
			"Release":      release,
			"Chart":        c.meta,
			"Capabilities": caps,
			"Files":        c.files,
			"Template":     map[string]interface{}{"Name": prefix + name, "BasePath": prefix + "templates"},
		}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, prefix+name, data); err != nil {
			return nil, cleanError(err)
		}
		out = append(out, renderedFile{prefix + name, strings.ReplaceAll(buf.String(), "<no value>", "")})
	}
	return out, nil
}

var execError = regexp.MustCompile(`^template: (.*?): executing ".*?" at <.*?>: error calling (?:required|fail): (.*)$`)

// cleanError words `required` and `fail` errors as Helm does ("execution error at (file:line:col): message").
func cleanError(err error) error {
	msg := err.Error()
	if m := execError.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("execution error at (%s): %s", m[1], m[2])
	}
	return err
}

// The order Helm installs (and `helm template` prints) kinds in; other kinds follow, in name order.
var installOrder = []string{
	"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
	"PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
	"PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList",
	"ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList",
	"Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
	"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
}

var docSeparator = regexp.MustCompile(`(?:^|\s*\n)---\s*`)

type manifest struct {
	source string
	kind   string
	name   string
	body   string
}

func writeManifests(out io.Writer, chart string, rendered []renderedFile, withNotes bool) error {
	rank := map[string]int{}
	for i, k := range installOrder {
		rank[k] = i
	}
	var manifests []manifest
	var notes string
	for _, f := range rendered {
		if path.Base(f.name) == "NOTES.txt" {
			notes = f.content
			continue
		}
		for _, doc := range docSeparator.Split(f.content, -1) {
			doc = strings.TrimSpace(doc)
			if doc == "" || isOnlyComments(doc) {
				continue
			}
			var head struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Metadata   struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
				return fmt.Errorf("YAML parse error on %s: %v", f.name, err)
			}
			if head.Kind == "" || head.APIVersion == "" {
				return fmt.Errorf("%s: a document without apiVersion or kind:\n%s", f.name, doc)
			}
			manifests = append(manifests, manifest{f.name, head.Kind, head.Metadata.Name, doc})
		}
	}
	sort.SliceStable(manifests, func(i, j int) bool {
		ri, iok := rank[manifests[i].kind]
		rj, jok := rank[manifests[j].kind]
		switch {
		case iok && jok && ri != rj:
			return ri < rj
		case iok != jok:
			return iok
		case !iok && manifests[i].kind != manifests[j].kind:
			return manifests[i].kind < manifests[j].kind
		}
		return manifests[i].name < manifests[j].name
	})
	for _, m := range manifests {
		if _, err := fmt.Fprintf(out, "---\n# Source: %s\n%s\n", m.source, m.body); err != nil {
			return err
		}
	}
	if withNotes && strings.TrimSpace(notes) != "" {
		_, err := fmt.Fprintf(out, "\nNOTES:\n%s\n", strings.TrimRight(notes, "\n"))
		return err
	}
	return nil
}

func isOnlyComments(doc string) bool {
	for _, line := range strings.Split(doc, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			return false
		}
	}
	return true
}
