package apicsim

// DNs and attributes of the fabric-state classes: fabricNode, topSystem,
// l1PhysIf, ethpmPhysIf, bgpPeerEntry, ospfAdjEp, healthInst and
// fabricHealthTotal (state-classes.md). Attribute sets follow published
// APIC answers; the operational objects the switches own (ethpmPhysIf,
// bgpPeerEntry, ospfAdjEp) and the health scores keep modTs "never" as in
// those answers and stamp their own times (lastLinkStChg, lastFlapTs,
// updTs); fabricNode, topSystem and l1PhysIf carry a modTs that moves.

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// mdlSwitchReleases is the switches' release train, oldest first. Every
// switch starts on the first; an upgrade (statechurn.go) moves a leaf to
// the next, and from the last back to the first, so a churn that runs for
// hours keeps upgrading.
var mdlSwitchReleases = []string{"n9000-15.2(7g)", "n9000-15.2(8d)", "n9000-15.2(8e)", "n9000-15.3(2c)", "n9000-16.0(3e)"}

// mdlNextRelease is the release an upgrade takes a switch on cur to.
func mdlNextRelease(cur string) string {
	i := slices.Index(mdlSwitchReleases, cur) // -1, unknown: the first
	return mdlSwitchReleases[(i+1)%len(mdlSwitchReleases)]
}

const (
	mdlAPICVersion = "5.2(7g)"
	// mdlNeverTs is lastLinkStChg of a port whose link never came up.
	mdlNeverTs = "1970-01-01T00:00:00.000+00:00"
)

func mdlPhysIfDN(pod, node int, port string) string {
	return fmt.Sprintf("%s/sys/phys-[%s]", mdlNodeDN(pod, node), port)
}

func mdlBGPPeerEntryDN(pod, node int, dom, addr string) string {
	return fmt.Sprintf("%s/sys/bgp/inst/dom-%s/peer-[%s/32]/ent-[%s]", mdlNodeDN(pod, node), dom, addr, addr)
}

func mdlOSPFAdjDN(pod, node int, dom, ifID, rtrID string) string {
	return fmt.Sprintf("%s/sys/ospf/inst-default/dom-%s/if-[%s]/adj-%s", mdlNodeDN(pod, node), dom, ifID, rtrID)
}

func mdlHealthDN(ownerDN string) string { return ownerDN + "/health" }
func mdlPodHealthDN(pod int) string     { return fmt.Sprintf("topology/pod-%d/health", pod) }

const mdlFabricHealthDN = "topology/health"

// mdlAgo is now minus a stable, object-specific 1 to 400 days.
func mdlAgo(now time.Time, h uint64) time.Time {
	return now.Add(-time.Duration(24+h%(400*24)) * time.Hour).Add(-time.Duration(h>>20%3600000) * time.Millisecond)
}

// mdlUpTime formats a duration as topSystem.systemUpTime: DD:HH:MM:SS.mmm.
func mdlUpTime(d time.Duration) string {
	ms := d.Milliseconds()
	return fmt.Sprintf("%02d:%02d:%02d:%02d.%03d", ms/86400000, ms/3600000%24, ms/60000%60, ms/1000%60, ms%1000)
}

func (n *topoNode) serial() string {
	h := mdlHash(uint64(n.id) * 7919)
	prefix := "FDO"
	if n.role == "controller" {
		prefix = "WZP"
	}
	return fmt.Sprintf("%s2%d%02d%04X", prefix, h%5, 1+(h>>4)%52, h>>12&0xffff)
}

func (n *topoNode) model() string {
	switch {
	case n.role == "controller":
		return "APIC-SERVER-M3"
	case n.role == "spine" && len(n.ports) > 64:
		return "N9K-C9508"
	case n.role == "spine":
		return "N9K-C9364C"
	case mdlHash(uint64(n.id))%3 == 0:
		return "N9K-C93180YC-EX"
	}
	return "N9K-C93180YC-FX"
}

func (n *topoNode) version() string {
	if n.role == "controller" {
		return mdlAPICVersion
	}
	return mdlSwitchReleases[0]
}

