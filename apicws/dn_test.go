package apicws

import (
	"slices"
	"strings"
	"testing"
)

func TestSplitDNAndTenant(t *testing.T) {
	tests := []struct {
		dn     string
		rns    []string
		tenant string
	}{
		// apic-protocol.md §7.
		{"uni/tn-Prod/out-X/lnodep-X/rsnodeL3OutAtt-[topology/pod-1/node-101]",
			[]string{"uni", "tn-Prod", "out-X", "lnodep-X", "rsnodeL3OutAtt-[topology/pod-1/node-101]"}, "Prod"},
		// The naming value embeds another tenant's DN: the object is common's.
		{"uni/tn-common/qoscustom-default/rtfvCustQosPol-[uni/tn-dh-ansible-aac/ap-dh-ap/epg-dh-epg]",
			[]string{"uni", "tn-common", "qoscustom-default", "rtfvCustQosPol-[uni/tn-dh-ansible-aac/ap-dh-ap/epg-dh-epg]"}, "common"},
		{"uni/tn-CL/BD-CLbd/subnet-[10.0.0.1/24]", []string{"uni", "tn-CL", "BD-CLbd", "subnet-[10.0.0.1/24]"}, "CL"},
		{"uni/tn-common/oobbrc-default/fault-F1228", []string{"uni", "tn-common", "oobbrc-default", "fault-F1228"}, "common"},
		{"topology/pod-1/node-1/sys/caggr-[po1.1]/fault-F0104",
			[]string{"topology", "pod-1", "node-1", "sys", "caggr-[po1.1]", "fault-F0104"}, ""},
		{"subj-[uni/tn-common/out-new_l3out/rsl3DomAtt]/mod-12884901936",
			[]string{"subj-[uni/tn-common/out-new_l3out/rsl3DomAtt]", "mod-12884901936"}, ""},
		// The tenant itself and the tenant boundary.
		{"uni/tn-x", []string{"uni", "tn-x"}, "x"},
		{"uni/tn-mtimm-simple2", []string{"uni", "tn-mtimm-simple2"}, "mtimm-simple2"},
		{"uni/tn-", []string{"uni", "tn-"}, ""},
		{"uni/tn-/ap-a", []string{"uni", "tn-", "ap-a"}, ""},
		{"uni/tn-x/", []string{"uni", "tn-x", ""}, "x"},
		// Not a tenant.
		{"uni", []string{"uni"}, ""},
		{"uni/", []string{"uni", ""}, ""},
		{"uni/infra/attentp-x", []string{"uni", "infra", "attentp-x"}, ""},
		{"uni/fabric", []string{"uni", "fabric"}, ""},
		{"uni/userext/user-tn-x", []string{"uni", "userext", "user-tn-x"}, ""},
		{"uni/tnx/ap-a", []string{"uni", "tnx", "ap-a"}, ""},
		{"Uni/tn-x", []string{"Uni", "tn-x"}, ""},
		{"/uni/tn-x", []string{"", "uni", "tn-x"}, ""},
		{"xuni/tn-x", []string{"xuni", "tn-x"}, ""},
		{"topology/pod-1/node-101", []string{"topology", "pod-1", "node-101"}, ""},
		// Brackets: nested, bracketed tenant RN, unbalanced.
		{"a/[a[b/c]d]/e", []string{"a", "[a[b/c]d]", "e"}, ""},
		{"uni/tn-[a/b]/ap-x", []string{"uni", "tn-[a/b]", "ap-x"}, "[a/b]"},
		{"uni/tn-a[b/c]d/ap-x", []string{"uni", "tn-a[b/c]d", "ap-x"}, "a[b/c]d"},
		{"uni/tn-x/rs-[a/b", []string{"uni", "tn-x", "rs-[a/b"}, "x"},
		{"uni/tn-x[/y/z", []string{"uni", "tn-x[/y/z"}, "x[/y/z"},
		{"a]/b", []string{"a]", "b"}, ""},
		{"a/[[b]/c", []string{"a", "[[b]/c"}, ""},
		{"", nil, ""},
		{"/", []string{"", ""}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.dn, func(t *testing.T) {
			if got := SplitDN(tt.dn); !slices.Equal(got, tt.rns) || (got == nil) != (tt.rns == nil) {
				t.Errorf("SplitDN(%q) = %q, want %q", tt.dn, got, tt.rns)
			}
			if got := Tenant(tt.dn); got != tt.tenant {
				t.Errorf("Tenant(%q) = %q, want %q", tt.dn, got, tt.tenant)
			}
		})
	}
}

var sinkString string

func TestTenantDoesNotAllocate(t *testing.T) {
	dn := "uni/tn-common/qoscustom-default/rtfvCustQosPol-[uni/tn-dh-ansible-aac/ap-dh-ap/epg-dh-epg]"
	if n := testing.AllocsPerRun(100, func() { sinkString = Tenant(dn) }); n != 0 {
		t.Errorf("Tenant allocates %v times per call", n)
	}
}

// tenantFromRNs is the definition of SPEC §4 written over SplitDN, the model
// that Tenant must match.
func tenantFromRNs(rns []string) string {
	if len(rns) >= 2 && rns[0] == "uni" && strings.HasPrefix(rns[1], "tn-") {
		return rns[1][len("tn-"):]
	}
	return ""
}

func FuzzTenant(f *testing.F) {
	for _, dn := range []string{
		"uni/tn-Prod/out-X/lnodep-X/rsnodeL3OutAtt-[topology/pod-1/node-101]",
		"uni/tn-common/qoscustom-default/rtfvCustQosPol-[uni/tn-dh-ansible-aac/ap-dh-ap/epg-dh-epg]",
		"topology/pod-1/node-1/sys/caggr-[po1.1]/fault-F0104",
		"uni/tn-x", "uni/tn-", "uni/infra", "uni/tn-[a/b]/c", "uni/tn-x[", "a/[a[b/c]d]/e", "]]/[[", "", "/",
	} {
		f.Add(dn)
	}
	f.Fuzz(func(t *testing.T, dn string) {
		rns := SplitDN(dn)
		if dn == "" {
			if rns != nil {
				t.Fatalf("SplitDN(\"\") = %q", rns)
			}
		} else if joined := strings.Join(rns, "/"); joined != dn {
			t.Fatalf("SplitDN(%q) = %q does not join back (%q)", dn, rns, joined)
		}
		for _, rn := range rns {
			if rnEnd(rn) != len(rn) {
				t.Fatalf("SplitDN(%q): RN %q holds a '/' outside brackets", dn, rn)
			}
		}
		tenant := Tenant(dn)
		if want := tenantFromRNs(rns); tenant != want {
			t.Fatalf("Tenant(%q) = %q, SplitDN says %q", dn, tenant, want)
		}
		if tenant != "" {
			rest, ok := strings.CutPrefix(dn, tenantPrefix+tenant)
			if !ok || (rest != "" && rest[0] != '/') {
				t.Fatalf("Tenant(%q) = %q is not the whole RN right after %q", dn, tenant, tenantPrefix)
			}
		}
	})
}
