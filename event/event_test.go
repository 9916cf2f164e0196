package event

import "testing"

func TestFingerprintIndex(t *testing.T) {
	for i, name := range FingerprintAttrs {
		if got := FingerprintIndex(name); got != i {
			t.Errorf("FingerprintIndex(%q) = %d, want %d", name, got, i)
		}
	}
	for _, name := range []string{"", "dn", "status", "modts", "ModTs", "lcOwn", "descr"} {
		if got := FingerprintIndex(name); got != -1 {
			t.Errorf("FingerprintIndex(%q) = %d, want -1", name, got)
		}
	}
}