func (n *topoNode) oob() string { return fmt.Sprintf("192.168.%d.%d", 10+n.id/200, 20+n.id%200) }

// bootTime is when the node last booted, before now.
func (n *topoNode) bootTime(now time.Time) time.Time { return mdlAgo(now, mdlHash(uint64(n.id)+1)) }

// fabricNodeAttrs: controllers report fabricSt "unknown", switches "active".
func fabricNodeAttrs(n *topoNode, now time.Time) map[string]string {
	st := "active"
	if n.role == "controller" {
		st = "unknown"
	}
	ts := apicTime(now)
	return map[string]string{
		"adSt": "on", "address": n.tep(), "annotation": "", "apicType": "apic", "delayedHeartbeat": "no",
		"extMngdBy": "", "fabricSt": st, "id": strconv.Itoa(n.id), "lastStateModTs": apicTime(n.bootTime(now)),
		"lcOwn": "local", "modTs": ts, "model": n.model(), "monPolDn": "uni/fabric/monfab-default",
		"name": n.name(), "nameAlias": "", "nodeType": "unspecified", "role": n.role, "serial": n.serial(),
		"uid": "0", "vendor": "Cisco Systems, Inc", "version": n.version(),
	}
}

func topSystemAttrs(n *topoNode, now time.Time) map[string]string {
	boot := n.bootTime(now)
	return map[string]string{
		"address": n.tep(), "bootstrapState": "none", "configIssues": "", "controlPlaneMTU": "9000",
		"enforceSubnetCheck": "no", "etepAddr": "0.0.0.0", "fabricDomain": "ACI Fabric1", "fabricId": "1",
		"fabricMAC": "00:22:BD:F8:19:FF", "id": strconv.Itoa(n.id), "inbMgmtAddr": "0.0.0.0", "inbMgmtAddr6": "::",
		"lastRebootTime": apicTime(boot), "lastResetReason": "unknown", "lcOwn": "local", "modTs": apicTime(now),
		"mode": "unspecified", "monPolDn": "uni/fabric/monfab-default", "name": n.name(), "nameAlias": "",
		"nodeType": "unspecified", "oobMgmtAddr": n.oob(), "oobMgmtAddr6": "::", "podId": strconv.Itoa(n.pod),
		"remoteNetworkId": "0", "remoteNode": "no", "role": n.role, "serial": n.serial(), "serverType": "unspecified",
		"siteId": "0", "state": "in-service", "systemUpTime": mdlUpTime(now.Sub(boot)),
		"tepPool": fmt.Sprintf("10.%d.0.0/16", n.pod-1), "version": n.version(), "virtualMode": "no",
	}
}

var mdlHosts = []string{"esx-%02d vmnic2", "esx-%02d vmnic3", "ucs-fi-a eth1/%d", "ucs-fi-b eth1/%d", "bm-db-%02d eno1", "fw-%02d port1", "lb-%02d 1.1", "nas-%02d e0a"}

func (p *topoPort) hash() uint64 { return mdlHash(uint64(p.node.id)<<20 | uint64(p.idNum())) }

// idNum folds the port id (eth1/49, eth3/12) into one number.
func (p *topoPort) idNum() int {
	var slot, port int
	fmt.Sscanf(p.id, "eth%d/%d", &slot, &port)
	return slot*1000 + port
}

