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

func TestKeep(t *testing.T) {
	defer Keep(nil)
	Keep([]string{"operSt", "cur", "lc", "dn", "operSt"})
	for _, tt := range []struct {
		name string
		want bool
	}{{"operSt", true}, {"cur", true}, {"lc", true}, {"modTs", true}, {"dn", false}, {"descr", false}, {"operSpeed", false}, {"", false}} {
		i := KeptIndex(tt.name)
		if (i >= 0) != tt.want {
			t.Errorf("KeptIndex(%q) = %d, want kept %v", tt.name, i, tt.want)
		}
		if i >= 0 && KeptName(i) != tt.name {
			t.Errorf("KeptName(%d) = %q, want %q", i, KeptName(i), tt.name)
		}
	}
	Keep(nil)
	if KeptIndex("operSt") >= 0 {
		t.Error("operSt still kept after Keep(nil)")
	}
}

func TestAltStampsAreFingerprinted(t *testing.T) {
	for _, name := range AltStamps {
		if FingerprintIndex(name) < 0 {
			t.Errorf("%s is not a fingerprint attribute: events would not keep it", name)
		}
	}
}
