package metrics

import "github.com/prometheus/client_golang/prometheus"

// policyRepo are the policy repository's collectors: which commit judges,
// the bundles refused, and the switches each replica made.
type policyRepo struct {
	commit   *prometheus.GaugeVec
	refusals *prometheus.CounterVec
	switches *prometheus.CounterVec
}

func newPolicyRepo(reg *prometheus.Registry) policyRepo {
	p := policyRepo{
		commit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meshbot_policy_commit_info",
			Help: "The policy repository's commit this replica judges with: 1 for its repository, commit and version; absent while a folder's policy judges.",
		}, []string{"repo", "commit", "version"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbot_policy_refusals_total",
			Help: "Commits of the policy repository's default branch refused as the active policy, by reason (load, compile, sandbox, tests); the previous policy stayed active.",
		}, []string{"reason"}),
		switches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbot_policy_switches_total",
			Help: "Times this replica switched to another policy repository commit: activated (it accepted the push) or followed (another replica did).",
		}, []string{"how"}),
	}
	reg.MustRegister(p.commit, p.refusals, p.switches)
	return p
}

// PolicyCommit records the policy repository's commit this replica judges
// with (and, in meshbot_policy_info, its version and source).
func (m *Metrics) PolicyCommit(repo, commit, version, how string) {
	if m == nil {
		return
	}
	m.SetPolicy(version, repo+"@"+commit)
	m.policyRepo.commit.Reset()
	m.policyRepo.commit.WithLabelValues(repo, commit, version).Set(1)
	m.policyRepo.switches.WithLabelValues(how).Inc()
}

// PolicyRefused counts a refused commit of the policy repository. reason
// comes from a bounded set (policyrepo's reasons).
func (m *Metrics) PolicyRefused(reason string) {
	if m == nil {
		return
	}
	m.policyRepo.refusals.WithLabelValues(reason).Inc()
}