func l1PhysIfAttrs(p *topoPort, now time.Time) map[string]string {
	a := map[string]string{
		"adminSt": "up", "autoNeg": "on", "brkoutMap": "none", "bw": "0", "delay": "1", "descr": "",
		"dot1qEtherType": "0x8100", "fecMode": "inherit", "id": p.id, "inhBw": "unspecified", "layer": "Layer2",
		"linkDebounce": "100", "linkLog": "default", "mdix": "auto", "medium": "broadcast", "modTs": apicTime(now),
		"mode": "trunk", "mtu": "9000", "name": "", "portT": "leaf", "prioFlowCtrl": "auto", "snmpTrapSt": "enable",
		"spanMode": "not-a-span-dest", "speed": "inherit", "switchingSt": "disabled", "trunkLog": "default",
		"usage": p.usage, "userCfgdFlags": "", "vlanScope": "global",
	}
	switch {
	case p.usage == "fabric":
		a["layer"], a["portT"], a["mtu"], a["speed"], a["switchingSt"] = "Layer3", "fabric", "9366", "100G", "enabled"
	case p.usage == "epg":
		h := p.hash()
		a["descr"] = fmt.Sprintf(mdlHosts[h%uint64(len(mdlHosts))], 1+h>>8%40)
		a["switchingSt"], a["userCfgdFlags"] = "enabled", "admin_state"
	case p.base == portAdminDown:
		a["adminSt"], a["userCfgdFlags"] = "down", "admin_state"
	}
	return a
}

func ethpmPhysIfAttrs(p *topoPort, now time.Time) map[string]string {
	h := p.hash()
	mon := "uni/infra/moninfra-default"
	if p.usage == "fabric" {
		mon = "uni/fabric/monfab-default"
	}
	a := map[string]string{
		"accessVlan": "unknown", "allowedVlans": "", "backplaneMac": fmt.Sprintf("00:DE:FB:%02X:%02X:%02X", h>>40&255, h>>32&255, h>>24&255),
		"bundleIndex": "unspecified", "diags": "none", "intfT": "phy", "iod": strconv.Itoa(p.idNum()%1000 + 4),
		"lastErrors": "0", "lastLinkStChg": mdlNeverTs, "modTs": "never", "monPolDn": mon, "nativeVlan": "unknown",
		"operDuplex": "auto", "operErrDisQual": "none", "operFecMode": "inherit", "operMode": "trunk",
		"operPhyEnSt": "down", "operSpeed": "inherit", "operSt": "down", "operStQual": p.base, "operVlans": "",
		"resetCtr": "0", "usage": p.usage,
	}
	switch p.base {
	case portUp:
		a["lastLinkStChg"] = apicTime(mdlAgo(now, h))
		a["operDuplex"], a["operPhyEnSt"], a["operSpeed"], a["operSt"], a["operStQual"] = "full", "up", p.speed, "up", "none"
		a["operFecMode"], a["resetCtr"] = "auto", strconv.Itoa(int(1+h%6))
		if p.usage == "epg" {
			vlans := fmt.Sprintf("%d-%d", 100+h%50*10, 109+h%50*10)
			a["allowedVlans"], a["operVlans"], a["nativeVlan"] = vlans, vlans, "vlan-1"
		}
	case portAdminDown:
		a["operErrDisQual"] = "admin-down"
	}
	return a
}

// bgpPeerEntryAttrs: an established session, or shut for an admin-shut peer.
func bgpPeerEntryAttrs(e *topoPeer, shut bool, now time.Time) map[string]string {
	h := mdlHash(uint64(e.node.id)<<32 | uint64(e.addrNum()))
	est := 1 + h%4
	a := map[string]string{
		"addr": e.addr, "advCap": "as4,dynamic,dynamic-gr,dynamic-mp,dynamic-refresh,gr,ipv4-ucast,l2vpn-evpn,refresh",
		"connAttempts": strconv.Itoa(int(est)), "connDrop": strconv.Itoa(int(est - 1)), "connEst": strconv.Itoa(int(est)),
		"connIf": e.connIf, "flags": "cap-neg,gr-enabled", "holdIntvl": "180", "kaIntvl": "60",
		"lastFlapTs": apicTime(mdlAgo(now, h)), "localIp": e.local, "localPort": strconv.Itoa(int(1024 + h>>16%60000)),
		"maxConnRetryIntvl": "60", "modTs": "never", "monPolDn": "uni/fabric/monfab-default", "name": "",
		"operSt": "established", "passwdSet": "disabled", "peerIdx": strconv.Itoa(int(1 + h>>8%64)),
		"prevOperSt": "openconfirm", "remotePort": e.port, "rtrId": e.rtrID, "shutStQual": "unspecified",
		"stReason": "none", "type": e.typ,
	}
	if e.typ == "ebgp" {
		a["advCap"] = "as4,dynamic,dynamic-refresh,ipv4-ucast,refresh"
		a["flags"] = "cap-neg,direct-connect"
	}
	if shut {
		a["operSt"], a["prevOperSt"], a["shutStQual"], a["advCap"] = "shut", "established", "admin", ""
		a["localIp"], a["localPort"], a["remotePort"], a["rtrId"] = "0.0.0.0", "unspecified", "unspecified", "0.0.0.0"
	}
	return a
}

