package apicsim

import (
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mdlTestTenant is the tenant of dn per §7, written independently of the
// package: split on '/' outside brackets, then rn[0] == "uni" and rn[1] = tn-X.
func mdlTestTenant(dn string) string {
	var rns []string
	depth, start := 0, 0
	for i, c := range dn {
		switch c {
		case '[':
			depth++
		case ']':
			depth--
		case '/':
			if depth == 0 {
				rns = append(rns, dn[start:i])
				start = i + 1
			}
		}
		if len(rns) == 2 {
			break
		}
	}
	rns = append(rns, dn[start:])
	if len(rns) < 2 || rns[0] != "uni" || !strings.HasPrefix(rns[1], "tn-") {
		return ""
	}
	return strings.TrimPrefix(rns[1], "tn-")
}

var mdlTestDNRE = func() map[string]*regexp.Regexp {
	m := map[string]*regexp.Regexp{}
	for class, re := range churnTestDNPatterns {
		m[class] = regexp.MustCompile(re)
	}
	return m
}()

// mdlTestCheckDN checks dn against its class's §7 pattern, the naming-value
// regex of its last RN and its tenant attribution.
func mdlTestCheckDN(t *testing.T, class, dn string) {
	t.Helper()
	if !mdlTestDNRE[class].MatchString(dn) {
		t.Errorf("%s DN %q does not match %s", class, dn, churnTestDNPatterns[class])
		return
	}
	_, rn := mdlLastRN(dn)
	if v := mdlNamingValue(rn); !mdlNamingRE[class].MatchString(v) {
		t.Errorf("%s DN %q: naming value %q does not match %s", class, dn, v, mdlNamingRE[class])
	}
	tenant := mdlTestTenant(dn)
	if class == "faultInst" || strings.HasPrefix(dn, "topology/") {
		if strings.HasPrefix(dn, "topology/") != (tenant == "") {
			t.Errorf("%s %q: tenant %q", class, dn, tenant)
		}
		return
	}
	if want := strings.TrimPrefix(strings.SplitN(dn, "/", 3)[1], "tn-"); tenant != want || tenant == "" {
		t.Errorf("%s DN %q: tenant %q, want %q", class, dn, tenant, want)
	}
}

func TestModelApicTime(t *testing.T) {
	ts := time.Date(2020, 4, 13, 10, 43, 19, 237_000_000, time.UTC)
	if got := apicTime(ts); got != "2020-04-13T10:43:19.237+00:00" {
		t.Errorf("apicTime = %q", got)
	}
	if got := apicTime(ts.In(time.FixedZone("EDT", -4*3600))); got != "2020-04-13T10:43:19.237+00:00" {
		t.Errorf("apicTime in EDT = %q", got)
	}
	back, err := time.Parse(mdlTimeLayout, "2023-05-04T16:02:00.972-04:00")
	if err != nil || apicTime(back) != "2023-05-04T20:02:00.972+00:00" {
		t.Errorf("parse real modTs: %v %v", back, err)
	}
}

func TestModelDNs(t *testing.T) {
	epg := mdlEPGDN("X", "a", "e")
	for _, tc := range []struct {
		class, got, want, tenant string
	}{
		{"fvTenant", mdlTenantDN("Prod"), "uni/tn-Prod", "Prod"},
		{"fvAp", mdlApDN("Prod", "web.app:1"), "uni/tn-Prod/ap-web.app:1", "Prod"},
		{"fvAEPg", epg, "uni/tn-X/ap-a/epg-e", "X"},
		{"fvBD", mdlBDDN("t", "bd1"), "uni/tn-t/BD-bd1", "t"},
		{"fvCtx", mdlCtxDN("t", "v"), "uni/tn-t/ctx-v", "t"},
		{"fvSubnet", mdlBDSubnetDN("t", "bd", "10.1.2.1/24"), "uni/tn-t/BD-bd/subnet-[10.1.2.1/24]", "t"},
		{"fvSubnet", mdlEPGSubnetDN("t", "a", "e", "2001:db8::1/64"), "uni/tn-t/ap-a/epg-e/subnet-[2001:db8::1/64]", "t"},
		{"vzBrCP", mdlContractDN("TenantA", "test"), "uni/tn-TenantA/brc-test", "TenantA"},
		{"l3extOut", mdlL3OutDN("t", "o"), "uni/tn-t/out-o", "t"},
		{"fvCEp", mdlCEpDN("t", "a", "e", "00:50:56:AB:CD:EF"), "uni/tn-t/ap-a/epg-e/cep-00:50:56:AB:CD:EF", "t"},
		{"faultInst", mdlFaultDN(mdlQosRtDN("default", epg), "F1234"),
			"uni/tn-common/qoscustom-default/rtfvCustQosPol-[uni/tn-X/ap-a/epg-e]/fault-F1234", "common"},
		{"faultInst", mdlFaultDN(mdlStPathIssuesDN(1, 101, 5, epg), "F0467"),
			"topology/pod-1/node-101/local/svc-policyelem-id-0/uni/epp/fv-[uni/tn-X/ap-a/epg-e]/node-101/stpathatt-[eth1/5]/nwissues/fault-F0467", ""},
		{"faultInst", mdlFaultDN(mdlPhysIfDN(1, 102, "eth1/33")+"/phys", "F0532"), "topology/pod-1/node-102/sys/phys-[eth1/33]/phys/fault-F0532", ""},
		{"faultInst", mdlFaultDN(epg+"/rscons-web-to-db", "F1123"), "uni/tn-X/ap-a/epg-e/rscons-web-to-db/fault-F1123", "X"},
		{"fvBD", mdlChildDN("uni/tn-t", "fvBD", "b"), "uni/tn-t/BD-b", "t"},
		{"fvTenant", mdlChildDN("ignored", "fvTenant", "n"), "uni/tn-n", "n"},
		{"fvSubnet", mdlChildDN("uni/tn-t/BD-b", "fvSubnet", "10.0.0.1/24"), "uni/tn-t/BD-b/subnet-[10.0.0.1/24]", "t"},
		{"l1PhysIf", mdlChildDN("topology/pod-1/node-101/sys", "l1PhysIf", "eth1/49"), "topology/pod-1/node-101/sys/phys-[eth1/49]", ""},
		{"ethpmPhysIf", mdlChildDN(mdlPhysIfDN(2, 1001, "eth3/12"), "ethpmPhysIf", ""), "topology/pod-2/node-1001/sys/phys-[eth3/12]/phys", ""},
		{"topSystem", mdlChildDN(mdlNodeDN(1, 101), "topSystem", ""), "topology/pod-1/node-101/sys", ""},
		{"bgpPeerEntry", mdlBGPPeerEntryDN(1, 101, "overlay-1", "10.0.64.202"), "topology/pod-1/node-101/sys/bgp/inst/dom-overlay-1/peer-[10.0.64.202/32]/ent-[10.0.64.202]", ""},
		{"ospfAdjEp", mdlOSPFAdjDN(1, 103, "common:default", "eth1/6", "10.254.0.2"), "topology/pod-1/node-103/sys/ospf/inst-default/dom-common:default/if-[eth1/6]/adj-10.254.0.2", ""},
		{"healthInst", mdlHealthDN("uni/tn-t/ap-a/epg-e"), "uni/tn-t/ap-a/epg-e/health", "t"},
		{"fabricHealthTotal", mdlPodHealthDN(2), "topology/pod-2/health", ""},
	} {
		if tc.got != tc.want {
			t.Errorf("built %q, want %q", tc.got, tc.want)
			continue
		}
		mdlTestCheckDN(t, tc.class, tc.got)
		if got := mdlTestTenant(tc.got); got != tc.tenant {
			t.Errorf("tenant of %q = %q, want %q", tc.got, got, tc.tenant)
		}
	}
	for dn, want := range map[string][]string{
		"uni/tn-common/qoscustom-default/rtfvCustQosPol-[uni/tn-X/ap-a/epg-e]/fault-F1234": {"uni", "tn-common", "qoscustom-default", "rtfvCustQosPol-[uni/tn-X/ap-a/epg-e]", "fault-F1234"},
		"topology/pod-1/node-1/sys/ch/p-[/firmware]-f-[/dev/mapper/vg_ifc0-firmware]":      {"topology", "pod-1", "node-1", "sys", "ch", "p-[/firmware]-f-[/dev/mapper/vg_ifc0-firmware]"},
		"uni/tn-a": {"uni", "tn-a"},
		"topology/pod-2/node-1001/sys/phys-[eth3/12]/phys/fault-F1394":                                {"topology", "pod-2", "node-1001", "sys", "phys-[eth3/12]", "phys", "fault-F1394"},
		"topology/pod-1/node-101/sys/bgp/inst/dom-overlay-1/peer-[10.0.64.202/32]/ent-[10.0.64.202]":  {"topology", "pod-1", "node-101", "sys", "bgp", "inst", "dom-overlay-1", "peer-[10.0.64.202/32]", "ent-[10.0.64.202]"},
		"topology/pod-1/node-103/sys/ospf/inst-default/dom-common:default/if-[eth1/6]/adj-10.254.0.2": {"topology", "pod-1", "node-103", "sys", "ospf", "inst-default", "dom-common:default", "if-[eth1/6]", "adj-10.254.0.2"},
	} {
		if got := splitDN(dn); !slices.Equal(got, want) {
			t.Errorf("splitDN(%q) = %q", dn, got)
		}
		parent, rn := mdlLastRN(dn)
		if rn != want[len(want)-1] || parent != strings.Join(want[:len(want)-1], "/") {
			t.Errorf("mdlLastRN(%q) = %q, %q", dn, parent, rn)
		}
	}
}

// mdlTestSample returns n DNs of class with realistic parents.
func mdlTestSample(r *rand.Rand, class string, n int) []string {
	g := newChurnGen(Profile{Tenants: 20}, newTopology(Profile{}), 0)
	name := func(c string) string { return mdlName(r, c, g.id()) }
	var dns []string
	for range n {
		tdn := mdlTenantDN(name("fvTenant"))
		epg := mdlChildDN(mdlChildDN(tdn, "fvAp", name("fvAp")), "fvAEPg", name("fvAEPg"))
		switch class {
		case "fvTenant":
			dns = append(dns, tdn)
		case "fvAEPg":
			dns = append(dns, epg)
		case "fvSubnet":
			dns = append(dns, mdlChildDN(mdlChildDN(tdn, "fvBD", name("fvBD")), class, name(class)))
		case "fvCEp":
			dns = append(dns, mdlChildDN(epg, class, name(class)))
		case "faultInst":
			fam := churnFaultFamilies[r.IntN(len(churnFaultFamilies))]
			anchor := map[string]string{"fvAEPg": epg, "fvBD": tdn + "/BD-bd", "vzBrCP": tdn + "/brc-c",
				"l3extOut": tdn + "/out-o", "fvCtx": tdn + "/ctx-v"}[fam.anchor]
			dns = append(dns, mdlFaultDN(fam.build(g, r, anchor), fam.code))
		default:
			dns = append(dns, mdlChildDN(tdn, class, name(class)))
		}
	}
	return dns
}

func TestModelNewAttrs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const ts = "2026-03-01T12:00:00.000+00:00"
	common := []string{"annotation", "descr", "extMngdBy", "lcOwn", "modTs", "monPolDn", "name", "nameAlias", "uid"}
	faultKeys := []string{"ack", "alert", "cause", "changeSet", "code", "created", "delegated", "descr", "domain", "highestSeverity",
		"lastTransition", "lc", "modTs", "occur", "origSeverity", "prevSeverity", "rule", "severity", "subject", "title", "type"}
	// The real vzBrCP created event (§4) without dn, status, rn, childAction.
	realBrc := []string{"annotation", "configIssues", "descr", "extMngdBy", "lcOwn", "modTs", "monPolDn", "name", "nameAlias",
		"ownerKey", "ownerTag", "prio", "reevaluateAll", "scope", "targetDscp", "uid"}
	var richTotal, richN int
	for _, class := range churnClassOrder {
		sizes := []int{}
		for _, dn := range mdlTestSample(r, class, 300) {
			mdlTestCheckDN(t, class, dn)
			a := newAttrs(r, class, dn, ts)
			for _, k := range []string{"dn", "status", "rn", "childAction"} {
				if _, ok := a[k]; ok {
					t.Fatalf("%s: store-owned attribute %s", class, k)
				}
			}
			want := common
			switch class {
			case "faultInst":
				want = faultKeys
			case "vzBrCP":
				want = realBrc
			}
			for _, k := range want {
				if _, ok := a[k]; !ok {
					t.Fatalf("%s %s: attribute %s missing: %v", class, dn, k, a)
				}
			}
			if class == "vzBrCP" && len(a) != len(realBrc) {
				t.Errorf("vzBrCP attributes %d, want the real set of %d", len(a), len(realBrc))
			}
			_, rn := mdlLastRN(dn)
			switch class {
			case "faultInst":
				if a["modTs"] != "never" || a["created"] != ts || a["lastTransition"] != ts || a["code"] != mdlNamingValue(rn) {
					t.Errorf("fault %s: %v", dn, a)
				}
				if a["lc"] != "soaking" && a["lc"] != "raised" {
					t.Errorf("fault %s created in lc %s", dn, a["lc"])
				}
				if (a["delegated"] == "yes") != strings.Contains(dn, "/local/") {
					t.Errorf("fault %s: delegated %s", dn, a["delegated"])
				}
			case "fvCEp":
				if a["mac"] != mdlNamingValue(rn) || a["name"] != a["mac"] || a["ip"] == "" || !strings.HasPrefix(a["encap"], "vlan-") {
					t.Errorf("fvCEp %s: %v", dn, a)
				}
			case "fvSubnet":
				if a["ip"] != mdlNamingValue(rn) {
					t.Errorf("fvSubnet %s: ip %s", dn, a["ip"])
				}
			default:
				if a["name"] != mdlNamingValue(rn) || a["modTs"] != ts {
					t.Errorf("%s %s: name %q modTs %q", class, dn, a["name"], a["modTs"])
				}
			}
			// Size as the created event carries it.
			ev := map[string]string{"dn": dn, "status": "created", "rn": "", "childAction": ""}
			for k, v := range a {
				ev[k] = v
			}
			b, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(b))
		}
		slices.Sort(sizes)
		mean := 0
		for _, s := range sizes {
			mean += s
		}
		mean /= len(sizes)
		t.Logf("%-9s created event attributes: min %4d, median %4d, max %4d bytes", class, sizes[0], sizes[len(sizes)/2], sizes[len(sizes)-1])
		if sizes[0] < 250 || sizes[len(sizes)-1] > 1400 {
			t.Errorf("%s: attribute JSON %d..%d bytes, want 250..1400", class, sizes[0], sizes[len(sizes)-1])
		}
		if class != "fvTenant" && class != "fvAp" && class != "fvCtx" && class != "l3extOut" {
			richTotal += mean
			richN++
		}
	}
	if m := richTotal / richN; m < 450 || m > 1000 {
		t.Errorf("rich classes: mean %d bytes, want about 600", m)
	}
	// The system tenants' objects were created by the system.
	if a := newAttrs(r, "fvTenant", "uni/tn-common", ts); a["uid"] != "0" {
		t.Errorf("uni/tn-common uid %q", a["uid"])
	}
}

