package apicws

import "strings"

// tenantPrefix is how every DN inside a tenant starts: RN "uni", then RN "tn-NAME".
const tenantPrefix = "uni/tn-"

// SplitDN splits an APIC distinguished name into its relative names (RNs).
//
// A naming value may be wrapped in square brackets and then contain '/' and even
// whole DNs (rsnodeL3OutAtt-[topology/pod-1/node-101]), so '/' splits only
// outside brackets, as cobra does. Brackets nest. A '[' that is never closed
// makes the rest of the DN one RN; a stray ']' is an ordinary byte. Empty RNs are
// kept, like strings.Split, so strings.Join(SplitDN(dn), "/") == dn. The RNs are
// substrings of dn. SplitDN("") is nil.
func SplitDN(dn string) []string {
	if dn == "" {
		return nil
	}
	// Count bounds the number of RNs, so append never grows the slice.
	rns := make([]string, 0, strings.Count(dn, "/")+1)
	for {
		i := rnEnd(dn)
		rns = append(rns, dn[:i])
		if i == len(dn) {
			return rns
		}
		dn = dn[i+1:]
	}
}

// Tenant returns the tenant a DN belongs to: NAME when the first two RNs are
// "uni" and "tn-NAME" (the fvTenant itself and everything below it), otherwise
// "". It never looks for "tn-" further in: uni/tn-common/.../rtfvCustQosPol-[uni/tn-x/...]
// belongs to tenant common. The result is a substring of dn; Tenant does not
// allocate and reads only the second RN, not the whole DN.
func Tenant(dn string) string {
	if !strings.HasPrefix(dn, tenantPrefix) {
		return ""
	}
	// "uni/" holds no bracket, so the scan may start at the tenant name with
	// depth 0 and still agree with SplitDN on where the second RN ends.
	rest := dn[len(tenantPrefix):]
	return rest[:rnEnd(rest)]
}

// rnEnd returns the index of the first '/' in s outside square brackets, or
// len(s) when there is none.
func rnEnd(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			if depth > 0 {
				depth--
			}
		case '/':
			if depth == 0 {
				return i
			}
		}
	}
	return len(s)
}