func (e *topoPeer) addrNum() int {
	var a, b, c, d int
	fmt.Sscanf(e.addr, "%d.%d.%d.%d", &a, &b, &c, &d)
	return a<<24 | b<<16 | c<<8 | d
}

func ospfAdjEpAttrs(a *topoAdj) map[string]string {
	return map[string]string{
		"area": a.area, "bdrId": "0.0.0.0", "dbdSeqNum": strconv.Itoa(int(mdlHash(uint64(len(a.rtrID))+uint64(a.node.id)) % 1e9)),
		"drId": a.peer, "flags": "", "id": a.rtrID, "ifId": a.ifID, "modTs": "never", "monPolDn": "uni/fabric/monfab-default",
		"name": "", "operSt": "full", "peerIp": a.peer, "prio": "1",
	}
}

// healthAttrs is a health score first computed at now.
func healthAttrs(cur int, maxSev string, now time.Time) map[string]string {
	c := strconv.Itoa(cur)
	return map[string]string{"chng": "0", "cur": c, "maxSev": maxSev, "modTs": "never", "prev": c, "twScore": c, "updTs": apicTime(now)}
}

var (
	mdlPodNodeRE = regexp.MustCompile(`^topology/pod-(\d+)/node-(\d+)`)
	mdlLastBrRE  = regexp.MustCompile(`\[([^\[\]]*)\][^\[]*$`)
)

// mdlStateAttrs is newAttrs for the fabric-state classes, for an object
// known only by its DN (Populate builds them from the topology instead):
// the node and port come from the DN, the rest from stable defaults.
func mdlStateAttrs(class, dn, modTs string) map[string]string {
	now, err := time.Parse(mdlTimeLayout, modTs)
	if err != nil {
		now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	n := &topoNode{pod: 1, id: 101, role: "leaf"}
	if m := mdlPodNodeRE.FindStringSubmatch(dn); m != nil {
		n.pod, _ = strconv.Atoi(m[1])
		n.id, _ = strconv.Atoi(m[2])
		if n.id < 100 {
			n.role = "controller"
		}
	}
	last := mdlFirstMatch(mdlLastBrRE, dn)
	port := &topoPort{node: n, id: "eth1/1", usage: "epg", base: portUp, speed: "25G"}
	if mdlEthRE.MatchString(last) {
		port.id = last
	}
	switch class {
	case "fabricNode":
		return fabricNodeAttrs(n, now)
	case "topSystem":
		return topSystemAttrs(n, now)
	case "l1PhysIf":
		return l1PhysIfAttrs(port, now)
	case "ethpmPhysIf":
		return ethpmPhysIfAttrs(port, now)
	case "bgpPeerEntry":
		addr := last
		if addr == "" {
			addr = "10.0.64.201"
		}
		return bgpPeerEntryAttrs(&topoPeer{node: n, dom: "overlay-1", addr: addr, local: n.tep(), typ: "ibgp", rtrID: addr, connIf: "lo0", port: "179"}, false, now)
	case "ospfAdjEp":
		_, rn := mdlLastRN(dn)
		return ospfAdjEpAttrs(&topoAdj{node: n, dom: "common:default", ifID: "eth1/48", rtrID: mdlNamingValue(rn), peer: "172.30.0.2", area: "0.0.0.1"})
	}
	return healthAttrs(100, "cleared", now) // healthInst, fabricHealthTotal
}