func TestModelMutateAttrs(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const ts = "2026-03-01T12:00:00.000+00:00"
	for _, class := range churnClassOrder {
		if class == "faultInst" {
			continue
		}
		keys := map[string]int{}
		for _, dn := range mdlTestSample(r, class, 100) {
			cur := newAttrs(r, class, dn, ts)
			for range 10 {
				ch := mutateAttrs(r, class, cur)
				if len(ch) == 0 {
					t.Fatalf("%s: no change", class)
				}
				for k, v := range ch {
					keys[k]++
					if k == "modTs" || k == "name" || k == "mac" && class == "fvCEp" {
						t.Fatalf("%s: changes %s", class, k)
					}
					if _, ok := cur[k]; !ok {
						t.Fatalf("%s: changes unknown attribute %s", class, k)
					}
					if cur[k] == v {
						t.Fatalf("%s: %s=%q unchanged", class, k, v)
					}
					if k == "nameAlias" && v != "" && !regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`).MatchString(v) {
						t.Fatalf("%s: nameAlias %q", class, v)
					}
					cur[k] = v
				}
			}
		}
		t.Logf("%s modifications change: %v", class, keys)
		if class == "fvCEp" && (keys["ip"] == 0 || keys["fabricPathDn"] == 0) {
			t.Errorf("fvCEp modifications never move the endpoint: %v", keys)
		}
		if class != "fvCEp" && (keys["descr"] == 0 || class != "fvTenant" && keys["nameAlias"] == 0) {
			t.Errorf("%s modifications: %v", class, keys)
		}
	}
}

// mdlTestSevRank orders the severities (apic-protocol.md §4).
var mdlTestSevRank = map[string]int{"cleared": 0, "info": 1, "warning": 2, "minor": 3, "major": 4, "critical": 5}

func TestModelFaultLifecycle(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const ts = "2026-03-01T12:00:00.000+00:00"
	edges := map[string]int{}
	for _, dn := range mdlTestSample(r, "faultInst", 2000) {
		cur := newAttrs(r, "faultInst", dn, ts)
		orig := cur["origSeverity"]
		path := []string{cur["lc"]}
		for step := 0; ; step++ {
			if step > 100 {
				t.Fatalf("%s: no end after %v", dn, path)
			}
			ch := mutateAttrs(r, "faultInst", cur)
			if ch == nil {
				break
			}
			if _, ok := ch["modTs"]; ok {
				t.Fatalf("%s: modTs changed", dn)
			}
			prev, prevSev := cur["lc"], cur["severity"]
			prevT, _ := time.Parse(mdlTimeLayout, cur["lastTransition"])
			prevOccur, _ := strconv.Atoi(cur["occur"])
			for k, v := range ch {
				cur[k] = v
			}
			lc, sev := cur["lc"], cur["severity"]
			path = append(path, lc)
			switch {
			case ch["ack"] == "yes":
				if len(ch) != 1 || prev != "raised" {
					t.Fatalf("%s: acknowledged in %s with %v", dn, prev, ch)
				}
				edges["ack"]++
				continue
			case prev == "raised" && lc == "raised" && mdlTestSevRank[sev] > mdlTestSevRank[prevSev]:
				edges["escalated"]++
			case prev == "raised" && lc == "raised" && mdlTestSevRank[sev] < mdlTestSevRank[prevSev]:
				edges["de-escalated"]++
			case !slices.Contains(churnTestLifecycle[prev], lc):
				t.Fatalf("%s: %v", dn, path)
			default:
				edges[prev+">"+lc]++
			}
			if churnTestCleared(lc) != (sev == "cleared") || !churnTestCleared(lc) && mdlTestSevRank[sev] < mdlTestSevRank[orig] {
				t.Fatalf("%s: lc %s severity %s (orig %s)", dn, lc, sev, orig)
			}
			if sev != prevSev && cur["prevSeverity"] != prevSev || mdlTestSevRank[cur["highestSeverity"]] < mdlTestSevRank[sev] {
				t.Fatalf("%s: severity %s → %s, prevSeverity %s, highestSeverity %s", dn, prevSev, sev, cur["prevSeverity"], cur["highestSeverity"])
			}
			if nt, err := time.Parse(mdlTimeLayout, cur["lastTransition"]); err != nil || !nt.After(prevT) {
				t.Fatalf("%s: lastTransition %s after %s", dn, cur["lastTransition"], prevT)
			}
			occur, _ := strconv.Atoi(cur["occur"])
			recurred := prev == "raised-clearing" && lc == "raised" || prev == "soaking-clearing" && lc == "soaking"
			if occur != prevOccur+map[bool]int{true: 1}[recurred] {
				t.Fatalf("%s: %s → %s occur %d → %d", dn, prev, lc, prevOccur, occur)
			}
		}
		if path[len(path)-1] != "retaining" {
			t.Fatalf("%s: ends in %v", dn, path)
		}
		if cur["modTs"] != "never" {
			t.Fatalf("%s: modTs %q", dn, cur["modTs"])
		}
	}
	t.Logf("lifecycle edges: %v", edges)
	for _, e := range []string{"escalated", "de-escalated", "ack"} {
		if edges[e] == 0 {
			t.Errorf("no raised fault was %s", e)
		}
	}
	for from, tos := range churnTestLifecycle {
		for _, to := range tos {
			if edges[from+">"+to] == 0 {
				t.Errorf("edge %s → %s never taken", from, to)
			}
		}
	}
}
