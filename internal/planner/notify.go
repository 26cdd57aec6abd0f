package planner

import (
	"fmt"

	"onboard/internal/plan"
	"onboard/internal/playbook"
	"onboard/internal/strictyaml"
)

// notifyRules are the profile's rules and then the playbook's, each
// channel checked against the inventory and each recipient resolved to
// its address, so that a plan carries everything a notification needs
// but the channels' credentials.
func (b *builder) notifyRules(pb *playbook.Playbook, pr *playbook.Profile) []plan.NotifyRule {
	var out []plan.NotifyRule
	add := func(doc *strictyaml.Doc, rules []playbook.NotifyRule) {
		for i, r := range rules {
			p := fmt.Sprintf("notify[%d]", i)
			pr := plan.NotifyRule{On: r.On, Via: r.Via}
			for j, v := range r.Via {
				if _, ok := b.inv.NotifyChannel(v); !ok {
					b.fail(doc.Errorf(fmt.Sprintf("%s.via[%d]", p, j), "unknown channel %q: not in the inventory's notify.channels%s",
						v, strictyaml.Suggest(v, b.inv.NotifyChannels())))
				}
			}
			for j, w := range r.To {
				a, err := b.inv.NotifyRecipient(w, pb.Person.Manager)
				if err != nil {
					b.fail(doc.Errorf(fmt.Sprintf("%s.to[%d]", p, j), "%v", err))
					continue
				}
				pr.To = append(pr.To, plan.Recipient{Who: w, Address: a})
			}
			out = append(out, pr)
		}
	}
	if pr != nil && pr.Doc != nil {
		add(pr.Doc, pr.Notify)
	}
	add(pb.Doc, pb.Notify)
	return out
}
