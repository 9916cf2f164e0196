package apicsim

// The faults behind the fabric's state: raised when a condition starts (a
// link down, a BGP session down, a node unreachable), and moved through
// the lifecycle of the APIC's fault guide by timers, at the profile's soak,
// clear and retention intervals:
//
//	condition starts   → created in soaking at the kind's initial severity
//	soak ends          → raised, at its raised severity; each further soak
//	                     interval raised escalates it a step if it has one
//	condition ends     → soaking-clearing or raised-clearing (severity kept)
//	condition returns  → back to soaking or raised, occur + 1
//	clear ends         → retaining, severity cleared
//	retention ends     → deleted
//
// Every change stamps lastTransition; modTs stays "never".

import (
	"fmt"
	"time"
)

// stateFaultLadder lists, per code, the severity a fault soaks at, the one
// it is raised at, then its escalations.
var stateFaultLadder = map[string][]string{
	"F1394": {"warning", "major", "critical"}, // fabric port down
	"F0532": {"warning", "warning"},           // EPG port down
	"F0299": {"minor", "major"},               // BGP peer not established
	"F0110": {"major", "critical"},            // node unreachable
}

// stateFaultCode returns the code of a fault that follows a condition,
// "" for the others (advanced by the random churn).
func stateFaultCode(dn string) string {
	_, rn := mdlLastRN(dn)
	code := mdlNamingValue(rn)
	if _, ok := stateFaultLadder[code]; ok {
		return code
	}
	return ""
}

// faultInterval is how long a fault stays in lc before its next step.
func (c *Churn) faultInterval(lc string) time.Duration {
	switch lc {
	case "soaking", "raised":
		return c.soak
	case "soaking-clearing", "raised-clearing":
		return c.clear
	}
	return c.retention
}

// condition starts or ends the condition behind the fault code on
// affectedDN.
func (c *Churn) condition(affectedDN, code string, on bool) error {
	dn := mdlFaultDN(affectedDN, code)
	cur, exists := c.f.Get(dn)
	if on && !exists {
		return c.soakFault(dn, code)
	}
	ch := map[string]string{}
	switch lc := cur["lc"]; {
	case !exists:
		return nil
	case on && lc == "soaking-clearing":
		mdlFaultRecur(cur, ch, "soaking")
	case on && lc == "raised-clearing":
		mdlFaultRecur(cur, ch, "raised")
	case on && lc == "retaining":
		mdlFaultRecur(cur, ch, "soaking")
		mdlFaultEscalate(cur, ch, stateFaultLadder[code][0])
	case !on && lc == "soaking":
		ch["lc"] = "soaking-clearing"
	case !on && lc == "raised":
		ch["lc"] = "raised-clearing"
	default:
		return nil
	}
	return c.changeFault(dn, cur, ch)
}

// soakFault creates a state fault in soaking.
func (c *Churn) soakFault(dn, code string) error {
	ts := c.ts()
	a := newAttrs(c.r, "faultInst", dn, ts)
	sev := stateFaultLadder[code][0]
	a["lc"], a["severity"], a["origSeverity"], a["prevSeverity"], a["highestSeverity"] = "soaking", sev, sev, sev, sev
	if code == "F0532" {
		a["descr"] = "Port is down, reason:link-failure(down), used by:EPG, lastLinkStChg:" + ts + ", operStQual:link-failure"
		a["changeSet"] = "lastLinkStChg (New: " + ts + "), operSt (Old: up, New: down), operStQual (Old: none, New: link-failure)"
	}
	if err := c.f.Create("faultInst", dn, a); err != nil {
		return fmt.Errorf("churn: raise %s: %w", dn, err)
	}
	c.scheduleFault(dn, a["lc"], a["lastTransition"])
	return c.faultScored(dn, sev)
}

// changeFault applies a lifecycle step to a state fault and schedules the next.
func (c *Churn) changeFault(dn string, cur, ch map[string]string) error {
	ch["lastTransition"] = c.ts()
	if err := c.f.Modify(dn, ch); err != nil {
		return fmt.Errorf("churn: fault %s: %w", dn, err)
	}
	lc, sev := cur["lc"], cur["severity"]
	if v, ok := ch["lc"]; ok {
		lc = v
	}
	if v, ok := ch["severity"]; ok {
		sev = v
	}
	c.scheduleFault(dn, lc, ch["lastTransition"])
	return c.faultScored(dn, sev)
}

// scheduleFault sets the timer of a state fault's next step; it fires only
// if the fault has not moved since (its lastTransition is still stamp).
func (c *Churn) scheduleFault(dn, lc, stamp string) {
	t, err := time.Parse(mdlTimeLayout, stamp)
	if err != nil {
		t = c.now()
	}
	c.at(t.Add(c.faultInterval(lc)), func() (bool, error) { return c.faultDue(dn, stamp) })
}

// faultDue takes a state fault's timed step, if it is still due.
func (c *Churn) faultDue(dn, stamp string) (bool, error) {
	cur, ok := c.f.Get(dn)
	if !ok || cur["lastTransition"] != stamp {
		return false, nil
	}
	ladder := stateFaultLadder[stateFaultCode(dn)]
	ch := map[string]string{}
	switch cur["lc"] {
	case "soaking":
		ch["lc"] = "raised"
		if len(ladder) > 1 && ladder[1] != cur["severity"] {
			mdlFaultEscalate(cur, ch, ladder[1])
		}
	case "raised":
		next := ""
		for i := 1; i+1 < len(ladder); i++ {
			if ladder[i] == cur["severity"] {
				next = ladder[i+1]
			}
		}
		if next == "" {
			return false, nil
		}
		mdlFaultEscalate(cur, ch, next)
	case "soaking-clearing", "raised-clearing":
		mdlFaultRetain(cur, ch)
	case "retaining":
		if err := c.f.Delete(dn); err != nil {
			return true, fmt.Errorf("churn: delete retained fault %s: %w", dn, err)
		}
		return true, c.faultScored(dn, "")
	default:
		return false, nil
	}
	return true, c.changeFault(dn, cur, ch)
}
