package apicsim

// The object model of the fake APIC: DN builders for the classes the exporter
// counts, the full attribute set of a newly created object, and the attribute
// changes of a realistic modification. Attribute names and values follow the
// real captures in apic-protocol.md §4 and §7 (vzBrCP created event, faultInst
// payloads with modTs "never").

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// apicTime formats t as APIC writes modTs, created and lastTransition, in UTC:
// 2020-04-13T10:43:19.237+00:00.
func apicTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000") + "+00:00"
}

// mdlTimeLayout parses any APIC timestamp (any offset).
const mdlTimeLayout = "2006-01-02T15:04:05.000-07:00"

// mdlNamingRE holds the naming-value constraint of each class (§7).
var mdlNamingRE = map[string]*regexp.Regexp{
	"fvTenant":  regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`),
	"fvAp":      regexp.MustCompile(`^[a-zA-Z0-9_.:-]+$`),
	"fvAEPg":    regexp.MustCompile(`^[a-zA-Z0-9_.:-]+$`),
	"fvBD":      regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`),
	"fvCtx":     regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`),
	"fvSubnet":  regexp.MustCompile(`^[0-9a-fA-F.:/ ]+$`),
	"vzBrCP":    regexp.MustCompile(`^[a-zA-Z0-9_.:-]+$`),
	"l3extOut":  regexp.MustCompile(`^[a-zA-Z0-9_.:-]+$`),
	"fvCEp":     regexp.MustCompile(`^[a-zA-Z0-9_.:-]+$`),
	"faultInst": regexp.MustCompile(`^F\d+$`),
	// The fabric-state classes; the ones with a fixed RN have no naming value.
	"fabricNode":        regexp.MustCompile(`^[0-9]+$`),
	"topSystem":         regexp.MustCompile(`^$`),
	"l1PhysIf":          regexp.MustCompile(`^eth[0-9]+/[0-9]+$`),
	"ethpmPhysIf":       regexp.MustCompile(`^$`),
	"bgpPeerEntry":      regexp.MustCompile(`^[0-9a-fA-F.:]+$`),
	"ospfAdjEp":         regexp.MustCompile(`^[0-9.]+$`),
	"healthInst":        regexp.MustCompile(`^$`),
	"fabricHealthTotal": regexp.MustCompile(`^$`),
}

// mdlRNPrefix is the RN prefix of each class.
var mdlRNPrefix = map[string]string{
	"fvTenant":  "tn-",
	"fvAp":      "ap-",
	"fvAEPg":    "epg-",
	"fvBD":      "BD-",
	"fvCtx":     "ctx-",
	"fvSubnet":  "subnet-",
	"vzBrCP":    "brc-",
	"l3extOut":  "out-",
	"fvCEp":     "cep-",
	"faultInst": "fault-",
	// A prefix without "-" is the whole RN.
	"fabricNode":        "node-",
	"topSystem":         "sys",
	"l1PhysIf":          "phys-",
	"ethpmPhysIf":       "phys",
	"bgpPeerEntry":      "ent-",
	"ospfAdjEp":         "adj-",
	"healthInst":        "health",
	"fabricHealthTotal": "health",
}

// mdlBracketed classes wrap their naming value in [] (it may hold a '/').
var mdlBracketed = map[string]bool{"fvSubnet": true, "l1PhysIf": true, "bgpPeerEntry": true}

// mdlParentClasses lists the classes an object of each class is created under.
// fvTenant lives directly under uni, fabricHealthTotal under topology or a
// pod; faultInst can sit under any DN.
var mdlParentClasses = map[string][]string{
	"fvAp":     {"fvTenant"},
	"fvAEPg":   {"fvAp"},
	"fvBD":     {"fvTenant"},
	"fvCtx":    {"fvTenant"},
	"fvSubnet": {"fvBD", "fvAEPg"},
	"vzBrCP":   {"fvTenant"},
	"l3extOut": {"fvTenant"},
	"fvCEp":    {"fvAEPg"},
	// fabricNode sits under a pod and bgpPeerEntry and ospfAdjEp under
	// protocol objects, none of them modelled.
	"topSystem":   {"fabricNode"},
	"l1PhysIf":    {"topSystem"},
	"ethpmPhysIf": {"l1PhysIf"},
	"healthInst":  {"topSystem", "fvTenant", "fvAEPg"},
}

// DN builders (§7).

func mdlTenantDN(t string) string               { return "uni/tn-" + t }
func mdlApDN(t, ap string) string               { return mdlTenantDN(t) + "/ap-" + ap }
func mdlEPGDN(t, ap, epg string) string         { return mdlApDN(t, ap) + "/epg-" + epg }
func mdlBDDN(t, bd string) string               { return mdlTenantDN(t) + "/BD-" + bd }
func mdlCtxDN(t, vrf string) string             { return mdlTenantDN(t) + "/ctx-" + vrf }
func mdlBDSubnetDN(t, bd, ip string) string     { return mdlBDDN(t, bd) + "/subnet-[" + ip + "]" }
func mdlContractDN(t, c string) string          { return mdlTenantDN(t) + "/brc-" + c }
func mdlL3OutDN(t, o string) string             { return mdlTenantDN(t) + "/out-" + o }
func mdlCEpDN(t, ap, epg, mac string) string    { return mdlEPGDN(t, ap, epg) + "/cep-" + mac }
func mdlFaultDN(affectedDN, code string) string { return affectedDN + "/fault-" + code }
func mdlNodeDN(pod, node int) string            { return fmt.Sprintf("topology/pod-%d/node-%d", pod, node) }

// mdlEPGSubnetDN is the DN of a subnet configured on an EPG instead of a BD.
func mdlEPGSubnetDN(t, ap, epg, ip string) string {
	return mdlEPGDN(t, ap, epg) + "/subnet-[" + ip + "]"
}

// mdlChildDN builds the DN of an object of class named naming under parentDN
// (ignored for fvTenant, which always lives under uni).
func mdlChildDN(parentDN, class, naming string) string {
	switch {
	case class == "fvTenant":
		return mdlTenantDN(naming)
	case mdlBracketed[class]:
		return parentDN + "/" + mdlRNPrefix[class] + "[" + naming + "]"
	}
	return parentDN + "/" + mdlRNPrefix[class] + naming
}

// mdlNodeLocalDN is the node-local copy (svc-policyelem) of a policy DN; faults
// raised there are delegated and belong to no tenant even when path embeds one.
func mdlNodeLocalDN(pod, node int, path string) string {
	return mdlNodeDN(pod, node) + "/local/svc-policyelem-id-0/" + path
}

// mdlStPathIssuesDN is where a static-path deployment failure of an EPG is raised
// (F0467): under uni/epp of the node, with the EPG DN in brackets.
func mdlStPathIssuesDN(pod, node, port int, epgDN string) string {
	return mdlNodeLocalDN(pod, node, fmt.Sprintf("uni/epp/fv-[%s]/node-%d/stpathatt-[eth1/%d]/nwissues", epgDN, node, port))
}

// mdlQosRtDN is the tenant-common back-relation from the default custom QoS
// policy to a consumer EPG of any tenant; it belongs to tenant common (§7, §8.19).
func mdlQosRtDN(pol, epgDN string) string {
	return mdlTenantDN("common") + "/qoscustom-" + pol + "/rtfvCustQosPol-[" + epgDN + "]"
}

// mdlLastRN splits dn into its parent DN and last RN, bracket-aware.
func mdlLastRN(dn string) (parent, rn string) {
	depth := 0
	for i := len(dn) - 1; i >= 0; i-- {
		switch dn[i] {
		case ']':
			depth++
		case '[':
			if depth > 0 {
				depth--
			}
		case '/':
			if depth == 0 {
				return dn[:i], dn[i+1:]
			}
		}
	}
	return "", dn
}

// mdlNamingValue returns the naming value of rn ("BD-web" → "web",
// "subnet-[10.1.2.1/24]" → "10.1.2.1/24").
func mdlNamingValue(rn string) string {
	_, v, ok := strings.Cut(rn, "-")
	if !ok {
		return ""
	}
	if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
		v = v[1 : len(v)-1]
	}
	return v
}

// mdlSystemObjects are the objects every APIC has from day one; the churn
// never deletes them.
var mdlSystemObjects = []struct{ Class, DN string }{
	{"fvTenant", "uni/tn-common"},
	{"fvCtx", "uni/tn-common/ctx-default"},
	{"fvCtx", "uni/tn-common/ctx-copy"},
	{"fvBD", "uni/tn-common/BD-default"},
	{"vzBrCP", "uni/tn-common/brc-default"},
	{"fvTenant", "uni/tn-infra"},
	{"fvCtx", "uni/tn-infra/ctx-overlay-1"},
	{"fvCtx", "uni/tn-infra/ctx-ave-ctrl"},
	{"fvBD", "uni/tn-infra/BD-default"},
	{"fvBD", "uni/tn-infra/BD-ave-ctrl"},
	{"fvAp", "uni/tn-infra/ap-access"},
	{"fvAEPg", "uni/tn-infra/ap-access/epg-default"},
	{"vzBrCP", "uni/tn-infra/brc-default"},
	{"fvTenant", "uni/tn-mgmt"},
	{"fvCtx", "uni/tn-mgmt/ctx-oob"},
	{"fvCtx", "uni/tn-mgmt/ctx-inb"},
	{"fvBD", "uni/tn-mgmt/BD-inb"},
}

var mdlSystemSet = func() map[string]bool {
	m := make(map[string]bool, len(mdlSystemObjects))
	for _, o := range mdlSystemObjects {
		m[o.DN] = true
	}
	return m
}()

// mdlIsSystemDN reports whether dn is one of mdlSystemObjects.
func mdlIsSystemDN(dn string) bool { return mdlSystemSet[dn] }

// Word lists for realistic names.
var (
	mdlOrgs   = []string{"acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka", "tyrell", "cyberdyne", "soylent", "aperture", "vandelay", "oscorp"}
	mdlEnvs   = []string{"prod", "dev", "qa", "stage", "uat", "dr", "lab", "test"}
	mdlApps   = []string{"billing", "crm", "erp", "payroll", "portal", "hr", "analytics", "inventory", "shop", "mail", "iot", "video", "voip", "sap", "ci", "monitoring"}
	mdlTiers  = []string{"web", "app", "db", "cache", "mq", "lb", "api", "auth", "k8s-nodes", "backup", "storage", "vmotion", "dmz", "batch", "etl", "search", "log"}
	mdlPeers  = []string{"core", "wan", "inet", "mpls", "fw", "dci", "campus", "cloud"}
	mdlOUIs   = []string{"00:50:56", "00:0C:29", "52:54:00", "00:15:5D", "F8:BC:12", "3C:FD:FE", "00:25:B5", "A4:BF:01"}
	mdlDescrs = []string{"", "Managed by Terraform", "created by ansible", "PCI scope", "migrated from legacy DC", "owner: netops", "change CHG0041234", "do not delete", "shared services", "temporary - review Q3"}
	mdlUIDs   = []string{"15374", "15374", "16078", "15001", "0"}
	mdlDSCP   = []string{"unspecified", "unspecified", "unspecified", "AF11", "AF21", "AF31", "AF41", "CS3", "EF"}
	mdlPrios  = []string{"unspecified", "unspecified", "level1", "level2", "level3"}
)

func mdlPick(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }

// mdlPickOther returns an element of list different from cur (list needs two
// distinct values).
func mdlPickOther(r *rand.Rand, list []string, cur string) string {
	for {
		if v := mdlPick(r, list); v != cur {
			return v
		}
	}
}

// mdlName returns a naming value for a new object of class, unique for each id
// (the id is part of the value; MACs and subnets scramble it).
func mdlName(r *rand.Rand, class string, id uint64) string {
	s := strconv.FormatUint(id, 36)
	switch class {
	case "fvTenant":
		return mdlPick(r, mdlOrgs) + "-" + mdlPick(r, mdlEnvs) + "-" + s
	case "fvAp":
		return mdlPick(r, mdlApps) + "-" + s
	case "fvAEPg":
		return mdlPick(r, mdlTiers) + "-" + s
	case "fvBD":
		return mdlPick(r, mdlTiers) + "_bd_" + s
	case "fvCtx":
		return "vrf-" + mdlPick(r, mdlEnvs) + "-" + s
	case "vzBrCP":
		return mdlPick(r, mdlTiers) + "-to-" + mdlPick(r, mdlTiers) + "-" + s
	case "l3extOut":
		return "l3out-" + mdlPick(r, mdlPeers) + "-" + s
	case "fvCEp":
		return mdlMAC(id)
	case "fvSubnet":
		return mdlSubnetIP(id)
	}
	return "obj-" + s
}

// mdlMAC maps id to a vendor-looking MAC; injective for id < 2^27.
func mdlMAC(id uint64) string {
	h := (id * 0x2545F491) & (1<<27 - 1) // odd multiplier: a bijection mod 2^27
	return fmt.Sprintf("%s:%02X:%02X:%02X", mdlOUIs[h>>24], (h>>16)&0xff, (h>>8)&0xff, h&0xff)
}

// mdlSubnetIP maps id to a gateway/prefix; injective for id < 2^16.
func mdlSubnetIP(id uint64) string {
	h := (id * 0x9E37) & 0xffff // odd multiplier: a bijection mod 2^16
	return fmt.Sprintf("10.%d.%d.1/24", h>>8, h&0xff)
}

func mdlHostIP(r *rand.Rand) string {
	return fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), 2+r.IntN(250))
}

func mdlFabricPath(r *rand.Rand) string {
	leaf := 101 + r.IntN(16)
	if r.IntN(3) == 0 {
		leaf -= (leaf - 101) % 2 // vPC pairs are (101,102), (103,104), ...
		return fmt.Sprintf("topology/pod-1/protpaths-%d-%d/pathep-[vpc-%s-%02d]", leaf, leaf+1, mdlPick(r, []string{"esx", "srv", "ucs", "bm"}), 1+r.IntN(40))
	}
	return fmt.Sprintf("topology/pod-1/paths-%d/pathep-[eth1/%d]", leaf, 1+r.IntN(48))
}

func mdlEncap(r *rand.Rand) string { return "vlan-" + strconv.Itoa(100+r.IntN(3900)) }

func mdlBool(r *rand.Rand, pTrue float64) string {
	if r.Float64() < pTrue {
		return "yes"
	}
	return "no"
}

// newAttrs returns the full attribute set of a new object of class at dn,
// without dn, status, rn and childAction (the store adds those). faultInst gets
// modTs "never" and uses modTs as its created/lastTransition time.
func newAttrs(r *rand.Rand, class, dn string, modTs string) map[string]string {
	_, rn := mdlLastRN(dn)
	naming := mdlNamingValue(rn)
	switch class {
	case "faultInst":
		return mdlFaultAttrs(r, dn, naming, modTs)
	case "fabricNode", "topSystem", "l1PhysIf", "ethpmPhysIf", "bgpPeerEntry", "ospfAdjEp", "healthInst", "fabricHealthTotal":
		return mdlStateAttrs(class, dn, modTs)
	}
	uid := mdlPick(r, mdlUIDs)
	annotation := ""
	if r.IntN(5) == 0 {
		annotation = "orchestrator:terraform"
	}
	if mdlIsSystemDN(dn) {
		uid, annotation = "0", ""
	}
	descr := ""
	if r.IntN(3) == 0 {
		descr = mdlPick(r, mdlDescrs)
	}
	a := map[string]string{
		"annotation": annotation,
		"descr":      descr,
		"extMngdBy":  "",
		"lcOwn":      "local",
		"modTs":      modTs,
		"monPolDn":   "uni/tn-common/monepg-default",
		"name":       naming,
		"nameAlias":  "",
		"ownerKey":   "",
		"ownerTag":   "",
		"uid":        uid,
	}
	switch class {
	case "fvTenant":
		// The common set is the whole of fvTenant.
	case "fvAp":
		a["prio"] = mdlPick(r, mdlPrios)
	case "fvAEPg":
		delete(a, "ownerKey")
		delete(a, "ownerTag")
		a["configIssues"] = ""
		a["configSt"] = "applied"
		a["exceptionTag"] = ""
		a["floodOnEncap"] = "disabled"
		a["fwdCtrl"] = ""
		a["hasMcastSource"] = "no"
		a["isAttrBasedEPg"] = "no"
		a["isSharedSrvMsiteEPg"] = "no"
		a["matchT"] = "AtleastOne"
		a["pcEnfPref"] = "unenforced"
		a["pcTag"] = strconv.Itoa(16386 + r.IntN(32000))
		a["prefGrMemb"] = "exclude"
		a["prio"] = mdlPick(r, mdlPrios)
		a["scope"] = strconv.Itoa(2097152 + r.IntN(1<<20))
		a["shutdown"] = "no"
		a["triggerSt"] = "triggerable"
		a["txId"] = strconv.FormatUint(1152921504606846976+r.Uint64N(1<<40), 10)
	case "fvBD":
		routed := r.IntN(5) != 0
		a["OptimizeWanBandwidth"] = "no"
		a["arpFlood"] = mdlBool(r, 0.4)
		a["bcastP"] = fmt.Sprintf("225.%d.%d.%d", r.IntN(256), r.IntN(256), 16*r.IntN(16))
		a["configIssues"] = ""
		a["epClear"] = "no"
		a["epMoveDetectMode"] = ""
		a["hostBasedRouting"] = "no"
		a["intersiteBumTrafficAllow"] = "no"
		a["intersiteL2Stretch"] = "no"
		a["ipLearning"] = "yes"
		a["ipv6McastAllow"] = "no"
		a["limitIpLearnToSubnets"] = "yes"
		a["llAddr"] = "::"
		a["mac"] = "00:22:BD:F8:19:FF"
		a["mcastAllow"] = "no"
		a["mtu"] = "inherit"
		a["multiDstPktAct"] = "bd-flood"
		a["pcTag"] = strconv.Itoa(16386 + r.IntN(32000))
		a["scope"] = strconv.Itoa(2097152 + r.IntN(1<<20))
		a["seg"] = strconv.Itoa(15000000 + r.IntN(1<<20))
		a["type"] = "regular"
		a["unicastRoute"] = "yes"
		a["unkMacUcastAct"] = "proxy"
		a["unkMcastAct"] = "flood"
		a["v6unkMcastAct"] = "flood"
		a["vmac"] = "not-applicable"
		if !routed {
			a["arpFlood"], a["unicastRoute"], a["unkMacUcastAct"] = "yes", "no", "flood"
		}
	case "fvCtx":
		a["bdEnforcedEnable"] = "no"
		a["ipDataPlaneLearning"] = "enabled"
		a["knwMcastAct"] = "permit"
		a["pcEnfDir"] = "ingress"
		a["pcEnfPref"] = "enforced"
		if r.IntN(6) == 0 {
			a["pcEnfPref"] = "unenforced"
		}
		a["pcTag"] = strconv.Itoa(16386 + r.IntN(32000))
		a["scope"] = strconv.Itoa(2097152 + r.IntN(1<<20))
		a["seg"] = a["scope"]
		a["vrfId"] = "0"
		a["vrfIndex"] = "0"
	case "fvSubnet":
		delete(a, "ownerKey")
		delete(a, "ownerTag")
		a["name"] = ""
		a["ctrl"] = mdlPick(r, []string{"nd", "nd", "", "querier"})
		a["ip"] = naming
		a["ipDPLearning"] = "enabled"
		a["preferred"] = "no"
		a["scope"] = mdlPick(r, []string{"private", "private", "public", "public,shared"})
		a["virtual"] = "no"
	case "vzBrCP":
		a["configIssues"] = ""
		if r.IntN(8) == 0 {
			a["configIssues"] = "filter-not-present"
		}
		a["prio"] = mdlPick(r, mdlPrios)
		a["reevaluateAll"] = "no"
		a["scope"] = mdlPick(r, []string{"context", "context", "context", "tenant", "global", "application-profile"})
		a["targetDscp"] = mdlPick(r, mdlDSCP)
	case "l3extOut":
		a["enforceRtctrl"] = "export"
		a["mplsEnabled"] = "no"
		a["targetDscp"] = mdlPick(r, mdlDSCP)
	case "fvCEp":
		delete(a, "ownerKey")
		delete(a, "ownerTag")
		a["annotation"] = ""
		a["contName"] = ""
		a["descr"] = ""
		a["encap"] = mdlEncap(r)
		a["fabricPathDn"] = mdlFabricPath(r)
		a["hostingServer"] = ""
		a["id"] = "0"
		a["idepdn"] = ""
		a["ip"] = mdlHostIP(r)
		a["lcC"] = "learned"
		a["mac"] = naming
		a["mcastAddr"] = "not-applicable"
		a["reportingControllerName"] = ""
		a["uid"] = "0"
		a["uuid"] = ""
		a["vmmSrc"] = ""
		if r.IntN(2) == 0 {
			a["lcC"] = "learned,vmm"
			a["hostingServer"] = fmt.Sprintf("esx-%02d.dc1.example.net", 1+r.IntN(64))
			a["reportingControllerName"] = "vcenter-dc1"
			a["vmmSrc"] = "vmware"
		}
	}
	return a
}

// mdlFaultKind is the static part of a fault code's attributes.
type mdlFaultKind struct {
	sev, cause, rule, typ, domain, subject string
}

// mdlFaultKinds covers every fault code the churn raises. F0104, F1123 and
// F1295 follow captured payloads; the others are plausible renderings of real
// codes (F1386 is fltFvBDNoOptArpFwdWithUnkMacFlood in the APIC model; F1394,
// a fabric port down, is one the pollers alert on; F0110 for an unreachable
// node is a guess). sev is the severity a fault is raised with.
var mdlFaultKinds = map[string]mdlFaultKind{
	"F0104": {"critical", "operational-state-down", "cnw-aggr-if-down", "operational", "infra", "equipment"},
	"F0110": {"critical", "node-failed", "fabric-node-failed", "operational", "infra", "fabric-node"},
	"F0299": {"major", "protocol-down", "bgp-peer-not-established", "operational", "infra", "protocol-bgp"},
	"F0467": {"minor", "configuration-failed", "fv-nw-issues-config-failed", "config", "tenant", "management"},
	"F0532": {"warning", "interface-physical-down", "ethpm-if-port-down-infra-epg", "communications", "access", "port-down"},
	"F0546": {"minor", "port-down-no-infra", "ethpm-if-port-down-no-infra-epg", "communications", "access", "port-down"},
	"F1123": {"warning", "resolution-failed", "relation-resolve-fail", "config", "infra", "relation-resolution"},
	"F1234": {"warning", "resolution-failed", "qos-custom-pol-resolve-fail", "config", "tenant", "qos"},
	"F1295": {"minor", "configuration-failed", "datetime-conf-issues-config-failed", "config", "infra", "management"},
	"F1386": {"minor", "configuration-failed", "fv-bdno-opt-arp-fwd-with-unk-mac-flood", "config", "tenant", "bd-config"},
	"F1394": {"major", "interface-physical-down", "ethpm-if-port-down-fabric", "communications", "infra", "port-down"},
	"F1527": {"warning", "equipment-full", "eqpt-storage-full", "operational", "infra", "equipment-full"},
	"F1690": {"minor", "configuration-failed", "fv-aepg-configuration-failed", "config", "tenant", "epg"},
}

var (
	mdlNodeRE    = regexp.MustCompile(`/node-(\d+)`)
	mdlEthRE     = regexp.MustCompile(`eth(\d+/\d+)`)
	mdlBracketRE = regexp.MustCompile(`\[([^\[\]]*)\]`)
	mdlEppRE     = regexp.MustCompile(`fv-\[([^\]]*)\]`)
)

func mdlFirstMatch(re *regexp.Regexp, s string) string {
	if m := re.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}

// mdlFaultAttrs is newAttrs for faultInst: DN <affected>/fault-<code>.
func mdlFaultAttrs(r *rand.Rand, dn, code, ts string) map[string]string {
	affected, _ := mdlLastRN(dn)
	k, ok := mdlFaultKinds[code]
	if !ok {
		k = mdlFaultKind{"warning", "unknown", "generic-fault", "operational", "infra", "generic"}
	}
	node := mdlFirstMatch(mdlNodeRE, affected)
	port := "eth" + mdlFirstMatch(mdlEthRE, affected)
	_, lastRN := mdlLastRN(affected)
	rule, descr, changeSet := k.rule, "", ""
	switch code {
	case "F0104":
		descr = fmt.Sprintf("Bond Interface po1.1 on node %s of fabric ACI Fabric1 with hostname apic%s is now down", node, node)
		changeSet = "operSt (Old: up, New: down)"
	case "F0299":
		peer := mdlFirstMatch(mdlBracketRE, affected)
		descr = fmt.Sprintf("BGP peer %s is not established, current state %s", strings.TrimSuffix(peer, "/32"), mdlPick(r, []string{"Idle", "Active", "Connect"}))
		changeSet = "operSt (Old: established, New: idle)"
	case "F0467":
		epg := mdlFirstMatch(mdlEppRE, affected)
		descr = fmt.Sprintf("Configuration failed for %s node %s %s due to Invalid Path Configuration, debug message: invalid-path: Either the EpG is not associated with a domain or the domain does not have this interface assigned to it", epg, node, port)
		changeSet = "configQual:invalid-path, configSt:failed-to-apply, temporaryError:no"
	case "F0532":
		reason := mdlPick(r, []string{"sfp-missing", "link-not-connected", "err-disabled-link-flaps", "suspended-no-lacp-pdus"})
		descr = fmt.Sprintf("Port is down, reason:%s(notconnect), used by:EPG, lastLinkStChg:%s, operStQual:%s", reason, ts, reason)
		changeSet = "lastLinkStChg (New: " + ts + "), operSt (Old: up, New: down), operStQual (Old: none, New: " + reason + ")"
	case "F1394":
		descr = fmt.Sprintf("Port is down, reason:link-failure(down), used by:Fabric, lastLinkStChg:%s, operStQual:link-failure", ts)
		changeSet = "lastLinkStChg (New: " + ts + "), operSt (Old: up, New: down), operStQual (Old: none, New: link-failure)"
	case "F0110":
		descr = fmt.Sprintf("Node %s not reachable. unknown", mdlFirstMatch(mdlNodeRE, dn))
		changeSet = "fabricSt (Old: active, New: inactive)"
	case "F0546":
		descr = fmt.Sprintf("Port is down, reason:%s(notconnect), used by:Discovery", mdlPick(r, []string{"sfp-missing", "link-not-connected"}))
		changeSet = "operSt (Old: up, New: down)"
	case "F1123":
		target, class := "", ""
		tn := splitDN(affected)
		tenant := "common"
		if len(tn) > 1 {
			tenant = mdlNamingValue(tn[1])
		}
		switch {
		case strings.HasPrefix(lastRN, "rscons-"):
			target, class, rule = mdlContractDN(tenant, mdlNamingValue(lastRN)), "vzBrCP", "fv-rs-cons-resolve-fail"
		case strings.HasPrefix(lastRN, "rssubjFiltAtt-"):
			target, class, rule = mdlTenantDN(tenant)+"/flt-"+mdlNamingValue(lastRN), "vzFilter", "vz-rs-subj-filt-att-resolve-fail"
		default:
			target, class, rule = mdlCtxDN(tenant, "vrf-"+mdlPick(r, mdlEnvs)), "fvCtx", "l3ext-rs-ectx-resolve-fail"
		}
		descr = fmt.Sprintf("Failed to form relation to MO %s of class %s", target, class)
		changeSet = "state (Old: formed, New: missing-target)"
	case "F1234":
		descr = fmt.Sprintf("Custom QoS policy default could not be applied to %s", mdlNamingValue(lastRN))
		changeSet = "state (Old: formed, New: missing-target)"
	case "F1295":
		descr = "Datetime Policy Configuration for default  failed due to : access-epp-is-not-available"
		changeSet = "configQual:access-epp-is-not-available, configSt:failed-to-apply"
	case "F1386":
		descr = fmt.Sprintf("BD %s has unknown unicast flooding enabled without ARP flooding", mdlNamingValue(lastRN))
		changeSet = "arpFlood:no, unkMacUcastAct:flood"
	case "F1527":
		descr = fmt.Sprintf("Storage unit /firmware on Node %s with hostname apic%s mounted at /firmware is %d%% full", node, node, 75+r.IntN(15))
		changeSet = "capUtilized (Old: 70, New: 81)"
	case "F1690":
		descr = "Configuration is invalid due to ID allocation failure"
		changeSet = "configQual:invalid-vlan, configSt:failed-to-apply"
	default:
		descr = "Fault " + code + " raised on " + affected
	}
	delegated := "no"
	if strings.Contains(affected, "/local/svc-policyelem-id-0/") {
		delegated = "yes"
	}
	lc := "soaking"
	if r.IntN(5) == 0 {
		lc = "raised"
	}
	return map[string]string{
		"ack":             "no",
		"alert":           "no",
		"cause":           k.cause,
		"changeSet":       changeSet,
		"code":            code,
		"created":         ts,
		"delegated":       delegated,
		"descr":           descr,
		"domain":          k.domain,
		"highestSeverity": k.sev,
		"lastTransition":  ts,
		"lc":              lc,
		"modTs":           "never",
		"occur":           "1",
		"origSeverity":    k.sev,
		"prevSeverity":    k.sev,
		"rule":            rule,
		"severity":        k.sev,
		"subject":         k.subject,
		"title":           "",
		"type":            k.typ,
	}
}

// mutateAttrs returns the attributes a realistic modification of an object of
// class with current attributes cur changes (never modTs). Every returned value
// differs from cur. It returns nil when the object cannot change any further:
// a retaining fault, whose next step is deletion.
//
// faultInst follows the APIC lifecycle soaking → raised → raised-clearing →
// retaining (or soaking → soaking-clearing → retaining; a clearing fault may
// return to soaking or raised, which increments occur, and a raised one may
// be escalated, de-escalated or acknowledged). Severity is "cleared" in
// retaining only. lastTransition moves forward from its current value by a
// plausible interval on every step but an acknowledgement; a caller with a
// clock may overwrite it.
func mutateAttrs(r *rand.Rand, class string, cur map[string]string) map[string]string {
	if class == "faultInst" {
		return mdlMutateFault(r, cur)
	}
	ch := map[string]string{}
	set := func(k, v string) {
		if cur[k] != v {
			ch[k] = v
		}
	}
	if class == "fvCEp" {
		switch n := r.IntN(10); {
		case n < 4: // IP move
			set("ip", mdlHostIP(r))
		case n < 8: // endpoint moved to another port or leaf
			set("fabricPathDn", mdlFabricPath(r))
		case n < 9:
			set("encap", mdlEncap(r))
		default:
			if cur["lcC"] == "learned" {
				set("lcC", "learned,vmm")
				set("vmmSrc", "vmware")
				set("hostingServer", fmt.Sprintf("esx-%02d.dc1.example.net", 1+r.IntN(64)))
				set("reportingControllerName", "vcenter-dc1")
			} else {
				set("lcC", "learned")
				set("vmmSrc", "")
				set("hostingServer", "")
				set("reportingControllerName", "")
			}
		}
		if len(ch) == 0 {
			set("ip", mdlHostIP(r))
		}
		return ch
	}
	for len(ch) == 0 {
		switch n := r.IntN(10); {
		case n < 3:
			set("descr", mdlPickOther(r, mdlDescrs, cur["descr"]))
		case n < 4:
			if cur["nameAlias"] == "" {
				set("nameAlias", strings.ToUpper(mdlPick(r, mdlEnvs))+"_"+strings.ReplaceAll(cur["name"], ":", "_"))
			} else {
				set("nameAlias", "")
			}
		case n < 5:
			if cur["annotation"] == "" {
				set("annotation", "orchestrator:terraform")
			} else {
				set("annotation", "")
			}
		default:
			mdlMutateClass(r, class, cur, set)
		}
	}
	return ch
}

// mdlMutateClass applies one class-specific change through set.
func mdlMutateClass(r *rand.Rand, class string, cur map[string]string, set func(k, v string)) {
	toggle := func(k string) {
		if cur[k] == "yes" {
			set(k, "no")
		} else {
			set(k, "yes")
		}
	}
	switch class {
	case "fvAp":
		set("prio", mdlPickOther(r, mdlPrios, cur["prio"]))
	case "fvAEPg":
		switch r.IntN(4) {
		case 0:
			set("pcEnfPref", map[bool]string{true: "unenforced", false: "enforced"}[cur["pcEnfPref"] == "enforced"])
		case 1:
			set("prefGrMemb", map[bool]string{true: "exclude", false: "include"}[cur["prefGrMemb"] == "include"])
		case 2:
			set("floodOnEncap", map[bool]string{true: "disabled", false: "enabled"}[cur["floodOnEncap"] == "enabled"])
		default:
			set("prio", mdlPickOther(r, mdlPrios, cur["prio"]))
		}
	case "fvBD":
		switch r.IntN(4) {
		case 0:
			toggle("arpFlood")
		case 1:
			if cur["unicastRoute"] == "yes" {
				set("unicastRoute", "no")
				set("unkMacUcastAct", "flood")
				set("arpFlood", "yes")
			} else {
				set("unicastRoute", "yes")
				set("unkMacUcastAct", "proxy")
			}
		case 2:
			toggle("limitIpLearnToSubnets")
		default:
			toggle("epClear")
		}
	case "fvCtx":
		if r.IntN(2) == 0 {
			set("pcEnfPref", map[bool]string{true: "unenforced", false: "enforced"}[cur["pcEnfPref"] == "enforced"])
		} else {
			toggle("bdEnforcedEnable")
		}
	case "fvSubnet":
		switch r.IntN(3) {
		case 0:
			set("scope", mdlPickOther(r, []string{"private", "public", "public,shared", "private,shared"}, cur["scope"]))
		case 1:
			toggle("preferred")
		default:
			set("ctrl", mdlPickOther(r, []string{"nd", "", "querier", "no-default-gateway"}, cur["ctrl"]))
		}
	case "vzBrCP":
		switch r.IntN(4) {
		case 0:
			set("scope", mdlPickOther(r, []string{"context", "tenant", "global", "application-profile"}, cur["scope"]))
		case 1:
			set("prio", mdlPickOther(r, mdlPrios, cur["prio"]))
		case 2:
			set("targetDscp", mdlPickOther(r, mdlDSCP, cur["targetDscp"]))
		default:
			if cur["configIssues"] == "" {
				set("configIssues", "filter-not-present")
			} else {
				set("configIssues", "")
			}
		}
	case "l3extOut":
		if r.IntN(2) == 0 {
			set("targetDscp", mdlPickOther(r, mdlDSCP, cur["targetDscp"]))
		} else {
			set("enforceRtctrl", mdlPickOther(r, []string{"export", "export,import"}, cur["enforceRtctrl"]))
		}
	default: // fvTenant and unknown classes: description only
		set("descr", mdlPickOther(r, mdlDescrs, cur["descr"]))
	}
}

// mdlSeverities orders fault severities, least severe first.
var mdlSeverities = []string{"cleared", "info", "warning", "minor", "major", "critical"}

// mdlSevRank is a severity's place in mdlSeverities (-1: unknown).
func mdlSevRank(sev string) int { return slices.Index(mdlSeverities, sev) }

// mdlSevUp is the next severity up, "" above critical or for cleared.
func mdlSevUp(sev string) string {
	if i := mdlSevRank(sev); i > 0 && i+1 < len(mdlSeverities) {
		return mdlSeverities[i+1]
	}
	return ""
}

// mdlSevDown is the next severity down of an escalated fault, never below
// the one it was raised with; "" when it is not above that.
func mdlSevDown(cur map[string]string) string {
	if i := mdlSevRank(cur["severity"]); i > 1 && i > mdlSevRank(cur["origSeverity"]) {
		return mdlSeverities[i-1]
	}
	return ""
}

// mdlFaultEscalate sets the changes that move a fault to severity sev
// (de-escalate it, when sev is lower).
func mdlFaultEscalate(cur, ch map[string]string, sev string) {
	ch["severity"] = sev
	if cur["prevSeverity"] != cur["severity"] {
		ch["prevSeverity"] = cur["severity"]
	}
	if mdlSevRank(sev) > mdlSevRank(cur["highestSeverity"]) {
		ch["highestSeverity"] = sev
	}
}

// mdlFaultRetain sets the changes that move a fault to retaining: its
// severity is cleared, the one it had kept in prevSeverity.
func mdlFaultRetain(cur, ch map[string]string) {
	ch["lc"] = "retaining"
	mdlFaultEscalate(cur, ch, "cleared")
}

// mdlFaultRecur sets the changes of a clearing fault whose condition came
// back: to lc again, one more occurrence.
func mdlFaultRecur(cur, ch map[string]string, lc string) {
	ch["lc"] = lc
	n, _ := strconv.Atoi(cur["occur"])
	ch["occur"] = strconv.Itoa(n + 1)
}

// mdlMutateFault advances a fault one lifecycle step, as the APIC's fault
// guide describes the states: a clearing fault keeps its severity and
// returns to soaking or raised if its condition comes back; a raised fault
// may be escalated, de-escalated back towards the severity it was raised
// with, or acknowledged (ack yes, lastTransition kept); only retaining
// clears the severity.
func mdlMutateFault(r *rand.Rand, cur map[string]string) map[string]string {
	ch := map[string]string{}
	var after time.Duration
	switch cur["lc"] {
	case "soaking":
		if r.IntN(6) == 0 {
			ch["lc"] = "soaking-clearing"
		} else {
			ch["lc"] = "raised"
		}
		after = 120 * time.Second // default soaking interval
	case "soaking-clearing":
		if r.IntN(5) == 0 {
			mdlFaultRecur(cur, ch, "soaking")
		} else {
			mdlFaultRetain(cur, ch)
		}
		after = 120 * time.Second // default clearing interval
	case "raised":
		switch up, down := mdlSevUp(cur["severity"]), mdlSevDown(cur); {
		case up != "" && r.IntN(6) == 0:
			mdlFaultEscalate(cur, ch, up)
		case down != "" && r.IntN(3) == 0:
			mdlFaultEscalate(cur, ch, down)
		case cur["ack"] == "no" && r.IntN(8) == 0:
			ch["ack"] = "yes" // an operator acknowledges it: no lifecycle step
			return ch
		default:
			ch["lc"] = "raised-clearing"
		}
		after = time.Duration(1+r.IntN(240)) * time.Minute
	case "raised-clearing":
		if r.IntN(5) == 0 {
			mdlFaultRecur(cur, ch, "raised")
		} else {
			mdlFaultRetain(cur, ch)
		}
		after = 120 * time.Second
	default: // retaining (next step: deletion) or unknown
		return nil
	}
	if t, err := time.Parse(mdlTimeLayout, cur["lastTransition"]); err == nil {
		ch["lastTransition"] = apicTime(t.Add(after + time.Duration(r.IntN(1000))*time.Millisecond))
	}
	return ch
}
