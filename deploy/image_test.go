package deploy

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

const (
	defaultConfigFlag = "--config.file=/etc/aci-exporter/aci-exporter.yml"
	imageRef          = "aci-exporter:test"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct{ cmd, args string }

// finalStage is the Dockerfile's last stage, from its FROM on.
func finalStage(t *testing.T) []instruction {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var stage []instruction
	cur := ""
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutSuffix(line, `\`); ok {
			cur += rest + " "
			continue
		}
		cmd, args, _ := strings.Cut(cur+line, " ")
		cur = ""
		if cmd = strings.ToUpper(cmd); cmd == "FROM" {
			stage = nil
		}
		stage = append(stage, instruction{cmd, strings.TrimSpace(args)})
	}
	return stage
}

var labelPair = regexp.MustCompile(`([A-Za-z0-9._-]+)=("(?:[^"\\]|\\.)*"|\S+)`)

// imageConfig turns the final stage into an image config, with buildArgs
// overriding ARG defaults as `docker build --build-arg` does, and returns
// where in the image its COPY puts the binary.
func imageConfig(t *testing.T, stage []instruction, buildArgs map[string]string) (v1.Config, string) {
	t.Helper()
	vars := map[string]string{}
	cfg := v1.Config{Labels: map[string]string{}, ExposedPorts: map[string]struct{}{}}
	binPath := ""
	execForm := func(in instruction) []string {
		var argv []string
		if err := json.Unmarshal([]byte(in.args), &argv); err != nil {
			t.Fatalf("%s %s: not the exec (JSON) form: %v", in.cmd, in.args, err)
		}
		return argv
	}
	for _, in := range stage {
		switch in.cmd {
		case "FROM":
		case "ARG":
			name, def, _ := strings.Cut(in.args, "=")
			vars[name] = def
			if v, ok := buildArgs[name]; ok {
				vars[name] = v
			}
		case "LABEL":
			for _, m := range labelPair.FindAllStringSubmatch(in.args, -1) {
				value := m[2]
				if strings.HasPrefix(value, `"`) {
					var err error
					if value, err = strconv.Unquote(value); err != nil {
						t.Fatalf("LABEL %s: %v", m[1], err)
					}
				}
				cfg.Labels[m[1]] = os.Expand(value, func(k string) string { return vars[k] })
			}
		case "COPY":
			fields := strings.Fields(in.args)
			binPath = fields[len(fields)-1]
		case "USER":
			cfg.User = in.args
		case "EXPOSE":
			for _, p := range strings.Fields(in.args) {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				cfg.ExposedPorts[p] = struct{}{}
			}
		case "ENTRYPOINT":
			cfg.Entrypoint = execForm(in)
		case "CMD":
			cfg.Cmd = execForm(in)
		default:
			t.Fatalf("the Dockerfile's final stage has %s, which this offline build does not reproduce", in.cmd)
		}
	}
	return cfg, binPath
}

// binaryLayer is a layer holding the binary at path in the image, owned by
// root and executable by all, and the one thing of the real base image the
// exporter uses: a world-writable /tmp (--demo writes its files there).
func binaryLayer(t *testing.T, bin, path string) v1.Layer {
	t.Helper()
	content, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	name := strings.TrimPrefix(path, "/")
	for _, h := range []*tar.Header{
		{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777},
		{Typeflag: tar.TypeDir, Name: filepath.Dir(name) + "/", Mode: 0o755},
		{Typeflag: tar.TypeReg, Name: name, Mode: 0o755, Size: int64(len(content))},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tw.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	return layer
}

// buildImage is the Dockerfile's final stage built offline: an empty base
// (the real one adds CA certificates and tzdata) plus the binary, written as
// an OCI layout in dir. It returns the image id (the config's digest).
func buildImage(t *testing.T, bin, dir string, buildArgs map[string]string) v1.Hash {
	t.Helper()
	cfg, binPath := imageConfig(t, finalStage(t), buildArgs)
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(img, binaryLayer(t, bin, binPath))
	if err != nil {
		t.Fatal(err)
	}
	file, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	file = file.DeepCopy()
	file.OS, file.Architecture, file.Config = "linux", runtime.GOARCH, cfg
	if img, err = mutate.ConfigFile(img, file); err != nil {
		t.Fatal(err)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": imageRef,
	})); err != nil {
		t.Fatal(err)
	}
	id, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// readImage reads the one image of the OCI layout in dir back.
func readImage(t *testing.T, dir string) v1.Image {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 {
		t.Fatalf("the layout holds %d manifests, want 1", len(m.Manifests))
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("the image is not valid: %v", err)
	}
	return img
}

// filesOf is every regular file of the image's flattened file system.
func filesOf(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			files["/"+strings.TrimPrefix(h.Name, "/")] = h
		}
	}
}

func TestImageFromDockerfile(t *testing.T) {
	bin := madeBinary(t)
	raw, err := os.ReadFile(filepath.Join(repoRoot, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	args := map[string]string{"VERSION": strings.TrimSpace(string(raw)), "REVISION": "0123abc"}
	dir := t.TempDir()
	buildImage(t, bin, dir, args)
	img := readImage(t, dir)
	file, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg := file.Config

	uid, _, _ := strings.Cut(cfg.User, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("User %q: want a numeric non-root uid (Kubernetes' runAsNonRoot needs a number)", cfg.User)
	}
	if len(cfg.Entrypoint) != 1 || cfg.Entrypoint[0] != "/bin/aci-exporter" {
		t.Errorf("Entrypoint = %q, want [/bin/aci-exporter]", cfg.Entrypoint)
	}
	if !strings.Contains(strings.Join(cfg.Cmd, " "), defaultConfigFlag) {
		t.Errorf("Cmd = %q, want it to hold %s", cfg.Cmd, defaultConfigFlag)
	}
	if _, ok := cfg.ExposedPorts["9648/tcp"]; !ok || len(cfg.ExposedPorts) != 1 {
		t.Errorf("ExposedPorts = %v, want only 9648/tcp", cfg.ExposedPorts)
	}
	for key, want := range map[string]string{
		"org.opencontainers.image.title":    "aci-exporter",
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.version":  args["VERSION"],
		"org.opencontainers.image.revision": args["REVISION"],
		"org.opencontainers.image.source":   "https://github.com/aci-exporter/aci-exporter",
	} {
		if got := cfg.Labels[key]; got != want {
			t.Errorf("label %s = %q, want %q", key, got, want)
		}
	}
	for _, key := range []string{"description", "url", "documentation"} {
		if cfg.Labels["org.opencontainers.image."+key] == "" {
			t.Errorf("label org.opencontainers.image.%s is missing", key)
		}
	}

	files := filesOf(t, img)
	h, ok := files[cfg.Entrypoint[0]]
	if !ok {
		t.Fatalf("the entrypoint %s is not in the image (files: %v)", cfg.Entrypoint[0], files)
	}
	info, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	if h.Size != info.Size() || h.Mode&0o111 != 0o111 || h.Uid != 0 {
		t.Errorf("%s in the image: size %d mode %o uid %d, want size %d, executable by all, owned by root",
			h.Name, h.Size, h.Mode, h.Uid, info.Size())
	}
}

// TestExporterDefaultPort: the port the image exposes is the one the
// exporter listens on by default.
func TestExporterDefaultPort(t *testing.T) {
	out, _ := execOutput(t, madeBinary(t), "--help")
	if !strings.Contains(out, "--web.listen-address=:9648") {
		t.Fatalf("--help does not show the default listen address :9648:\n%s", out)
	}
}
