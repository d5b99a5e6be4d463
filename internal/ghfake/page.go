package ghfake

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// paginate picks the slice [lo, hi) of total items a request asks for with
// page and per_page (default 30, at most 100, as on GitHub) and sets the
// Link header with first, prev, next and last pages.
func (c *call) paginate(total int) (lo, hi int) {
	q := c.r.URL.Query()
	per, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page <= 0 {
		page = 1
	}
	last := max(1, (total+per-1)/per)
	lo = min((page-1)*per, total)
	hi = min(lo+per, total)

	link := func(p int, rel string) string {
		q2 := url.Values{}
		for k, v := range q {
			q2[k] = v
		}
		q2.Set("page", strconv.Itoa(p))
		if q.Get("per_page") != "" {
			q2.Set("per_page", strconv.Itoa(per))
		}
		u := c.f.URL() + strings.TrimPrefix(c.r.URL.Path, "/") + "?" + q2.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u, rel)
	}
	var links []string
	if page > 1 {
		links = append(links, link(page-1, "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 {
		c.w.Header().Set("Link", strings.Join(links, ", "))
	}
	return lo, hi
}
