package event

import (
	"slices"
	"sync/atomic"
)

// The attributes events and snapshots keep: the fingerprint attributes, and
// those the state metrics read (Keep). One set serves the whole process:
// the decoders look every attribute name up in it, so it is a value read
// through an atomic pointer, replaced whole on a reload.

type keptSet struct {
	names []string       // after the fingerprint attributes
	index map[string]int // name -> KeptIndex
	sieve [16]uint64     // bits of nameBit for every name: most misses stop here
}

var kept atomic.Pointer[keptSet]

func init() { Keep(nil) }

// nameBit hashes a name's length, first and last bytes to one of 1024 bits.
func nameBit(name string) uint {
	if name == "" {
		return 0
	}
	return (uint(len(name))*131 + uint(name[0])*31 + uint(name[len(name)-1])) & 1023
}

// Keep sets the attributes kept beyond FingerprintAttrs. Decoders started
// before the call may keep the old set for the frame they are reading.
func Keep(names []string) {
	ks := &keptSet{index: make(map[string]int)}
	for _, n := range names {
		if FingerprintIndex(n) >= 0 || n == "dn" || n == "status" || slices.Contains(ks.names, n) {
			continue
		}
		ks.index[n] = len(FingerprintAttrs) + len(ks.names)
		ks.names = append(ks.names, n)
		b := nameBit(n)
		ks.sieve[b/64] |= 1 << (b % 64)
	}
	kept.Store(ks)
}

// KeptIndex returns an attribute's index among the kept ones (the
// fingerprint attributes first), or -1 when it is not kept.
func KeptIndex(name string) int {
	if i := FingerprintIndex(name); i >= 0 {
		return i
	}
	ks := kept.Load()
	if b := nameBit(name); ks.sieve[b/64]&(1<<(b%64)) == 0 {
		return -1
	}
	if i, ok := ks.index[name]; ok {
		return i
	}
	return -1
}

// KeptName returns the name of the kept attribute at index i, a string
// that belongs to this package (not to a frame).
func KeptName(i int) string {
	if i < len(FingerprintAttrs) {
		return FingerprintAttrs[i]
	}
	return kept.Load().names[i-len(FingerprintAttrs)]
}
