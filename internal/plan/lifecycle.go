package plan

// Removal kinds: the mover's and leaver's counterparts of the kinds that
// put things in place. Each reuses the spec of the kind it undoes
// (Membership, Package, Printer, WinSoftware, WinPrinter, LocalGroup) and
// is done when the thing is absent; Step.Rule says why the plan removes it.
const (
	KindMembershipRemove  = "membership-remove"
	KindPackageRemove     = "package-remove"
	KindPrinterRemove     = "printer-remove"
	KindWinSoftwareRemove = "win-software-remove"
	KindWinPrinterRemove  = "win-printer-remove"
	KindLocalGroupRemove  = "local-group-remove"
)

// Removal rules: why a plan removes an item, or keeps one a new profile no
// longer names. A removal needs evidence that onboard put the item there
// (the journal) unless the playbook prunes that kind.
const (
	// RulePlaced: the journal shows onboard put it there for this hire.
	RulePlaced = "placed-by-onboard"
	// RulePrune: the playbook says prune: true for the kind.
	RulePrune = "prune"
	// RuleNotPlaced: kept, as the journal has no record that onboard put it
	// there (someone added it by hand, or it was there before).
	RuleNotPlaced = "kept-not-placed"
	// RuleStillWanted: kept, as the new setup still names it.
	RuleStillWanted = "kept-still-wanted"
	// RuleRestore: a restore puts it back, as the offboarding's run shows.
	RuleRestore = "restore"
)

// Kept is an item a re-plan keeps although the new setup does not name it,
// or removes, with the rule that decided and its evidence.
type Kept struct {
	Item     string `json:"item"` // "group: sales", "software: htop", "printer: Office-2F"
	Rule     string `json:"rule"`
	Evidence string `json:"evidence,omitempty"` // "run 20261203-..., step ada/pkg-htop"
}
