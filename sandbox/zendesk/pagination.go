package zendesk

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// cursorReq is a cursor-pagination request (page[size], page[after],
// page[before]).
type cursorReq struct {
	size          int
	after, before string // decoded keys
}

// parseCursor reads the cursor parameters. ok is false when the request
// uses none of them (offset pagination then applies).
func parseCursor(q url.Values) (cr cursorReq, ok bool, e *apiError) {
	size, after, before := q.Get("page[size]"), q.Get("page[after]"), q.Get("page[before]")
	if size == "" && after == "" && before == "" {
		return cr, false, nil
	}
	bad := func(d string) (cursorReq, bool, *apiError) {
		return cr, true, &apiError{status: http.StatusBadRequest,
			body: classic{Error: "InvalidPaginationParameter", Description: d}}
	}
	cr.size = 100
	if size != "" {
		n, err := strconv.Atoi(size)
		switch {
		case err != nil || n < 1:
			return bad("page[size] must be a positive integer")
		case n > 100:
			return bad("page[size] is greater than the maximum page size of 100")
		}
		cr.size = n
	}
	if after != "" && before != "" {
		return bad("page[after] and page[before] cannot be used together")
	}
	for _, p := range []struct {
		raw string
		dst *string
	}{{after, &cr.after}, {before, &cr.before}} {
		if p.raw == "" {
			continue
		}
		k, err := base64.RawURLEncoding.DecodeString(p.raw)
		if err != nil || len(k) == 0 {
			return bad("Invalid cursor")
		}
		*p.dst = string(k)
	}
	return cr, true, nil
}

func encodeCursor(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

// cursorResult is one page of a cursor-paginated list.
type cursorResult[T any] struct {
	items   []T
	hasMore bool
	first   string // key of the first item ("" when empty)
	last    string
	// more in the other direction (for links.prev)
	hasPrev bool
}

// paginate cuts items (already in answer order) by cr; key names an item.
// A cursor naming no item is an error.
func paginate[T any](items []T, key func(T) string, cr cursorReq) (cursorResult[T], *apiError) {
	var res cursorResult[T]
	from := 0
	var to int
	find := func(k string) int { return slices.IndexFunc(items, func(it T) bool { return key(it) == k }) }
	switch {
	case cr.after != "":
		i := find(cr.after)
		if i < 0 {
			return res, &apiError{status: http.StatusBadRequest,
				body: classic{Error: "InvalidPaginationParameter", Description: "Invalid cursor"}}
		}
		from = i + 1
		to = min(from+cr.size, len(items))
	case cr.before != "":
		i := find(cr.before)
		if i < 0 {
			return res, &apiError{status: http.StatusBadRequest,
				body: classic{Error: "InvalidPaginationParameter", Description: "Invalid cursor"}}
		}
		to = i
		from = max(0, to-cr.size)
	default:
		to = min(cr.size, len(items))
	}
	res.items = items[from:to]
	if cr.before != "" {
		res.hasMore = from > 0
		res.hasPrev = to < len(items)
	} else {
		res.hasMore = to < len(items)
		res.hasPrev = from > 0
	}
	if len(res.items) > 0 {
		res.first, res.last = key(res.items[0]), key(res.items[len(res.items)-1])
	}
	return res, nil
}

// cursorMeta renders meta and links of a page for request r.
func cursorMeta[T any](base string, r *http.Request, cr cursorReq, res cursorResult[T]) (map[string]any, map[string]any) {
	var after, before any
	if res.last != "" {
		after, before = encodeCursor(res.last), encodeCursor(res.first)
	}
	link := func(param, key string) any {
		q := r.URL.Query()
		q.Del("page[after]")
		q.Del("page[before]")
		q.Set("page[size]", strconv.Itoa(cr.size))
		q.Set(param, encodeCursor(key))
		return base + r.URL.Path + "?" + q.Encode()
	}
	var next, prev any
	forward := res.hasMore
	backward := res.hasPrev
	if cr.before != "" {
		forward, backward = res.hasPrev, res.hasMore
	}
	if forward && res.last != "" {
		next = link("page[after]", res.last)
	}
	if backward && res.first != "" {
		prev = link("page[before]", res.first)
	}
	meta := map[string]any{"has_more": res.hasMore, "after_cursor": after, "before_cursor": before}
	return meta, map[string]any{"next": next, "prev": prev}
}

// writeList answers a list endpoint with the items under name: offset
// pagination (page/per_page, with next_page, previous_page and count)
// unless cursor is set, then cursor pagination (meta and links). key names
// an item for cursors; render gives its JSON.
func writeList[T any](c *call, name string, list []T, cursor bool, cr cursorReq, key func(T) string, render func(T) any) {
	renderAll := func(items []T) []any {
		out := make([]any, 0, len(items))
		for _, it := range items {
			out = append(out, render(it))
		}
		return out
	}
	if !cursor {
		p := offsetPage(c.r.URL.Query(), 100)
		from, to := p.bounds(len(list))
		next, prev := p.links(c.base, c.r, len(list))
		c.json(http.StatusOK, map[string]any{name: renderAll(list[from:to]), "next_page": next,
			"previous_page": prev, "count": len(list)})
		return
	}
	res, e := paginate(list, key, cr)
	if e != nil {
		c.fail(e)
		return
	}
	meta, links := cursorMeta(c.base, c.r, cr, res)
	c.json(http.StatusOK, map[string]any{name: renderAll(res.items), "meta": meta, "links": links})
}
