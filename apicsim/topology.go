package apicsim

// The fabric's physical side, built from a Profile alone (no randomness, so
// Populate and every later Churn see the same one): pods, controllers,
// spines and leaves, the leaves' ports and their fabric links to the
// spines, the MP-BGP sessions of the overlay, the L3Out peers of the border
// leaves and a few OSPF adjacencies. Sizes follow state-classes.md.

import (
	"fmt"
)

// Baseline states of a port: what Populate creates and what the churn
// returns a port to after a flap or a shut.
const (
	portUp           = "up"
	portNotConnected = "link-not-connected"
	portAdminDown    = "admin-down"
)

// topoNode is a controller, spine or leaf.
type topoNode struct {
	pod, id int
	role    string // controller, spine or leaf
	rr      bool   // a spine that is a route reflector of its pod
	border  bool   // a leaf with L3Out peers
	ports   []*topoPort
}

func (n *topoNode) dn() string       { return mdlNodeDN(n.pod, n.id) }
func (n *topoNode) sysDN() string    { return n.dn() + "/sys" }
func (n *topoNode) switchNode() bool { return n.role != "controller" }

func (n *topoNode) name() string {
	if n.role == "controller" {
		return fmt.Sprintf("apic%d", n.id)
	}
	return fmt.Sprintf("%s-%d", n.role, n.id)
}

// tep is the node's tunnel endpoint address (fabricNode.address).
func (n *topoNode) tep() string {
	if n.role == "controller" {
		return fmt.Sprintf("10.0.0.%d", n.id)
	}
	return fmt.Sprintf("10.%d.%d.%d", n.pod-1, 64+n.id/250, 1+n.id%250)
}

// topoPort is one front-panel port of a switch.
type topoPort struct {
	node  *topoNode
	id    string // eth1/49
	usage string // fabric, epg or discovery
	base  string // portUp, portNotConnected or portAdminDown
	speed string // operSpeed when up
	peer  *topoPort
}

func (p *topoPort) l1DN() string    { return mdlPhysIfDN(p.node.pod, p.node.id, p.id) }
func (p *topoPort) ethpmDN() string { return p.l1DN() + "/phys" }

// topoPeer is one end of a BGP session: the bgpPeerEntry on node.
type topoPeer struct {
	node                *topoNode
	dom, addr, local    string
	typ                 string // ibgp or ebgp
	rtrID, connIf, port string
}

func (e *topoPeer) dn() string { return mdlBGPPeerEntryDN(e.node.pod, e.node.id, e.dom, e.addr) }

// topoSession is an MP-BGP session (an entry on each node) or an L3Out
// peering (one entry, the outside router is not modelled).
type topoSession struct {
	ends []*topoPeer
	shut bool // admin-shut: operSt shut, never flaps
}

// topoAdj is an OSPF adjacency of a border leaf.
type topoAdj struct {
	node                   *topoNode
	dom, ifID, rtrID, peer string
	area                   string
}

func (a *topoAdj) dn() string {
	return mdlOSPFAdjDN(a.node.pod, a.node.id, a.dom, a.ifID, a.rtrID)
}

// topology is the whole physical fabric.
type topology struct {
	pods        []int
	nodes       []*topoNode // controllers, spines, then leaves
	byID        map[int]*topoNode
	byTEP       map[string]*topoNode
	hostPorts   []*topoPort // leaf ports to servers that are up at baseline
	fabricLinks []*topoPort // the leaf end of each spine-leaf link
	sessions    []*topoSession
	adjs        []*topoAdj
}

func (t *topology) add(n *topoNode) {
	t.nodes = append(t.nodes, n)
	t.byID[n.id] = n
	t.byTEP[n.tep()] = n
}

// nodesOf returns the nodes of a role, in id order.
func (t *topology) nodesOf(role string) []*topoNode {
	var out []*topoNode
	for _, n := range t.nodes {
		if n.role == role {
			out = append(out, n)
		}
	}
	return out
}

// switches returns the spines and leaves.
func (t *topology) switches() []*topoNode {
	var out []*topoNode
	for _, n := range t.nodes {
		if n.switchNode() {
			out = append(out, n)
		}
	}
	return out
}

// peers returns every bgpPeerEntry end in session order.
func (t *topology) peers() []*topoPeer {
	var out []*topoPeer
	for _, s := range t.sessions {
		out = append(out, s.ends...)
	}
	return out
}

// newTopology lays out the fabric of p: leaves numbered from 101, spines
// from 201 (1001 when there are more than 99 leaves), controllers 1..n in
// pod 1; leaves and spines spread evenly over the pods.
func newTopology(p Profile) *topology {
	t := &topology{byID: map[int]*topoNode{}, byTEP: map[string]*topoNode{}}
	pods := max(1, p.Pods)
	for pod := 1; pod <= pods; pod++ {
		t.pods = append(t.pods, pod)
	}
	for i := range p.Controllers {
		t.add(&topoNode{pod: 1, id: 1 + i, role: "controller"})
	}
	spineBase := 201
	if p.Leaves > 99 {
		spineBase = 1001
	}
	spines := map[int][]*topoNode{}
	for i := range p.Spines {
		n := &topoNode{pod: 1 + i*pods/p.Spines, id: spineBase + i, role: "spine"}
		n.rr = len(spines[n.pod]) < 2
		spines[n.pod] = append(spines[n.pod], n)
		t.add(n)
	}
	leaves := map[int][]*topoNode{}
	for i := range p.Leaves {
		n := &topoNode{pod: 1 + i*pods/p.Leaves, id: 101 + i, role: "leaf"}
		n.border = p.BorderLeaves > 0 && i%max(1, p.Leaves/p.BorderLeaves) == 0 &&
			i/max(1, p.Leaves/p.BorderLeaves) < p.BorderLeaves
		leaves[n.pod] = append(leaves[n.pod], n)
		t.add(n)
	}
	for _, pod := range t.pods {
		t.cable(p, spines[pod], leaves[pod])
		t.overlay(spines[pod], leaves[pod])
	}
	t.interPod(spines)
	t.l3outs(p)
	return t
}

