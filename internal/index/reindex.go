package index

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/store"
)

// ReindexTTL is how long a re-index asked for by a reader is remembered:
// readers that meet the same unreadable record meanwhile (every check of the
// installation does) do not queue it again.
const ReindexTTL = 10 * time.Minute

// Reindex is the delivery that re-indexes repo (owner/name) of the
// installation because its registry record did not decode (written by
// another release, or corrupt: store.RepoProducts.Unreadable). It goes
// through store.EnqueueDelivery under an id of its own, so that of all the
// readers that ask within ReindexTTL only the first enqueues the job.
func Reindex(installation int64, repo string) (store.Delivery, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok {
		return store.Delivery{}, fmt.Errorf("re-index %q: want owner/name", repo)
	}
	id := "reindex/" + strconv.FormatInt(installation, 10) + "/" + repo
	j, err := jobs.KindIndex.New(id, "", jobs.Index{Delivery: id, Installation: installation, Owner: owner, Repo: name})
	if err != nil {
		return store.Delivery{}, err
	}
	return store.Delivery{ID: id, TTL: ReindexTTL, Jobs: []store.Job{j}}, nil
}