// cable gives the pod's leaves their ports and connects leaf uplink k to
// spine k; each spine has a port per leaf of its pod and a few spares.
func (t *topology) cable(p Profile, spines, leaves []*topoNode) {
	uplinks := min(max(p.UplinksPerLeaf, 0), p.PortsPerLeaf)
	down := p.PortsPerLeaf - uplinks
	for _, l := range leaves {
		for i := range down {
			pt := &topoPort{node: l, id: fmt.Sprintf("eth1/%d", 1+i), usage: "epg", base: portUp, speed: "25G"}
			switch mdlHash(uint64(l.id)<<16|uint64(i)) % 10 {
			case 7, 8:
				pt.usage, pt.base = "discovery", portNotConnected
			case 9:
				pt.usage, pt.base = "discovery", portAdminDown
			default:
				t.hostPorts = append(t.hostPorts, pt)
			}
			l.ports = append(l.ports, pt)
		}
		for k := range uplinks {
			pt := &topoPort{node: l, id: fmt.Sprintf("eth1/%d", max(down, 48)+1+k), usage: "discovery", base: portNotConnected, speed: "100G"}
			if k < len(spines) {
				pt.usage, pt.base = "fabric", portUp
				t.fabricLinks = append(t.fabricLinks, pt)
			}
			l.ports = append(l.ports, pt)
		}
	}
	for k, s := range spines {
		n := len(leaves) + max(2, len(leaves)/8)
		for i := range n {
			pt := &topoPort{node: s, id: spinePortID(i, n), usage: "discovery", base: portNotConnected, speed: "100G"}
			if i < len(leaves) && k < uplinks {
				pt.usage, pt.base = "fabric", portUp
				up := leaves[i].ports[down+k]
				pt.peer, up.peer = up, pt
			}
			s.ports = append(s.ports, pt)
		}
	}
}

// spinePortID names port i of n: eth1/1..64 on a fixed spine, eth<slot>/1..36
// on a modular one (line cards of 36 ports).
func spinePortID(i, n int) string {
	if n <= 64 {
		return fmt.Sprintf("eth1/%d", 1+i)
	}
	return fmt.Sprintf("eth%d/%d", 1+i/36, 1+i%36)
}

// overlay adds the pod's MP-BGP sessions: every leaf and every spine that is
// not a route reflector peers with each route-reflector spine, and the
// reflectors peer with each other.
func (t *topology) overlay(spines, leaves []*topoNode) {
	var rrs, clients []*topoNode
	for _, s := range spines {
		if s.rr {
			rrs = append(rrs, s)
		} else {
			clients = append(clients, s)
		}
	}
	clients = append(clients, leaves...)
	for _, c := range clients {
		for _, rr := range rrs {
			t.sessions = append(t.sessions, fabricSession(c, rr))
		}
	}
	for i := range rrs {
		for j := i + 1; j < len(rrs); j++ {
			t.sessions = append(t.sessions, fabricSession(rrs[i], rrs[j]))
		}
	}
}

// interPod connects the route reflectors of different pods (multipod).
func (t *topology) interPod(spines map[int][]*topoNode) {
	for _, a := range t.pods {
		for _, b := range t.pods {
			if b <= a {
				continue
			}
			for _, x := range spines[a] {
				for _, y := range spines[b] {
					if x.rr && y.rr {
						t.sessions = append(t.sessions, fabricSession(x, y))
					}
				}
			}
		}
	}
}

func fabricSession(a, b *topoNode) *topoSession {
	end := func(n, peer *topoNode) *topoPeer {
		return &topoPeer{node: n, dom: "overlay-1", addr: peer.tep(), local: n.tep(), typ: "ibgp",
			rtrID: peer.tep(), connIf: "lo0", port: "179"}
	}
	return &topoSession{ends: []*topoPeer{end(a, b), end(b, a)}}
}

// l3outs adds the border leaves' external BGP peers (the last ShutPeers of
// them admin-shut) and OSPF adjacencies, in VRF common:default.
func (t *topology) l3outs(p Profile) {
	border := []*topoNode{}
	for _, n := range t.nodesOf("leaf") {
		if n.border {
			border = append(border, n)
		}
	}
	if len(border) == 0 {
		return
	}
	for k := range min(p.L3OutPeers, 250) {
		n := border[k%len(border)]
		e := &topoPeer{node: n, dom: "common:default", addr: fmt.Sprintf("192.0.2.%d", 1+k),
			local: fmt.Sprintf("198.51.100.%d", 1+k), typ: "ebgp", rtrID: fmt.Sprintf("192.0.2.%d", 1+k),
			connIf: "unspecified", port: "179"}
		t.sessions = append(t.sessions, &topoSession{ends: []*topoPeer{e}, shut: k >= p.L3OutPeers-p.ShutPeers})
	}
	down := p.PortsPerLeaf - min(max(p.UplinksPerLeaf, 0), p.PortsPerLeaf)
	for k := range min(p.OSPFAdjacencies, 250) {
		n := border[k%len(border)]
		t.adjs = append(t.adjs, &topoAdj{node: n, dom: "common:default", ifID: fmt.Sprintf("eth1/%d", max(1, down-k/len(border))),
			rtrID: fmt.Sprintf("10.254.0.%d", 1+k), peer: fmt.Sprintf("172.30.%d.2", k), area: "0.0.0.1"})
	}
}

// mdlHash is splitmix64: stable per-object variety without a random stream.
func mdlHash(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
